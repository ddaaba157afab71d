// Internal invariant checks for code that trusts its caller (kernels, packed layouts).
// Not for user input: public entry points validate and return a Status instead.
#pragma once

#include <cstdio>
#include <cstdlib>

// QF_CHECK stays on in release builds: a broken invariant must stop, not corrupt memory.
#define QF_CHECK(cond)                                                              \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// QF_DCHECK is for hot loops: compiled out unless QF_DEBUG is defined.
#ifdef QF_DEBUG
#define QF_DCHECK(cond) QF_CHECK(cond)
#else
#define QF_DCHECK(cond) \
  do {                  \
  } while (0)
#endif
