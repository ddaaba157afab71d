// A test-side evaluator of exported ONNX graph records: the ops the exporter emits,
// written plainly from the ONNX operator specs (opset 13) over float NCHW tensors, and
// independently of the engine's layers. Float sums accumulate in float in index order,
// as onnxruntime's float kernels do up to summation order. Not a general ONNX runtime:
// no shape inference, no optional inputs other than those the exporter writes.
#pragma once

#include <catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"

namespace qf::onnx::test {

struct Tensor {
  std::vector<int64_t> dims;
  std::vector<float> v;  // every type's values as float (INT8/UINT8 exactly)
  std::string type = "FLOAT";
  size_t size() const {
    size_t n = 1;
    for (int64_t d : dims) n *= size_t(d);
    return n;
  }
};

inline size_t TypeWidth(const std::string& t) {
  if (t == "FLOAT") return 4;
  if (t == "INT8" || t == "UINT8") return 1;
  if (t == "INT64") return 8;
  FAIL("unexpected tensor type " << t);
  return 0;
}

inline std::vector<int64_t> IntsOf(const Json& a) {
  std::vector<int64_t> out;
  for (const Json& v : a.AsArray()) out.push_back(int64_t(v.AsNumber()));
  return out;
}

// The graph record's initializers, checked: sizes = dims x width, sections 8-aligned and
// inside the payload, names unique.
inline std::map<std::string, Tensor> ReadTensors(const Json& record,
                                                 const std::vector<uint8_t>& payload) {
  std::map<std::string, Tensor> out;
  for (const Json& t : record.Find("tensors")->AsArray()) {
    Tensor x;
    x.type = t.Find("type")->AsString();
    x.dims = IntsOf(*t.Find("dims"));
    const std::string name = t.Find("name")->AsString();
    const size_t offset = size_t(t.Find("offset")->AsNumber());
    const size_t length = size_t(t.Find("length")->AsNumber());
    INFO("tensor " << name);
    CHECK(t.Find("initializer")->AsBool());
    CHECK_FALSE(t.Find("external")->AsBool());
    CHECK(offset % 8 == 0);
    REQUIRE(length == x.size() * TypeWidth(x.type));
    REQUIRE(offset + length <= payload.size());
    x.v.resize(x.size());
    const uint8_t* p = payload.data() + offset;
    for (size_t i = 0; i < x.size(); i++) {
      if (x.type == "FLOAT") {
        std::memcpy(&x.v[i], p + 4 * i, 4);
      } else if (x.type == "INT8") {
        x.v[i] = float(int8_t(p[i]));
      } else {
        x.v[i] = float(p[i]);
      }
    }
    REQUIRE(out.count(name) == 0);
    out[name] = std::move(x);
  }
  return out;
}

inline const Json* Attr(const Json& node, const char* name) {
  return node.Find("attrs")->Find(name);
}
inline int64_t AttrInt(const Json& node, const char* name, int64_t fallback) {
  const Json* a = Attr(node, name);
  return a ? int64_t(a->Find("i")->AsNumber()) : fallback;
}
inline std::vector<int64_t> AttrInts(const Json& node, const char* name,
                                     std::vector<int64_t> fallback) {
  const Json* a = Attr(node, name);
  return a ? IntsOf(*a->Find("ints")) : fallback;
}

// Numpy broadcasting of a binary float op.
template <typename Op>
Tensor Broadcast(const Tensor& a, const Tensor& b, Op op) {
  const size_t rank = std::max(a.dims.size(), b.dims.size());
  auto padded = [&](const Tensor& t) {
    std::vector<int64_t> d(rank - t.dims.size(), 1);
    d.insert(d.end(), t.dims.begin(), t.dims.end());
    return d;
  };
  const std::vector<int64_t> da = padded(a), db = padded(b);
  Tensor y;
  y.dims.resize(rank);
  for (size_t i = 0; i < rank; i++) {
    REQUIRE((da[i] == db[i] || da[i] == 1 || db[i] == 1));
    y.dims[i] = std::max(da[i], db[i]);
  }
  y.v.resize(y.size());
  std::vector<int64_t> idx(rank, 0);
  for (size_t k = 0; k < y.v.size(); k++) {
    size_t ia = 0, ib = 0;
    for (size_t i = 0; i < rank; i++) {
      ia = ia * size_t(da[i]) + size_t(da[i] == 1 ? 0 : idx[i]);
      ib = ib * size_t(db[i]) + size_t(db[i] == 1 ? 0 : idx[i]);
    }
    y.v[k] = op(a.v[ia], b.v[ib]);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < y.dims[i]) break;
      idx[i] = 0;
    }
  }
  return y;
}

// Conv over NCHW with OIHW weights, group, strides, pads [top, left, bottom, right].
inline Tensor Conv(const Json& node, const Tensor& x, const Tensor& w, const Tensor* b) {
  const int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], wd = x.dims[3];
  const int64_t m = w.dims[0], cg = w.dims[1], kh = w.dims[2], kw = w.dims[3];
  const int64_t group = AttrInt(node, "group", 1);
  const std::vector<int64_t> s = AttrInts(node, "strides", {1, 1});
  const std::vector<int64_t> p = AttrInts(node, "pads", {0, 0, 0, 0});
  REQUIRE(AttrInts(node, "dilations", {1, 1}) == std::vector<int64_t>{1, 1});
  REQUIRE(c == cg * group);
  const int64_t oh = (h + p[0] + p[2] - kh) / s[0] + 1, ow = (wd + p[1] + p[3] - kw) / s[1] + 1;
  Tensor y;
  y.dims = {n, m, oh, ow};
  y.v.assign(y.size(), 0.0f);
  const int64_t mg = m / group;
  for (int64_t b0 = 0; b0 < n; b0++) {
    for (int64_t o = 0; o < m; o++) {
      const int64_t g = o / mg;
      for (int64_t oy = 0; oy < oh; oy++) {
        for (int64_t ox = 0; ox < ow; ox++) {
          float acc = 0.0f;
          for (int64_t ci = 0; ci < cg; ci++) {
            const int64_t ch = g * cg + ci;
            for (int64_t ky = 0; ky < kh; ky++) {
              const int64_t iy = oy * s[0] - p[0] + ky;
              if (iy < 0 || iy >= h) continue;
              for (int64_t kx = 0; kx < kw; kx++) {
                const int64_t ix = ox * s[1] - p[1] + kx;
                if (ix < 0 || ix >= wd) continue;
                acc += x.v[((b0 * c + ch) * h + iy) * wd + ix] *
                       w.v[((o * cg + ci) * kh + ky) * kw + kx];
              }
            }
          }
          y.v[((b0 * m + o) * oh + oy) * ow + ox] = acc + (b ? b->v[o] : 0.0f);
        }
      }
    }
  }
  return y;
}

// MaxPool / AveragePool (count_include_pad 0): padded cells are never read.
inline Tensor Pool(const Json& node, const Tensor& x, bool max) {
  const int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3];
  const std::vector<int64_t> k = AttrInts(node, "kernel_shape", {});
  const std::vector<int64_t> s = AttrInts(node, "strides", {1, 1});
  const std::vector<int64_t> p = AttrInts(node, "pads", {0, 0, 0, 0});
  if (!max) REQUIRE(AttrInt(node, "count_include_pad", 0) == 0);
  const int64_t oh = (h + p[0] + p[2] - k[0]) / s[0] + 1, ow = (w + p[1] + p[3] - k[1]) / s[1] + 1;
  Tensor y;
  y.dims = {n, c, oh, ow};
  y.v.resize(y.size());
  for (int64_t i = 0; i < n * c; i++) {
    for (int64_t oy = 0; oy < oh; oy++) {
      for (int64_t ox = 0; ox < ow; ox++) {
        float acc = max ? -INFINITY : 0.0f;
        int count = 0;
        for (int64_t ky = 0; ky < k[0]; ky++) {
          const int64_t iy = oy * s[0] - p[0] + ky;
          if (iy < 0 || iy >= h) continue;
          for (int64_t kx = 0; kx < k[1]; kx++) {
            const int64_t ix = ox * s[1] - p[1] + kx;
            if (ix < 0 || ix >= w) continue;
            const float v = x.v[(i * h + iy) * w + ix];
            acc = max ? std::max(acc, v) : acc + v;
            count++;
          }
        }
        y.v[(i * oh + oy) * ow + ox] = max ? acc : acc / float(count);
      }
    }
  }
  return y;
}

struct Evaluation {
  std::map<std::string, Tensor> values;  // every value, initializers included
  const Tensor& at(const std::string& name) const { return values.at(name); }
};

// Runs the record's nodes in file order on `input` (the graph input "input"); REQUIREs
// every node input to be an initializer, the graph input or an earlier node's output,
// and each value to be produced once.
inline Evaluation Run(const Json& record, const std::vector<uint8_t>& payload, Tensor input) {
  Evaluation e;
  e.values = ReadTensors(record, payload);
  e.values["input"] = std::move(input);
  for (const Json& node : record.Find("nodes")->AsArray()) {
    const std::string op = node.Find("op")->AsString();
    INFO("node " << node.Find("name")->AsString() << " (" << op << ")");
    REQUIRE(node.Find("domain")->AsString().empty());
    std::vector<const Tensor*> in;
    for (const Json& name : node.Find("inputs")->AsArray()) {
      INFO("input " << name.AsString());
      REQUIRE(e.values.count(name.AsString()) == 1);
      in.push_back(&e.values.at(name.AsString()));
    }
    const auto& outs = node.Find("outputs")->AsArray();
    REQUIRE(outs.size() == 1);
    Tensor y;
    const Tensor& x = *in[0];
    if (op == "Cast") {
      REQUIRE(AttrInt(node, "to", 0) == 1);
      y = x;
      y.type = "FLOAT";
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      const char o = op[0];
      y = Broadcast(x, *in[1], [o](float a, float b) {
        return o == 'A' ? a + b : o == 'S' ? a - b : o == 'M' ? a * b : a / b;
      });
    } else if (op == "Transpose") {
      const std::vector<int64_t> perm = AttrInts(node, "perm", {});
      REQUIRE(perm.size() == x.dims.size());
      y.dims.resize(perm.size());
      for (size_t i = 0; i < perm.size(); i++) y.dims[i] = x.dims[size_t(perm[i])];
      y.v.resize(x.size());
      std::vector<int64_t> idx(perm.size(), 0), xs(perm.size(), 1);
      for (size_t i = perm.size() - 1; i-- > 0;) xs[i] = xs[i + 1] * x.dims[i + 1];
      for (size_t k = 0; k < y.v.size(); k++) {
        int64_t src = 0;
        for (size_t i = 0; i < perm.size(); i++) src += idx[i] * xs[size_t(perm[i])];
        y.v[k] = x.v[size_t(src)];
        for (size_t i = perm.size(); i-- > 0;) {
          if (++idx[i] < y.dims[i]) break;
          idx[i] = 0;
        }
      }
    } else if (op == "Flatten") {
      const size_t axis = size_t(AttrInt(node, "axis", 1));
      int64_t a = 1, b = 1;
      for (size_t i = 0; i < x.dims.size(); i++) (i < axis ? a : b) *= x.dims[i];
      y = x;
      y.dims = {a, b};
    } else if (op == "Identity") {
      y = x;
    } else if (op == "Relu") {
      y = x;
      for (float& v : y.v) v = std::max(v, 0.0f);
    } else if (op == "Clip") {
      y = x;
      const float lo = in[1]->v.at(0), hi = in[2]->v.at(0);
      for (float& v : y.v) v = std::min(std::max(v, lo), hi);
    } else if (op == "BatchNormalization") {
      y = x;
      const float eps = float(Attr(node, "epsilon")->Find("f")->AsNumber());
      const size_t c = size_t(x.dims[1]), inner = x.size() / size_t(x.dims[0]) / c;
      for (size_t i = 0; i < y.v.size(); i++) {
        const size_t ch = i / inner % c;
        y.v[i] = (x.v[i] - in[3]->v[ch]) / std::sqrt(in[4]->v[ch] + eps) * in[1]->v[ch] +
                 in[2]->v[ch];
      }
    } else if (op == "Conv") {
      y = Conv(node, x, *in[1], in.size() > 2 ? in[2] : nullptr);
    } else if (op == "Gemm" || op == "MatMul") {
      const Tensor& b = *in[1];
      REQUIRE(AttrInt(node, "transA", 0) == 0);
      REQUIRE(AttrInt(node, "transB", 0) == 0);
      const int64_t m = x.dims[0], k = x.dims[1], n = b.dims[1];
      REQUIRE(b.dims[0] == k);
      y.dims = {m, n};
      y.v.assign(y.size(), 0.0f);
      for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
          float acc = 0.0f;
          for (int64_t t = 0; t < k; t++) acc += x.v[i * k + t] * b.v[t * n + j];
          y.v[i * n + j] = acc + (in.size() > 2 ? in[2]->v[size_t(j)] : 0.0f);
        }
      }
    } else if (op == "MaxPool" || op == "AveragePool") {
      y = Pool(node, x, op == "MaxPool");
    } else if (op == "GlobalAveragePool") {
      const size_t nc = size_t(x.dims[0] * x.dims[1]), hw = x.size() / nc;
      y.dims = {x.dims[0], x.dims[1], 1, 1};
      y.v.resize(nc);
      for (size_t i = 0; i < nc; i++) {
        float acc = 0.0f;
        for (size_t p = 0; p < hw; p++) acc += x.v[i * hw + p];
        y.v[i] = acc / float(hw);
      }
    } else if (op == "QuantizeLinear") {
      const Tensor& scale = *in[1];
      const Tensor& zp = *in[2];
      REQUIRE(scale.size() == 1);
      REQUIRE(zp.type == "UINT8");
      y = x;
      y.type = zp.type;
      for (float& v : y.v) {
        // round half to even (the default rounding mode), then saturate.
        v = std::min(std::max(std::nearbyint(v / scale.v[0]) + zp.v[0], 0.0f), 255.0f);
      }
    } else if (op == "DequantizeLinear") {
      const Tensor& scale = *in[1];
      const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
      REQUIRE((x.type == "INT8" || x.type == "UINT8"));
      if (zp) REQUIRE(zp->type == x.type);
      y = x;
      y.type = "FLOAT";
      if (scale.dims.empty()) {
        for (float& v : y.v) v = (v - (zp ? zp->v[0] : 0.0f)) * scale.v[0];
      } else {
        int64_t axis = AttrInt(node, "axis", 1);
        if (axis < 0) axis += int64_t(x.dims.size());
        REQUIRE(scale.dims.size() == 1);
        REQUIRE(scale.dims[0] == x.dims[size_t(axis)]);
        size_t inner = 1;
        for (size_t i = size_t(axis) + 1; i < x.dims.size(); i++) inner *= size_t(x.dims[i]);
        const size_t c = size_t(x.dims[size_t(axis)]);
        for (size_t i = 0; i < y.v.size(); i++) {
          const size_t ch = i / inner % c;
          y.v[i] = (y.v[i] - (zp ? zp->v[ch] : 0.0f)) * scale.v[ch];
        }
      }
    } else {
      FAIL("the evaluator does not know op " << op);
    }
    const std::string out = outs[0].AsString();
    REQUIRE(e.values.count(out) == 0);
    e.values[out] = std::move(y);
  }
  return e;
}

}  // namespace qf::onnx::test
