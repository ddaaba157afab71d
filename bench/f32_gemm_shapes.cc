// Times every registered float GEMM on the backward-pass shapes of lenet and resnet8
// training (batch 64), with their measured shares of exact zeros, in whatever build it
// is compiled into. For tuning the variants (the choice of form in wasmsimd.cc and
// scalar.cc) against each other, against Eigen and against the reference; a variant's
// speed in training is measured by bench/train_speed.mjs.
// Usage: qf_f32_gemm_bench [rounds] [name] [threads]   (default 5 rounds, the median is
// printed; with a name, only the variants whose names contain it; the reference only when
// named, as in "qf_f32_gemm_bench 5 __"; threads for the variants that use the pool)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/f32_gemm/f32_gemm.h"

using namespace qf::kernels;

namespace {

struct Case {
  const char* what;
  Trans ta, tb;
  size_t m, n, k;
  double a_nonzero, b_nonzero;  // shares of non-zero elements
};

// dW = im2col(x)^T dy and dX (columns) = dy w^T of the convolutions and dense layers; the shares of
// non-zeros are those measured in training (lenet's dy after ReLU and max-pool, resnet8's
// dense after BatchNorm; im2col of ReLU outputs; 4-bit weights).
const Case kCases[] = {
    {"lenet conv1 dW", Trans::kYes, Trans::kNo, 25, 16, 36864, 0.5, 0.2},
    {"lenet conv2 dW", Trans::kYes, Trans::kNo, 400, 32, 4096, 0.5, 0.2},
    {"lenet conv2 dX", Trans::kNo, Trans::kYes, 4096, 400, 32, 0.2, 0.8},
    {"resnet8 28x28 dW", Trans::kYes, Trans::kNo, 144, 16, 50176, 0.45, 1},
    {"resnet8 28x28 dX", Trans::kNo, Trans::kYes, 50176, 144, 16, 1, 0.77},
    {"resnet8 7x7 dW", Trans::kYes, Trans::kNo, 576, 64, 3136, 0.39, 1},
    {"resnet8 7x7 dX", Trans::kNo, Trans::kYes, 3136, 576, 64, 1, 0.77},
    {"lenet dense1 dW", Trans::kYes, Trans::kNo, 512, 128, 64, 0.5, 0.2},
    {"lenet dense1 dX", Trans::kNo, Trans::kYes, 64, 512, 128, 0.2, 0.9},
};

std::vector<float> Matrix(std::mt19937& rng, size_t size, double nonzero) {
  std::uniform_real_distribution<float> unit(-1.f, 1.f), coin(0.f, 1.f);
  std::vector<float> m(size);
  for (float& x : m) x = coin(rng) < nonzero ? unit(rng) : 0.f;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const std::string only = argc > 2 ? argv[2] : "";
  const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  if (!qf::SetThreads(size_t(std::max(threads, 0))).ok()) {
    std::fprintf(stderr, "threads: 1 to %zu, and 1 in a build without threads\n", qf::kMaxThreads);
    return 1;
  }
  std::mt19937 rng(42);
  std::printf("%-18s %-24s %10s %8s\n", "shape", "variant", "ms", "GFLOP/s");
  for (const Case& c : kCases) {
    const std::vector<float> a = Matrix(rng, c.m * c.k, c.a_nonzero);
    const std::vector<float> b = Matrix(rng, c.k * c.n, c.b_nonzero);
    std::vector<float> out(c.m * c.n);
    const size_t lda = c.ta == Trans::kYes ? c.m : c.k, ldb = c.tb == Trans::kYes ? c.k : c.n;
    for (const F32GemmKernel& kernel : F32GemmKernels()) {
      if (only.empty() ? kernel.isa == Isa::kRef
                       : std::string(kernel.name).find(only) == std::string::npos)
        continue;
      std::vector<double> ms;
      for (int r = 0; r <= rounds; r++) {  // round 0 warms up
        const auto start = std::chrono::steady_clock::now();
        kernel.fn(c.ta, c.tb, c.m, c.n, c.k, a.data(), lda, b.data(), ldb, out.data(), c.n, false);
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - start;
        if (r > 0) ms.push_back(took.count());
      }
      std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
      const double median = ms[ms.size() / 2];
      std::printf("%-18s %-24s %10.2f %8.1f\n", c.what, kernel.name, median,
                  2e-6 * double(c.m) * double(c.n) * double(c.k) / median);
    }
  }
  return 0;
}
