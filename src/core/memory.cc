// Working-memory accounting (see memory.h).
#include "core/memory.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>

#include <unistd.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/heap.h>
#endif

namespace qf {
namespace {

constexpr uint64_t kMiB = uint64_t(1) << 20;
constexpr uint64_t kMinLimit = kMiB;

uint64_t g_limit = 0;     // 0: the default
uint64_t g_reserved = 0;  // sum of live reservations
uint64_t g_peak_reserved = 0;

uint64_t DefaultLimit() {
#ifdef __EMSCRIPTEN__
  return emscripten_get_heap_max();
#else
  return std::numeric_limits<uint64_t>::max();
#endif
}

uint64_t Limit() { return g_limit ? g_limit : DefaultLimit(); }

std::string MiB(uint64_t bytes) { return std::to_string((bytes + kMiB - 1) / kMiB) + " MiB"; }

}  // namespace

MemoryStats GetMemoryStats() {
  MemoryStats stats;
#ifdef __EMSCRIPTEN__
  // dlmalloc: uordblks is what is allocated, usmblks the most it ever obtained.
  const struct mallinfo info = mallinfo();
  stats.in_use = uint32_t(info.uordblks);
  stats.footprint = uint32_t(info.usmblks);
  stats.free_inside = uint32_t(info.fordblks);
#elif defined(__GLIBC__)
  const struct mallinfo2 info = mallinfo2();
  stats.in_use = info.uordblks + info.hblkhd;
  stats.footprint = info.arena + info.hblkhd;
  stats.free_inside = info.fordblks;
#endif
  stats.reserved = g_reserved;
  stats.peak_reserved = g_peak_reserved;
  stats.limit = Limit();
  return stats;
}

Status SetMemoryLimit(uint64_t bytes) {
  if (bytes != 0 && (bytes < kMinLimit || bytes > DefaultLimit())) {
    return InvalidArgument("the memory limit must be between " + MiB(kMinLimit) + " and " +
                           MiB(DefaultLimit()) + ", got " + std::to_string(bytes) + " bytes");
  }
  g_limit = bytes;
  return OkStatus();
}

MemoryReservation& MemoryReservation::operator=(MemoryReservation&& other) noexcept {
  if (this != &other) {
    Release();
    bytes_ = other.bytes_;
    other.bytes_ = 0;
  }
  return *this;
}

void MemoryReservation::Release() {
  g_reserved -= bytes_;
  bytes_ = 0;
}

StatusOr<MemoryReservation> ReserveMemory(uint64_t bytes, std::string_view what) {
  const MemoryStats stats = GetMemoryStats();
  const uint64_t committed = stats.in_use + stats.reserved;
  if (committed > stats.limit || bytes > stats.limit - committed) {
    std::string message = std::string(what) + " needs about " + MiB(bytes) +
                          " of working memory; " + MiB(stats.in_use) + " are in use";
    if (stats.reserved) message += " and " + MiB(stats.reserved) + " reserved by work in progress";
    return ResourceExhausted(message + ", and the engine's memory limit is " + MiB(stats.limit));
  }
#ifdef __EMSCRIPTEN__
  // Grow the wasm memory to fit now, while failing changes nothing: what the allocator
  // cannot serve from its free chunks comes from above its top (sbrk). Growing never
  // shrinks, so the pages stay there for the work.
  const uint64_t needed =
      uint64_t(uintptr_t(sbrk(0))) + bytes - std::min(bytes, stats.free_inside);
  if (needed > emscripten_get_heap_size() &&
      (needed > emscripten_get_heap_max() || !emscripten_resize_heap(size_t(needed)))) {
    return ResourceExhausted(std::string(what) + " needs about " + MiB(bytes) +
                             " of working memory, and the runtime could not provide it (" +
                             MiB(stats.in_use) + " in use, memory limit " + MiB(stats.limit) +
                             ")");
  }
#endif
  MemoryReservation reservation;
  reservation.bytes_ = bytes;
  g_reserved += bytes;
  g_peak_reserved = std::max(g_peak_reserved, g_reserved);
  return reservation;
}

}  // namespace qf
