// Times every registered convolution-gradient variant but the reference on the
// convolutions of lenet and resnet8 training (batch 64, "same" padding), with the shares
// of exact zeros measured in training, in whatever build it is compiled into. The
// weight gradient (dw) and the input gradient (dx) are timed apart; a variant's speed in
// training is measured by bench/train_speed.mjs.
// Usage: qf_conv2d_grad_bench [rounds] [threads]   (default 5 and 1; the median is printed)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv2d_grad/conv2d_grad.h"

using namespace qf::kernels;

namespace {

struct Case {
  const char* what;
  size_t hw, cin, cout, k, stride;
  double x_nonzero, dy_nonzero, w_nonzero;  // shares of non-zero elements
};

// lenet's dy is sparse after ReLU and max-pool, resnet8's dense after BatchNorm; inputs
// are ReLU outputs (the stems: Fashion-MNIST images); weights 4-bit.
const Case kCases[] = {
    {"lenet conv1", 28, 1, 16, 5, 1, 0.5, 0.2, 0.8},
    {"lenet conv2", 14, 16, 32, 5, 1, 0.5, 0.2, 0.8},
    {"resnet8 stem", 28, 1, 16, 3, 1, 0.5, 1, 0.77},
    {"resnet8 28x28", 28, 16, 16, 3, 1, 0.45, 1, 0.77},
    {"resnet8 28->14", 28, 16, 32, 3, 2, 0.45, 1, 0.77},
    {"resnet8 14x14", 14, 32, 32, 3, 1, 0.4, 1, 0.77},
    {"resnet8 7x7", 7, 64, 64, 3, 1, 0.39, 1, 0.77},
    {"resnet8 1x1 s2", 14, 32, 64, 1, 2, 0.4, 1, 0.77},
};

std::vector<float> Values(std::mt19937& rng, size_t size, double nonzero) {
  std::uniform_real_distribution<float> unit(-1.f, 1.f), coin(0.f, 1.f);
  std::vector<float> v(size);
  for (float& x : v) x = coin(rng) < nonzero ? unit(rng) : 0.f;
  return v;
}

template <typename Fn>
double MedianMs(int rounds, Fn&& fn) {
  std::vector<double> ms;
  for (int r = 0; r <= rounds; r++) {  // round 0 warms up
    const auto start = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    if (r > 0) ms.push_back(took.count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  if (!qf::SetThreads(size_t(std::max(threads, 0))).ok()) {
    std::fprintf(stderr, "threads: 1 to %zu, and 1 in a build without threads\n", qf::kMaxThreads);
    return 1;
  }
  std::mt19937 rng(42);
  std::printf("%-16s %-34s %9s %9s\n", "shape", "variant", "dw ms", "dx ms");
  for (const Case& c : kCases) {
    Conv2DShape s;
    s.n = 64;
    s.in_h = s.in_w = c.hw;
    s.cin = c.cin;
    s.cout = c.cout;
    s.kh = s.kw = c.k;
    s.stride_h = s.stride_w = c.stride;
    // "same": out = ceil(hw / stride), the padding split with the extra cell at the end.
    const size_t out = (c.hw + c.stride - 1) / c.stride;
    const size_t pad = std::max<size_t>((out - 1) * c.stride + c.k, c.hw) - c.hw;
    s.pad_top = s.pad_left = pad / 2;
    s.pad_bottom = s.pad_right = pad - pad / 2;
    const std::vector<float> x = Values(rng, s.n * c.hw * c.hw * c.cin, c.x_nonzero);
    const std::vector<float> dy = Values(rng, s.out_rows() * c.cout, c.dy_nonzero);
    const std::vector<float> w = Values(rng, s.depth() * c.cout, c.w_nonzero);
    std::vector<float> dw(s.depth() * c.cout), dx(x.size());
    for (const Conv2DGradKernel& kernel : Conv2DGradKernels()) {
      if (kernel.isa == Isa::kRef) continue;
      const double dw_ms =
          MedianMs(rounds, [&] { kernel.weight(s, x.data(), dy.data(), dw.data()); });
      const double dx_ms =
          MedianMs(rounds, [&] { kernel.input(s, dy.data(), w.data(), dx.data()); });
      std::printf("%-16s %-34s %9.2f %9.2f\n", c.what, kernel.name, dw_ms, dx_ms);
    }
  }
  return 0;
}
