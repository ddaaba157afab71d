// The Catch2 entry point, in its own file so the other test files compile fast.
#define CATCH_CONFIG_MAIN
#include <catch.hpp>
