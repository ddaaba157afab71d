// Working-memory accounting: the engine refuses work it cannot finish instead of
// running out of memory halfway through it.
//
// The engine is built without exceptions, so a failed allocation ends the wasm
// instance. Every entry point that allocates in proportion to a request therefore
// first reserves an upper bound of what it will allocate (its estimate, see
// nn::Model::StateBytes and BatchBytes). A reservation is granted when
//
//   bytes in use + bytes reserved by work in progress + the request <= the limit
//
// and, in wasm, when the allocator can actually obtain that much (the heap is grown to
// fit before any work starts: wasm memory never shrinks, so the pages stay available).
// Otherwise the caller gets ResourceExhausted naming the sizes and the limit, before
// anything changed. A reservation lasts as long as its holder: a fit or forget session
// holds one across all its steps, so other calls made between steps cannot take the
// memory it counts on. Work in progress is counted twice (in use and reserved), which
// errs on the side of refusing.
//
// The limit is the wasm memory maximum (emscripten_get_heap_max: 4 GiB less one 64 KiB
// page in the package's builds) by default, or what the embedder sets; natively there is
// no default limit. Not thread-safe (one engine per wasm instance).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace qf {

struct MemoryStats {
  uint64_t in_use = 0;     // bytes the allocator has handed out and not taken back
  uint64_t footprint = 0;  // bytes the allocator has obtained from the system, at most
  uint64_t free_inside = 0;  // bytes free in what it obtained (served without growing)
  uint64_t reserved = 0;   // bytes reserved by work in progress
  uint64_t peak_reserved = 0;  // the most bytes reserved at once so far
  uint64_t limit = 0;      // the limit reservations are checked against
};

MemoryStats GetMemoryStats();

// Sets the limit in bytes; 0 restores the default. InvalidArgument above the build's
// maximum (wasm) or below 1 MiB.
Status SetMemoryLimit(uint64_t bytes);

// A granted reservation; releases its bytes when destroyed. Move-only.
class MemoryReservation {
 public:
  MemoryReservation() = default;
  MemoryReservation(MemoryReservation&& other) noexcept : bytes_(other.bytes_) { other.bytes_ = 0; }
  MemoryReservation& operator=(MemoryReservation&& other) noexcept;
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  ~MemoryReservation() { Release(); }

  uint64_t bytes() const { return bytes_; }
  // Takes over `other`'s bytes: one reservation that grows as its holder does.
  void Absorb(MemoryReservation&& other) {
    bytes_ += other.bytes_;
    other.bytes_ = 0;
  }

 private:
  friend StatusOr<MemoryReservation> ReserveMemory(uint64_t bytes, std::string_view what);
  void Release();
  uint64_t bytes_ = 0;
};

// Reserves `bytes` for the work `what` describes ("forget (qmul)", "predict of 512
// samples", ...), or returns ResourceExhausted naming it, the sizes and the limit.
StatusOr<MemoryReservation> ReserveMemory(uint64_t bytes, std::string_view what);

}  // namespace qf
