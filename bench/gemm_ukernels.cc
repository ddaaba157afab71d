// Times every registered u8s8 GEMM microkernel through the driver, on the benchmark
// shapes, in whatever build it is compiled into (native, wasm SIMD, wasm no-SIMD).
// For tuning kernels against each other; peers are compared in bench/kernels.mjs.
// Usage: qf_gemm_bench [M K N]...   (no arguments: the standard shapes)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/u8s8_gemm/driver.h"

using namespace qf::kernels;

namespace {

double TimeGemm(const GemmKernels& kernels, size_t m, size_t k, size_t n) {
  std::mt19937 rng(42);
  std::vector<uint8_t> a(m * k);
  std::vector<int8_t> b(k * n);
  for (auto& x : a) x = uint8_t(rng());
  for (auto& x : b) x = int8_t(rng());
  std::vector<int32_t> c(m * n);
  const PackedWeights w(kernels, k, n, b.data(), n);
  auto run = [&] { GemmU8S8(kernels, m, a.data(), k, 0, w, OutputI32{c.data(), n}); };
  run();
  std::vector<double> times;
  const auto start = std::chrono::steady_clock::now();
  while (times.size() < 5 ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 0.4) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::array<size_t, 3>> shapes;
  for (int i = 1; i + 2 < argc; i += 3) {
    shapes.push_back({size_t(std::atoi(argv[i])), size_t(std::atoi(argv[i + 1])),
                      size_t(std::atoi(argv[i + 2]))});
  }
  if (shapes.empty()) shapes = {{256, 1024, 1024}, {64, 784, 256}, {1, 784, 256}, {128, 3136, 64}};
  for (const auto& [m, k, n] : shapes) {
    for (const U8S8GemmUkernel& uk : U8S8GemmUkernels()) {
      if ((m == 1) != (uk.mr == 1)) continue;
      GemmKernels kernels = GemmKernelsFor(uk.isa);
      kernels.gemm.main = kernels.gemm.m1 = &uk;
      const double s = TimeGemm(kernels, m, k, n);
      std::printf("%4zux%4zux%4zu  %-32s %8.3f ms %7.1f GOPS\n", m, k, n, uk.name, s * 1e3,
                  2.0 * m * k * n / s * 1e-9);
    }
  }
}
