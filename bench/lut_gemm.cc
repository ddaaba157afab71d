// The table-lookup GEMM (kernels/lut_gemm) against the int8 GEMM (u8s8_gemm driver, the
// ISA's dispatched microkernels) on weights of 2 and 3 bits, one thread, same inputs,
// calls round-robin in one run; results cross-checked. Both sides include what a call
// pays per activation row (int16 widening; for the LUT side also building the tables);
// weights are packed once, untimed. Also times the LUT side's per-row work alone.
// Usage: qf_lut_gemm_bench [M K N]...   (no arguments: the shapes)
#include "kernels/lut_gemm/lut_gemm.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/u8s8_gemm/driver.h"

using namespace qf::kernels;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds per call of each function, called round-robin for at least 5 rounds
// and 0.5 s.
std::vector<double> TimeRoundRobin(const std::vector<std::function<void()>>& fns) {
  for (const auto& fn : fns) fn();  // warm-up
  std::vector<std::vector<double>> times(fns.size());
  const double start = Now();
  while (times[0].size() < 5 || Now() - start < 0.5 * double(fns.size())) {
    for (size_t f = 0; f < fns.size(); f++) {
      const double t0 = Now();
      fns[f]();
      times[f].push_back(Now() - t0);
    }
  }
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::array<size_t, 3>> shapes;
  for (int i = 1; i + 2 < argc; i += 3) {
    shapes.push_back({size_t(std::atoi(argv[i])), size_t(std::atoi(argv[i + 1])),
                      size_t(std::atoi(argv[i + 2]))});
  }
  // 256x1024x1024; lenet fc1; lenet conv2 as a GEMM; resnet8's 64-channel conv.
  if (shapes.empty())
    shapes = {{256, 1024, 1024}, {64, 256, 120}, {4096, 150, 16}, {3136, 576, 64}};
  (void)qf::SetThreads(1);
  const Isa isa = BestIsa();
  const GemmKernels int8 = GemmKernelsFor(isa);
  std::printf("isa %s, one thread; GOPS = 2*M*K*N / median call time\n", IsaName(isa));
  bool all_equal = true;
  for (const auto& shape : shapes) {
    const size_t m = shape[0], k = shape[1], n = shape[2];  // lambdas capture these
    for (int bits : {2, 3}) {
      std::mt19937 rng(42);
      std::vector<uint8_t> a(m * k);
      std::vector<int8_t> b(k * n);
      for (auto& x : a) x = uint8_t(rng());
      for (auto& x : b) x = int8_t(int(rng() % (1u << bits)) - (1 << (bits - 1)));
      const uint8_t zp = 3;
      const PackedWeights w8(int8, k, n, b.data(), n);
      std::vector<int32_t> c8(m * n);
      std::vector<const LutGemmUkernel*> luts;
      for (const LutGemmUkernel& uk : LutGemmUkernels()) {
        if (uk.isa == isa && uk.bits == bits) luts.push_back(&uk);
      }
      std::vector<uint8_t> wl(LutPackedWeightsSize(k, n, bits));
      PackLutWeights(k, n, bits, b.data(), n, wl.data());
      std::vector<std::vector<int32_t>> cl(luts.size(), std::vector<int32_t>(m * n));

      std::vector<std::function<void()>> fns;
      fns.push_back([&] { GemmU8S8(int8, m, a.data(), k, zp, w8, OutputI32{c8.data(), n}); });
      for (size_t l = 0; l < luts.size(); l++) {
        fns.push_back([&, l] {
          GemmU8LutI32(*luts[l], m, k, n, a.data(), k, zp, wl.data(), cl[l].data(), n);
        });
      }
      // The LUT side's per-row work alone (int16 widening and tables, whole matrix).
      const size_t kc = LutGroups(k) * kLutGroup;
      std::vector<int16_t> a16(m * kc), tables(m * LutTableStride(k, bits));
      fns.push_back([&] {
        PackRowsU8ToS16(m, k, kc, a.data(), k, zp, a16.data());
        luts.front()->tables(m, k, bits, a16.data(), kc, tables.data());
      });
      const std::vector<double> s = TimeRoundRobin(fns);

      const double ops = 2.0 * double(m) * double(k) * double(n);
      std::printf("%4zux%4zux%4zu %d-bit  int8 %-28s %8.3f ms %6.1f GOPS\n", m, k, n, bits,
                  int8.gemm.main->name, s[0] * 1e3, ops / s[0] * 1e-9);
      for (size_t l = 0; l < luts.size(); l++) {
        const bool equal = cl[l] == c8;
        all_equal &= equal;
        std::printf("%20s  lut  %-28s %8.3f ms %6.1f GOPS  %.2fx int8%s\n", "", luts[l]->name,
                    s[1 + l] * 1e3, ops / s[1 + l] * 1e-9, s[0] / s[1 + l],
                    equal ? "" : "  MISMATCH");
      }
      std::printf("%20s  lut  tables alone (%zu KiB)         %8.3f ms\n", "",
                  tables.size() * 2 / 1024, s.back() * 1e3);
    }
  }
  if (!all_equal) std::printf("MISMATCH: a LUT result differs from the int8 one\n");
  return all_equal ? 0 : 1;
}
