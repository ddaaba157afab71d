// Working-memory reservations (core/memory.h): the limit, the accounting of live
// reservations, and what a refusal says.
#include "core/memory.h"

#include "test_util.h"

namespace qf {
namespace {

using Catch::Matchers::Contains;

constexpr uint64_t kMiB = uint64_t(1) << 20;

// Sets a limit `headroom` bytes above what is in use now, restores the default after.
struct LimitAbove {
  explicit LimitAbove(uint64_t headroom) {
    REQUIRE(SetMemoryLimit(GetMemoryStats().in_use + headroom).ok());
  }
  ~LimitAbove() { (void)SetMemoryLimit(0); }
};

TEST_CASE("memory limit: bounds and default", "[engine][memory]") {
  const uint64_t default_limit = GetMemoryStats().limit;
  CHECK(SetMemoryLimit(kMiB - 1).code() == StatusCode::kInvalidArgument);
  CHECK_THAT(SetMemoryLimit(1).message(), Contains("between 1 MiB"));
  REQUIRE(SetMemoryLimit(64 * kMiB).ok());
  CHECK(GetMemoryStats().limit == 64 * kMiB);
  REQUIRE(SetMemoryLimit(0).ok());
  CHECK(GetMemoryStats().limit == default_limit);
}

TEST_CASE("memory reservations add up and are released", "[engine][memory]") {
  LimitAbove limit(64 * kMiB);
  const uint64_t reserved0 = GetMemoryStats().reserved;
  {
    StatusOr<MemoryReservation> a = ReserveMemory(40 * kMiB, "the first request");
    REQUIRE(a.ok());
    CHECK(GetMemoryStats().reserved == reserved0 + 40 * kMiB);
    CHECK(GetMemoryStats().peak_reserved >= reserved0 + 40 * kMiB);

    // 40 + 30 MiB would pass the 64 MiB headroom: refused, naming the sizes and limit.
    StatusOr<MemoryReservation> b = ReserveMemory(30 * kMiB, "the second request");
    REQUIRE(b.status().code() == StatusCode::kResourceExhausted);
    CHECK_THAT(b.status().message(), Contains("the second request needs about 30 MiB"));
    CHECK_THAT(b.status().message(), Contains("40 MiB reserved by work in progress"));
    CHECK_THAT(b.status().message(), Contains("memory limit is"));
    CHECK(GetMemoryStats().reserved == reserved0 + 40 * kMiB);  // a refusal takes nothing

    // Moving a reservation keeps one count of it.
    MemoryReservation moved = std::move(a).value();
    CHECK(moved.bytes() == 40 * kMiB);
    CHECK(GetMemoryStats().reserved == reserved0 + 40 * kMiB);
  }
  CHECK(GetMemoryStats().reserved == reserved0);
  CHECK(ReserveMemory(30 * kMiB, "the second request, again").ok());
}

TEST_CASE("memory reservation larger than the whole limit", "[engine][memory]") {
  LimitAbove limit(8 * kMiB);
  StatusOr<MemoryReservation> r = ReserveMemory(uint64_t(1) << 40, "an absurd request");
  REQUIRE(r.status().code() == StatusCode::kResourceExhausted);
  CHECK_THAT(r.status().message(), Contains("an absurd request needs about 1048576 MiB"));
}

}  // namespace
}  // namespace qf
