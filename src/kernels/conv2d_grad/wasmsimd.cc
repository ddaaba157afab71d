// WebAssembly SIMD128 convolution gradients without the im2col matrix (conv2d_grad.h).
//
// Both gradients multiply by mostly-zero factors: a ReLU'd input (x, for dw) and output
// gradients that ReLU and max-pool leave at exactly zero (dy, for dx). The im2col route
// copies x kh * kw times over and multiplies through every copied zero. Here:
//   dw: in one of two forms, whichever has less work (WeightGradCost):
//       splat x: each input pixel's non-zero channels are listed once. For each output
//       row r in increasing order and each window cell (ky, kx) inside the image, every
//       listed channel ci of the pixel the cell reads adds v * dy[r] (a vector over
//       output channels) to dw row (ky, kx, ci).
//       splat dy: each output row's non-zero gradients are listed. For each row r in
//       increasing order, every listed dy[r][co] adds dy[r][co] * x[pixel] (a vector over
//       input channels) to rows (co, cell) of a buffer, transposed into dw at the end.
//   dx: each output row's non-zero gradients dy[r][co] are listed. For each row r in
//       increasing order and each window cell inside the image, the cell's sums
//       +0 + dy[r][co] * w[(ky, kx, ci)][co] over co increasing are formed in registers
//       and added to the pixel's dx.
// Each element is thereby the reference's chain with its zero terms left out (padding
// cells are zeros of the im2col matrix). As in qf_f32_gemm__wasmsimd, leaving out a +-0
// term changes no bit: a chain that starts at +0 is never -0, and s + (+-0) == s. That
// holds while the other factor is finite; a call with an Inf or NaN there goes to the
// reference, whose 0 * Inf = NaN would otherwise be skipped (dw needs both x and dy
// finite: the padding cells it skips are zeros times dy). Vectors run across output
// channels (dw) or input channels (dx), never along a chain.
//
// Threads (core/thread_pool.h) split what no chain crosses: dw by window cells (each
// task adds to the dw rows of its cells, in a buffer of its own), dx by images. Each task
// still walks the output positions in increasing order, so every element's chain is the
// same at any thread count.
#include <wasm_simd128.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/thread_pool.h"
#include "kernels/census_wasmsimd.h"
#include "kernels/conv2d/im2col_f32.h"
#include "kernels/conv2d_grad/conv2d_grad.h"

namespace qf::kernels {
namespace {

constexpr size_t kMaxWeightVectors = 16;  // dw: 64 channels of a dy row or x pixel in registers
constexpr size_t kMaxInputVectors = 8;    // dx: 32 channels of sums held in registers

// A kernel templated on its vector count V, as a table of its instantiations for
// V = 0 .. N, indexed by V: make(std::integral_constant<size_t, V>) returns instance V.
template <typename Make, size_t... V>
constexpr auto TableOf(Make make, std::index_sequence<V...>) {
  return std::array{make(std::integral_constant<size_t, V>())...};
}
template <size_t N, typename Make>
constexpr auto TableOf(Make make) {
  return TableOf(make, std::make_index_sequence<N + 1>());
}

// Shapes the direct loops do not pay off on go the im2col way, which with
// qf_f32_gemm__wasmsimd is bit for bit the reference too: inputs that already are their
// im2col matrix, and inputs of fewer than 4 channels (stems on images), where a pixel's
// one term does not amortize a window cell's loop (bench/conv2d_grad_shapes.cc: lenet
// conv1's dx 21 ms direct, 5 ms im2col).
bool GoIm2Col(const Conv2DShape& s) { return Im2ColIsIdentity(s) || s.cin < 4; }

struct Entry {
  uint32_t index;  // a channel
  float v;         // its value, non-zero
};

// Appends the non-zero values of x[0, n) to `out`; returns how many. Branch-free (the
// zeros fall where the data puts them): every value is written to out[count], and the
// next non-zero one overwrites a zero's. Trailing zeros are left out first, so nothing
// is written past the values appended (other rows' lists, filled by other threads, may
// follow).
size_t AppendNonZero(const float* x, size_t n, Entry* out) {
  while (n > 0 && x[n - 1] == 0.0f) n--;
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    out[count] = Entry{uint32_t(i), x[i]};
    count += x[i] != 0.0f;
  }
  return count;
}

// The non-zero values of `rows` rows of `width`, row i's in [begin(i), end(i)).
struct RowLists {
  std::unique_ptr<uint32_t[]> start;  // rows + 1 offsets into entries
  std::unique_ptr<Entry[]> entries;   // not zero-filled: only what start covers is read

  const Entry* begin(size_t row) const { return &entries[start[row]]; }
  const Entry* end(size_t row) const { return &entries[start[row + 1]]; }
};

// Listed in pieces of rows on the pool: each piece's count, then (from the counts'
// running sum) its lists; the same lists at any thread count.
RowLists ListRows(const float* v, size_t rows, size_t width) {
  RowLists lists{std::make_unique<uint32_t[]>(rows + 1),
                 std::unique_ptr<Entry[]>(new Entry[rows * width + 1])};
  const size_t grain = std::max<size_t>(1, kParallelElements / std::max<size_t>(width, 1));
  std::vector<uint32_t> offset((rows + grain - 1) / grain + 1, 0);
  ParallelForPieces(rows, grain, [&](size_t r0, size_t r1) {
    uint32_t n = 0;
    for (size_t i = r0 * width; i < r1 * width; i++) n += v[i] != 0.0f;
    offset[r0 / grain + 1] = n;
  });
  for (size_t p = 1; p < offset.size(); p++) offset[p] += offset[p - 1];
  ParallelForPieces(rows, grain, [&](size_t r0, size_t r1) {
    uint32_t n = offset[r0 / grain];
    for (size_t i = r0; i < r1; i++) {
      lists.start[i] = n;
      n += uint32_t(AppendNonZero(v + i * width, width, &lists.entries[n]));
    }
  });
  lists.start[rows] = offset.back();
  return lists;
}

// ---- dw ---------------------------------------------------------------------------
//
// A task takes a range of window cells and up to 64 channels of the vectors (output
// channels in the splat-x form, input channels in the splat-dy form). It adds into rows
// of its own, in a buffer that shares no cache line with another thread's, and copies
// them into dw at the end. Cut by cells, each task walks its pixels' lists whole; cut by
// channels of the lists instead, both threads paid every cell's loop, and wrote rows one
// cache line apart (slower at 2 threads than at 1: bench/RESULTS.md, threads).

// A dw task: vector channels [c0, c0 + width), window cells [lo, hi).
struct Tile {
  size_t c0, width, lo, hi;
};
class Tiles {
 public:
  // Channels in chunks of 64; cells in a group per thread, or one group for small work.
  Tiles(size_t channels, size_t cells, size_t steps) : channels_(channels), cells_(cells) {
    const size_t groups = TasksFor(steps, cells);
    per_group_ = (cells + groups - 1) / groups;
    groups_ = (cells + per_group_ - 1) / per_group_;
  }
  size_t size() const { return (channels_ + kChunk - 1) / kChunk * groups_; }
  Tile operator[](size_t task) const {
    const size_t c0 = task / groups_ * kChunk, lo = task % groups_ * per_group_;
    return {c0, std::min(kChunk, channels_ - c0), lo, std::min(cells_, lo + per_group_)};
  }

 private:
  static constexpr size_t kChunk = 4 * kMaxWeightVectors;
  size_t channels_, cells_, per_group_ = 1, groups_ = 1;
};

// Splat x: adds output position (b, oy, ox)'s terms to the rows of cells [lo, hi): row
// (cell, ci) of columns [0, 4 V + lanes) at acc + ((cell - lo) * cin + ci) * ld. g is
// the dy row from the tile's first channel.
template <size_t V>
void AddPositionToWeightGrad(const Conv2DShape& s, const RowLists& lists, size_t b, size_t oy,
                             size_t ox, const float* g, size_t lanes, size_t lo, size_t hi,
                             float* acc, size_t ld) {
  v128_t gv[V > 0 ? V : 1];
  for (size_t v = 0; v < V; v++) gv[v] = wasm_v128_load(g + 4 * v);
  const ConvWindow win = WindowAt(s, b, oy, ox);
  for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
    for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
      const size_t cell = ky * s.kw + kx;
      if (cell < lo || cell >= hi) continue;
      const size_t pix = win.Pixel(ky, kx);
      float* rows = acc + (cell - lo) * s.cin * ld;
      for (const Entry* e = lists.begin(pix); e != lists.end(pix); e++) {
        const Entry term = *e;
        const v128_t f = wasm_f32x4_splat(term.v);
        float* c = rows + size_t(term.index) * ld;
        for (size_t v = 0; v < V; v++) {
          const v128_t sum = wasm_f32x4_add(wasm_v128_load(c + 4 * v), wasm_f32x4_mul(f, gv[v]));
          wasm_v128_store(c + 4 * v, sum);
        }
        for (size_t l = 4 * V; l < 4 * V + lanes; l++) c[l] += term.v * g[l];
      }
    }
  }
}

constexpr auto kAddPosition =
    TableOf<kMaxWeightVectors>([](auto v) { return &AddPositionToWeightGrad<decltype(v)::value>; });

// Splat dy: adds output position (b, oy, ox)'s n non-zero gradients `terms` to the rows
// of cells [lo, hi): row (co, cell) of columns [0, 4 V + lanes) at
// acc + (co * (hi - lo) + cell - lo) * ld. x is given from the tile's first channel.
template <size_t V>
void AddPositionToWeightGradT(const Conv2DShape& s, const float* x, const Entry* terms, size_t n,
                              size_t b, size_t oy, size_t ox, size_t lanes, size_t lo, size_t hi,
                              float* acc, size_t ld) {
  const ConvWindow win = WindowAt(s, b, oy, ox);
  for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
    for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
      const size_t cell = ky * s.kw + kx;
      if (cell < lo || cell >= hi) continue;
      const float* xp = x + win.Pixel(ky, kx) * s.cin;
      v128_t xv[V > 0 ? V : 1];
      for (size_t v = 0; v < V; v++) xv[v] = wasm_v128_load(xp + 4 * v);
      float* rows = acc + (cell - lo) * ld;
      for (size_t t = 0; t < n; t++) {
        const v128_t f = wasm_f32x4_splat(terms[t].v);
        float* c = rows + size_t(terms[t].index) * (hi - lo) * ld;
        for (size_t v = 0; v < V; v++) {
          const v128_t sum = wasm_f32x4_add(wasm_v128_load(c + 4 * v), wasm_f32x4_mul(f, xv[v]));
          wasm_v128_store(c + 4 * v, sum);
        }
        for (size_t l = 4 * V; l < 4 * V + lanes; l++) c[l] += terms[t].v * xp[l];
      }
    }
  }
}

constexpr auto kAddPositionT = TableOf<kMaxWeightVectors>(
    [](auto v) { return &AddPositionToWeightGradT<decltype(v)::value>; });

// The work of each dw form, in vector steps: a term costs kPerTerm (reading it, its splat,
// its row's address) plus a vector step per 4 channels of its row and one per lane left.
// An input value enters about kh * kw / (stride_h * stride_w) windows, a gradient kh * kw.
constexpr size_t kPerTerm = 2;
struct WeightGradCost {
  size_t splat_x, splat_dy;
};
WeightGradCost CostOf(const Conv2DShape& s, size_t x_nonzero, size_t dy_nonzero) {
  const size_t cells = s.kh * s.kw;
  return {x_nonzero * cells / (s.stride_h * s.stride_w) * (kPerTerm + s.cout / 4 + s.cout % 4),
          dy_nonzero * cells * (kPerTerm + s.cin / 4 + s.cin % 4)};
}

// dw from x's pixel lists, in position order.
void WeightGradSplatX(const Conv2DShape& s, const float* x, const float* dy, size_t steps,
                      float* dw) {
  const size_t cin = s.cin, cout = s.cout, oh = s.out_h(), ow = s.out_w();
  const RowLists lists = ListRows(x, s.n * s.in_h * s.in_w, cin);
  const Tiles tiles(cout, s.kh * s.kw, steps);
  ParallelFor(tiles.size(), [&](size_t task) {
    const Tile t = tiles[task];
    LineBuffer<float> acc((t.hi - t.lo) * cin * t.width);
    const auto add = kAddPosition[t.width / 4];
    const float* g = dy + t.c0;
    for (size_t b = 0; b < s.n; b++) {
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++, g += cout) {
          add(s, lists, b, oy, ox, g, t.width % 4, t.lo, t.hi, acc.data(), t.width);
        }
      }
    }
    for (size_t row = 0; row < (t.hi - t.lo) * cin; row++) {  // row (cell - lo, ci)
      std::copy_n(acc.data() + row * t.width, t.width, dw + (t.lo * cin + row) * cout + t.c0);
    }
  });
}

// dw from dy's row lists, in position order; rows (co, cell) transposed into dw.
void WeightGradSplatDy(const Conv2DShape& s, const float* x, const float* dy, size_t steps,
                       float* dw) {
  const size_t cin = s.cin, cout = s.cout, oh = s.out_h(), ow = s.out_w();
  const RowLists lists = ListRows(dy, s.out_rows(), cout);
  const Tiles tiles(cin, s.kh * s.kw, steps);
  ParallelFor(tiles.size(), [&](size_t task) {
    const Tile t = tiles[task];
    const size_t cells = t.hi - t.lo;
    LineBuffer<float> acc(cout * cells * t.width);
    const auto add = kAddPositionT[t.width / 4];
    size_t r = 0;
    for (size_t b = 0; b < s.n; b++) {
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++, r++) {
          const Entry *begin = lists.begin(r), *end = lists.end(r);
          if (begin == end) continue;
          add(s, x + t.c0, begin, size_t(end - begin), b, oy, ox, t.width % 4, t.lo, t.hi,
              acc.data(), t.width);
        }
      }
    }
    for (size_t co = 0; co < cout; co++) {
      for (size_t cell = 0; cell < cells; cell++) {
        const float* row = acc.data() + (co * cells + cell) * t.width;
        float* column = dw + ((t.lo + cell) * cin + t.c0) * cout + co;
        for (size_t j = 0; j < t.width; j++) column[j * cout] = row[j];
      }
    }
  });
}

// ---- dx ---------------------------------------------------------------------------

// dst[0, 4 V + lanes) += +0 + sum over the terms of term.v * row(term.index), the rows
// being `ld` floats apart from w.
template <size_t V>
void AddCellToInputGrad(const Entry* terms, size_t n, const float* w, size_t ld, size_t lanes,
                        float* dst) {
  v128_t acc[V > 0 ? V : 1];
  float tail[3] = {0.0f, 0.0f, 0.0f};
  for (size_t v = 0; v < V; v++) acc[v] = wasm_f32x4_splat(0.0f);
  for (size_t t = 0; t < n; t++) {
    const v128_t f = wasm_f32x4_splat(terms[t].v);
    const float* row = w + size_t(terms[t].index) * ld;
    for (size_t v = 0; v < V; v++) {
      acc[v] = wasm_f32x4_add(acc[v], wasm_f32x4_mul(f, wasm_v128_load(row + 4 * v)));
    }
    for (size_t l = 0; l < lanes; l++) tail[l] += terms[t].v * row[4 * V + l];
  }
  for (size_t v = 0; v < V; v++) {
    wasm_v128_store(dst + 4 * v, wasm_f32x4_add(wasm_v128_load(dst + 4 * v), acc[v]));
  }
  for (size_t l = 0; l < lanes; l++) dst[4 * V + l] += tail[l];
}

constexpr auto kAddCell =
    TableOf<kMaxInputVectors>([](auto v) { return &AddCellToInputGrad<decltype(v)::value>; });

}  // namespace

void qf_conv2d_weight_grad__wasmsimd(const Conv2DShape& s, const float* x, const float* dy,
                                     float* dw) {
  QF_CHECK(s.Valid());
  const size_t rows = s.out_rows(), cout = s.cout;
  if (GoIm2Col(s)) {
    qf_conv2d_weight_grad_im2col<Isa::kWasmSimd>(s, x, dy, dw);
    return;
  }
  const size_t pixels = s.n * s.in_h * s.in_w;
  const Census in_x = CountNonZero(x, pixels, s.cin, s.cin);
  const Census in_dy = CountNonZero(dy, rows, cout, cout);
  if (!in_x.finite || !in_dy.finite) {
    qf_conv2d_weight_grad__ref(s, x, dy, dw);
    return;
  }
  const WeightGradCost cost = CostOf(s, in_x.nonzero, in_dy.nonzero);
  if (cost.splat_dy < cost.splat_x) {
    WeightGradSplatDy(s, x, dy, cost.splat_dy, dw);
  } else {
    WeightGradSplatX(s, x, dy, cost.splat_x, dw);
  }
}

void qf_conv2d_input_grad__wasmsimd(const Conv2DShape& s, const float* dy, const float* w,
                                    float* dx) {
  QF_CHECK(s.Valid());
  const size_t depth = s.depth(), cin = s.cin, cout = s.cout;
  if (GoIm2Col(s)) {
    qf_conv2d_input_grad_im2col<Isa::kWasmSimd>(s, dy, w, dx);
    return;
  }
  if (!CountNonZero(w, depth, cout, cout).finite) {
    qf_conv2d_input_grad__ref(s, dy, w, dx);
    return;
  }
  // wt[cell][co][ci]: the rows a cell's sums stream, cin floats each.
  const size_t cells = s.kh * s.kw;
  std::vector<float> wt(depth * cout);
  for (size_t cell = 0; cell < cells; cell++) {
    for (size_t ci = 0; ci < cin; ci++) {
      for (size_t co = 0; co < cout; co++) {
        wt[(cell * cout + co) * cin + ci] = w[(cell * cin + ci) * cout + co];
      }
    }
  }
  // A task per image (its pixels are its own), or one for all when the work is small.
  const size_t oh = s.out_h(), ow = s.out_w(), rows = oh * ow;
  const size_t steps =
      CountNonZero(dy, s.out_rows(), cout, cout).nonzero * cells * (kPerTerm + cin / 4 + cin % 4);
  const size_t tasks = TasksFor(steps, s.n) == 1 ? 1 : s.n;
  ParallelFor(tasks, [&](size_t task) {
    LineBuffer<Entry> terms(cout);
    const size_t b_end = tasks == 1 ? s.n : task + 1;
    for (size_t b = task; b < b_end; b++) {
      const float* g = dy + b * rows * cout;
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++, g += cout) {
          const size_t n = AppendNonZero(g, cout, terms.data());
          const ConvWindow win = WindowAt(s, b, oy, ox);
          for (size_t ky = win.ty.lo; ky < win.ty.hi; ky++) {
            for (size_t kx = win.tx.lo; kx < win.tx.hi; kx++) {
              float* pixel = dx + win.Pixel(ky, kx) * cin;
              const float* cell = wt.data() + (ky * s.kw + kx) * cout * cin;
              for (size_t c0 = 0; c0 < cin; c0 += 4 * kMaxInputVectors) {
                const size_t width = std::min(cin - c0, 4 * kMaxInputVectors);
                kAddCell[width / 4](terms.data(), n, cell + c0, cin, width % 4, pixel + c0);
              }
            }
          }
        }
      }
    }
  });
}

}  // namespace qf::kernels
