// The importer's op handlers: one function per ONNX op (or family), each checking the
// node's attributes and inputs and drafting layers with their parameters in the engine's
// layout. The table that maps ops to them is Importer::Rules (onnx/import.cc).
#include <algorithm>
#include <cmath>
#include <limits>

#include "onnx/importer.h"

namespace qf::onnx::internal {

// ---- layer handlers --------------------------------------------------------------------

namespace {

struct Window {
  int64_t kh, kw, sh, sw, top, left, bottom, right, out_h, out_w;
};

// Kernel, strides, pads (explicit or auto_pad) and the output size of a Conv or pool node
// over an [.., H, W] input. `ceil` rounds the output size up (pools' ceil_mode).
StatusOr<Window> ReadWindow(const Node& n, const std::vector<int64_t>& kernel, int64_t in_h,
                            int64_t in_w, bool ceil, const std::string& label) {
  Window w{kernel[0], kernel[1], 1, 1, 0, 0, 0, 0, 0, 0};
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> dil, AttrInts(n, "dilations", {1, 1}, label));
  if (dil.size() != 2 || dil[0] != 1 || dil[1] != 1) {
    return Unimplemented(label + ": dilations " + Shown(dil) +
                         " (the engine has no dilated windows)");
  }
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> strides, AttrInts(n, "strides", {1, 1}, label));
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> pads, AttrInts(n, "pads", {0, 0, 0, 0}, label));
  QF_ASSIGN_OR_RETURN(const std::string auto_pad, AttrString(n, "auto_pad", "NOTSET", label));
  if (strides.size() != 2 || pads.size() != 4 || strides[0] < 1 || strides[1] < 1 || w.kh < 1 ||
      w.kw < 1 || w.kh > 4096 || w.kw > 4096 || strides[0] > 4096 || strides[1] > 4096) {
    return InvalidArgument(label + ": expected 2 positive strides and 4 pads, got strides " +
                           Shown(strides) + ", pads " + Shown(pads));
  }
  w.sh = strides[0];
  w.sw = strides[1];
  if (auto_pad == "NOTSET") {
    for (int64_t p : pads) {
      if (p < 0 || p > 4096)
        return InvalidArgument(label + ": pads " + Shown(pads) + " out of range");
    }
    w.top = pads[0];
    w.left = pads[1];
    w.bottom = pads[2];
    w.right = pads[3];
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    auto same = [&](int64_t in, int64_t k, int64_t s, int64_t* lo, int64_t* hi) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + k - in);
      *lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      *hi = total - *lo;
    };
    same(in_h, w.kh, w.sh, &w.top, &w.bottom);
    same(in_w, w.kw, w.sw, &w.left, &w.right);
  } else if (auto_pad != "VALID") {
    return InvalidArgument(label + ": unknown auto_pad '" + auto_pad + "'");
  }
  const int64_t span_h = in_h + w.top + w.bottom - w.kh, span_w = in_w + w.left + w.right - w.kw;
  if (span_h < 0 || span_w < 0) {
    return InvalidArgument(label + ": a " + std::to_string(w.kh) + "x" + std::to_string(w.kw) +
                           " window does not fit the padded " + std::to_string(in_h) + "x" +
                           std::to_string(in_w) + " input");
  }
  w.out_h = span_h / w.sh + 1;
  w.out_w = span_w / w.sw + 1;
  if (ceil &&
      ((span_h + w.sh - 1) / w.sh + 1 != w.out_h || (span_w + w.sw - 1) / w.sw + 1 != w.out_w)) {
    return Unimplemented(label +
                         ": ceil_mode 1 changes the output size here (the engine rounds "
                         "down); re-export with ceil_mode=False or pads that make it exact");
  }
  return w;
}

Json PaddingJson(const Window& w) { return Ints({w.top, w.left, w.bottom, w.right}); }

}  // namespace

Status Importer::Conv(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  QF_ASSIGN_OR_RETURN(const Value* wv, ConstantInput(n, 1, label));
  QF_ASSIGN_OR_RETURN(const Value* bv, ConstantInput(n, 2, label, true));
  if (x->shape.size() != 4 || x->collapsed || x->chw) {
    return Unimplemented(label + ": the input is " + Shown(x->shape) +
                         "; the importer converts 2-D convolutions of [N, C, H, W] images");
  }
  const std::vector<int64_t>& wd = wv->constant->dims;
  const int64_t cin = x->shape[1];
  QF_ASSIGN_OR_RETURN(const int64_t group, AttrInt(n, "group", 1, label));
  if (wd.size() != 4)
    return Unimplemented(label + ": weights " + Shown(wd) + " are not 4-D (OIHW)");
  const int64_t cout = wd[0], kh = wd[2], kw = wd[3];
  const bool depthwise = group > 1 && group == cin && cout == cin && wd[1] == 1;
  if (!(group == 1 && wd[1] == cin) && !depthwise) {
    return Unimplemented(label + ": group " + std::to_string(group) + " with weights " + Shown(wd) +
                         " on " + std::to_string(cin) +
                         " channels (the engine has plain and depthwise convolutions)");
  }
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> kernel,
                      AttrInts(n, "kernel_shape", {kh, kw}, label));
  if (kernel != std::vector<int64_t>{kh, kw}) {
    return InvalidArgument(label + ": kernel_shape " + Shown(kernel) + " disagrees with weights " +
                           Shown(wd));
  }
  QF_ASSIGN_OR_RETURN(const Window w,
                      ReadWindow(n, kernel, x->shape[2], x->shape[3], false, label));
  const std::string wname = n.inputs[1];
  QF_ASSIGN_OR_RETURN(const std::vector<float> onnx_w, Floats(*wv, "the weights", label));
  LayerParams p;
  p.node = n.name;
  const size_t taps = size_t(kh * kw), ci_n = depthwise ? 1 : size_t(cin), co_n = size_t(cout);
  p.weight.resize(onnx_w.size());
  // OIHW -> [KH, KW, Cin, Cout] rows; depthwise [C, 1, KH, KW] -> [KH * KW, C].
  for (size_t co = 0; co < co_n; co++) {
    for (size_t ci = 0; ci < ci_n; ci++) {
      for (size_t t = 0; t < taps; t++) {
        p.weight[(t * ci_n + ci) * co_n + co] = onnx_w[(co * ci_n + ci) * taps + t];
      }
    }
  }
  p.bias.assign(co_n, 0.0f);
  if (bv) {
    if (bv->constant->count() != co_n) {
      return InvalidArgument(label + ": bias " + bv->constant->DimsString() + " for " +
                             std::to_string(cout) + " output channels");
    }
    QF_ASSIGN_OR_RETURN(p.bias, Floats(*bv, "the bias", label));
  }
  QF_RETURN_IF_ERROR(WeightSteps(*wv, 0, &p, label));
  Value out = Continue(n.inputs[0]);
  const int params = AddParams(std::move(p));
  Json layer = Layer(depthwise ? "depthwise_conv2d" : "conv2d");
  if (!depthwise) layer.Set("filters", Json::Number(double(cout)));
  layer.Set("kernel", Ints({kh, kw}));
  layer.Set("stride", Ints({w.sh, w.sw}));
  layer.Set("padding", PaddingJson(w));
  TakeInputStep(&out, &params_[size_t(params)]);
  Emit(&out, std::move(layer), params, n.name);
  out.params = params;
  out.shape = {kBatchMarker, cout, w.out_h, w.out_w};
  out.non_negative = false;
  return SetOutput(n, std::move(out));
}

// Gemm and MatMul: a dense layer on [N, F], weights `b` given as [F, out] (or transposed).
Status Importer::Gemm(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  QF_ASSIGN_OR_RETURN(const Value* bv, ConstantInput(n, 1, label));
  const bool gemm = n.op == "Gemm";
  QF_ASSIGN_OR_RETURN(const Value* cv,
                      gemm ? ConstantInput(n, 2, label, true)
                           : StatusOr<const Value*>(static_cast<const Value*>(nullptr)));
  QF_ASSIGN_OR_RETURN(const int64_t trans_a, AttrInt(n, "transA", 0, label));
  QF_ASSIGN_OR_RETURN(const int64_t trans_b, AttrInt(n, "transB", 0, label));
  QF_ASSIGN_OR_RETURN(const float alpha, AttrFloat(n, "alpha", 1.0f, label));
  QF_ASSIGN_OR_RETURN(const float beta, AttrFloat(n, "beta", 1.0f, label));
  if (trans_a != 0 || alpha != 1.0f || (cv && beta != 1.0f)) {
    return Unimplemented(label + ": transA " + std::to_string(trans_a) + ", alpha " +
                         std::to_string(alpha) + ", beta " + std::to_string(beta) +
                         " (the importer converts transA 0, alpha 1, beta 1)");
  }
  if (x->shape.size() != 2) {
    return Unimplemented(label + ": the input is " + Shown(x->shape) +
                         "; dense layers take [N, features] (Flatten first)");
  }
  const std::vector<int64_t>& bd = bv->constant->dims;
  const int64_t in = x->shape[1];
  if (bd.size() != 2 || bd[trans_b ? 1 : 0] != in) {
    return InvalidArgument(label + ": weights " + Shown(bd) + (trans_b ? " (transB)" : "") +
                           " do not take " + std::to_string(in) + " features");
  }
  const size_t rows = size_t(in), cols = size_t(bd[trans_b ? 0 : 1]);
  QF_ASSIGN_OR_RETURN(const std::vector<float> b, Floats(*bv, "the weights", label));
  LayerParams p;
  p.node = n.name;
  p.weight.resize(rows * cols);
  for (size_t r = 0; r < rows; r++) {
    const size_t e = x->chw ? x->chw->Engine(r) : r;  // CHW features into HWC rows
    for (size_t c = 0; c < cols; c++) {
      p.weight[e * cols + c] = trans_b ? b[c * rows + r] : b[r * cols + c];
    }
  }
  p.bias.assign(cols, 0.0f);
  if (cv) {
    if (cv->constant->count() != cols && cv->constant->count() != 1) {
      return Unimplemented(label + ": bias C " + cv->constant->DimsString() + " for " +
                           std::to_string(cols) +
                           " outputs (the importer takes [out] or a scalar)");
    }
    QF_ASSIGN_OR_RETURN(const std::vector<float> c, Floats(*cv, "the bias", label));
    for (size_t i = 0; i < cols; i++) p.bias[i] = c.size() == 1 ? c[0] : c[i];
  }
  QF_RETURN_IF_ERROR(WeightSteps(*bv, trans_b ? 0 : 1, &p, label));
  Value out = Continue(n.inputs[0]);
  const int params = AddParams(std::move(p));
  TakeInputStep(&out, &params_[size_t(params)]);
  Json layer = Layer("dense");
  layer.Set("units", Json::Number(double(cols)));
  Emit(&out, std::move(layer), params, n.name);
  out.params = params;
  out.chw.reset();
  out.shape = {kBatchMarker, int64_t(cols)};
  out.non_negative = false;
  return SetOutput(n, std::move(out));
}

Status Importer::MatMul(const Node& n, const std::string& label) { return Gemm(n, label); }

Status Importer::Add(const Node& n, const std::string& label) {
  std::vector<std::string> ins;
  for (const std::string& s : n.inputs) {
    if (!s.empty()) ins.push_back(s);
  }
  if (ins.size() == 1 && n.op == "Sum") return PassThrough(n, label);
  if (ins.size() != 2) {
    return Unimplemented(label + ": " + std::to_string(ins.size()) +
                         " inputs (the importer adds two branches, or a constant bias)");
  }
  for (size_t i = 0; i < n.inputs.size(); i++) {
    if (!n.inputs[i].empty() && !values_.count(n.inputs[i])) {
      QF_RETURN_IF_ERROR(ConstantInput(n, i, label).status());  // an initializer
    }
  }
  const bool c0 = bool(values_[ins[0]].constant), c1 = bool(values_[ins[1]].constant);
  if (c0 && c1) return Unimplemented(label + ": an Add of two constants is not folded");
  if (c0 || c1) {  // a bias: into the linear layer that made the other input
    const std::string& xname = ins[c0 ? 1 : 0];
    const Value& x = values_[xname];
    const Value& bias = values_[ins[c0 ? 0 : 1]];
    if (x.params < 0 || consumers_[xname] != 1) {
      return Unimplemented(label +
                           ": an Add of a constant that does not directly follow a Conv, "
                           "Gemm or MatMul (only biases are folded)");
    }
    LayerParams& p = params_[size_t(x.params)];
    if (bias.constant->count() != p.bias.size()) {
      return Unimplemented(label + ": a constant " + bias.constant->DimsString() + " added to " +
                           std::to_string(p.bias.size()) + " channels (only per-channel biases)");
    }
    QF_ASSIGN_OR_RETURN(const std::vector<float> b, Floats(bias, "the bias", label));
    for (size_t i = 0; i < b.size(); i++) p.bias[i] += b[i];
    Value out = Continue(xname);
    out.params = x.params;
    return SetOutput(n, std::move(out));
  }
  if (ins[0] == ins[1]) return Unimplemented(label + ": an Add of a tensor to itself");
  const Value &a = values_[ins[0]], &b = values_[ins[1]];
  std::string fork;
  bool a_is_fork = false, b_is_fork = false;
  if (a.origin == ins[1]) {
    fork = ins[1];
    b_is_fork = true;
  } else if (b.origin == ins[0]) {
    fork = ins[0];
    a_is_fork = true;
  } else if (a.origin == b.origin) {
    fork = a.origin;
  } else {
    return Unimplemented(label + ": its inputs '" + ins[0] + "' and '" + ins[1] +
                         "' do not branch from one tensor (the importer converts residual "
                         "blocks: two branches from a fork, joined by one Add)");
  }
  if (consumers_[fork] != 2 || (!a_is_fork && consumers_[ins[0]] != 1) ||
      (!b_is_fork && consumers_[ins[1]] != 1)) {
    return Unimplemented(label + ": the branches from '" + fork +
                         "' are used elsewhere too (only two-way forks joined by one Add)");
  }
  if (a.shape != b.shape || a.collapsed != b.collapsed || a.chw || b.chw) {
    return InvalidArgument(label + ": branch shapes " + Shown(a.shape) + " and " + Shown(b.shape) +
                           " differ");
  }
  Chain body = a_is_fork ? Chain{} : std::move(values_[ins[0]].chain);
  Chain shortcut = b_is_fork ? Chain{} : std::move(values_[ins[1]].chain);
  if (body.empty()) std::swap(body, shortcut);
  if (body.empty()) return Unimplemented(label + ": both branches are empty");
  Value out;
  Value& f = values_[fork];
  out.shape = a.shape;
  out.collapsed = a.collapsed;
  out.origin = f.origin;
  out.chain = std::move(f.chain);
  Draft residual;
  residual.layer = Layer("residual");
  residual.node = n.name;
  residual.body = std::move(body);
  residual.shortcut = std::move(shortcut);
  out.chain.push_back(std::move(residual));
  return SetOutput(n, std::move(out));
}

Status Importer::BatchNormalization(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  QF_ASSIGN_OR_RETURN(const int64_t spatial, AttrInt(n, "spatial", 1, label));
  QF_ASSIGN_OR_RETURN(const int64_t training, AttrInt(n, "training_mode", 0, label));
  if (spatial != 1 || training != 0) {
    return Unimplemented(label + ": spatial " + std::to_string(spatial) + ", training_mode " +
                         std::to_string(training) + " (the importer converts inference BatchNorm)");
  }
  QF_ASSIGN_OR_RETURN(const float eps, AttrFloat(n, "epsilon", 1e-5f, label));
  QF_ASSIGN_OR_RETURN(const float momentum, AttrFloat(n, "momentum", 0.9f, label));
  if (!(eps > 0.0f) || !std::isfinite(eps)) {
    return Unimplemented(label + ": epsilon " + std::to_string(eps) +
                         " (the engine needs eps > 0)");
  }
  if (x->shape.size() != 2 && x->shape.size() != 4) {
    return Unimplemented(label + ": input " + Shown(x->shape));
  }
  const size_t c = size_t(x->shape[1]);
  LayerParams p;
  p.kind = LayerParams::Kind::kBatchNorm;
  p.node = n.name;
  std::vector<float>* fields[] = {&p.gamma, &p.beta, &p.mean, &p.var};
  const char* names[] = {"scale", "B", "mean", "var"};
  for (size_t i = 0; i < 4; i++) {
    QF_ASSIGN_OR_RETURN(const Value* v, ConstantInput(n, i + 1, label));
    if (v->constant->count() != c) {
      return InvalidArgument(label + ": " + names[i] + " " + v->constant->DimsString() + " for " +
                             std::to_string(c) + " channels");
    }
    QF_ASSIGN_OR_RETURN(std::vector<float> values, Floats(*v, names[i], label));
    if (x->chw) {  // per-feature parameters of flattened CHW features, into HWC order
      std::vector<float> moved(c);
      for (size_t r = 0; r < c; r++) moved[x->chw->Engine(r)] = values[r];
      values = std::move(moved);
    }
    *fields[i] = std::move(values);
  }
  for (size_t i = 0; i < c; i++) {
    if (p.var[i] < 0) {
      return DataLoss(label + ": var holds a negative value at element " + std::to_string(i));
    }
  }
  Value out = Continue(n.inputs[0]);
  const int params = AddParams(std::move(p));
  Json layer = Layer("batch_norm");
  layer.Set("eps", Json::Number(double(eps)));
  layer.Set("momentum", Json::Number(double(std::clamp(1.0f - momentum, 0.0f, 1.0f))));
  Emit(&out, std::move(layer), params, n.name);
  out.non_negative = false;
  return SetOutput(n, std::move(out));
}

Status Importer::Relu(const Node& n, const std::string& label) {
  QF_RETURN_IF_ERROR(Activation(n, 0, label).status());
  Value out = Continue(n.inputs[0]);
  Emit(&out, Layer("relu"), -1, n.name);
  out.non_negative = true;
  return SetOutput(n, std::move(out));
}

Status Importer::Clip(const Node& n, const std::string& label) {
  QF_RETURN_IF_ERROR(Activation(n, 0, label).status());
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset_ < 11) {
    QF_ASSIGN_OR_RETURN(lo, AttrFloat(n, "min", lo, label));
    QF_ASSIGN_OR_RETURN(hi, AttrFloat(n, "max", hi, label));
  } else {
    for (size_t i = 1; i <= 2; i++) {
      QF_ASSIGN_OR_RETURN(const Value* v, ConstantInput(n, i, label, true));
      if (!v) continue;
      if (v->constant->count() != 1)
        return InvalidArgument(label + ": min and max must be scalars");
      (i == 1 ? lo : hi) = v->constant->FloatAt(0);
    }
  }
  if (lo != 0.0f || !(hi > 0.0f)) {
    return Unimplemented(label + ": Clip(" + std::to_string(lo) + ", " + std::to_string(hi) +
                         ") (the engine has ReLU, ReLU6 and ReLU with a cap: min 0, max > 0)");
  }
  Json layer = Layer(hi == 6.0f ? "relu6" : "relu");
  if (std::isfinite(hi) && hi != 6.0f) layer.Set("cap", Json::Number(double(hi)));
  Value out = Continue(n.inputs[0]);
  Emit(&out, std::move(layer), -1, n.name);
  out.non_negative = true;
  return SetOutput(n, std::move(out));
}

Status Importer::Pool(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  if (x->shape.size() != 4 || x->collapsed || x->chw) {
    return Unimplemented(label + ": the input is " + Shown(x->shape) + "; pools take [N, C, H, W]");
  }
  const bool max = n.op == "MaxPool";
  QF_ASSIGN_OR_RETURN(const std::vector<int64_t> kernel, AttrInts(n, "kernel_shape", {}, label));
  if (kernel.size() != 2) return InvalidArgument(label + ": kernel_shape must have 2 values");
  QF_ASSIGN_OR_RETURN(const int64_t ceil_mode, AttrInt(n, "ceil_mode", 0, label));
  QF_ASSIGN_OR_RETURN(const int64_t storage, AttrInt(n, "storage_order", 0, label));
  QF_ASSIGN_OR_RETURN(const int64_t include_pad, AttrInt(n, "count_include_pad", 0, label));
  QF_ASSIGN_OR_RETURN(const Window w,
                      ReadWindow(n, kernel, x->shape[2], x->shape[3], ceil_mode != 0, label));
  if (storage != 0) return Unimplemented(label + ": storage_order 1");
  if (w.top >= w.kh || w.bottom >= w.kh || w.left >= w.kw || w.right >= w.kw) {
    return Unimplemented(label + ": pads " + Shown({w.top, w.left, w.bottom, w.right}) +
                         " as large as the window (a window of padding only)");
  }
  if (!max && include_pad != 0 && (w.top || w.left || w.bottom || w.right)) {
    return Unimplemented(label +
                         ": count_include_pad 1 with pads (the engine leaves padded cells "
                         "out of the average)");
  }
  Value out = Continue(n.inputs[0]);
  Json layer = Layer(max ? "max_pool2d" : "avg_pool2d");
  layer.Set("pool", Ints({w.kh, w.kw}));
  layer.Set("stride", Ints({w.sh, w.sw}));
  layer.Set("padding", PaddingJson(w));
  const bool keeps_input = out.network_input && max;
  const bool non_negative = out.non_negative;
  // The max of quantized values is the quantized max: a QDQ pair before a MaxPool still
  // gives the next layer its step.
  const std::optional<PendingStep> step = max ? out.step : std::nullopt;
  Emit(&out, std::move(layer), -1, n.name);
  out.network_input = keeps_input;
  out.non_negative = non_negative;
  out.step = step;
  out.shape = {kBatchMarker, x->shape[1], w.out_h, w.out_w};
  return SetOutput(n, std::move(out));
}

// GlobalAveragePool, and ReduceMean over the two spatial axes (as tf2onnx writes Keras'
// GlobalAveragePooling2D and PyTorch x.mean((2, 3))), keeping them or not.
Status Importer::GlobalAveragePool(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  if (x->shape.size() != 4 || x->collapsed || x->chw) {
    return Unimplemented(label + ": the input is " + Shown(x->shape) + "; it takes [N, C, H, W]");
  }
  bool keepdims = true;
  if (n.op == "ReduceMean") {
    std::vector<int64_t> axes;
    if (opset_ < 18) {
      QF_ASSIGN_OR_RETURN(axes, AttrInts(n, "axes", {}, label));
    } else if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      QF_ASSIGN_OR_RETURN(const Value* a, ConstantInput(n, 1, label));
      if (!a->constant->is_int()) return InvalidArgument(label + ": axes must be integers");
      for (size_t i = 0; i < a->constant->count(); i++) axes.push_back(a->constant->IntAt(i));
    }
    for (int64_t& a : axes) a = a < 0 ? a + 4 : a;
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<int64_t>{2, 3}) {
      return Unimplemented(label + ": axes " + Shown(axes) +
                           " (the importer takes the mean over the spatial axes [2, 3] only)");
    }
    QF_ASSIGN_OR_RETURN(const int64_t keep, AttrInt(n, "keepdims", 1, label));
    keepdims = keep != 0;
  }
  Value out = Continue(n.inputs[0]);
  const bool non_negative = out.non_negative;
  Emit(&out, Layer("global_avg_pool"), -1, n.name);
  out.non_negative = non_negative;
  // The engine holds [C] either way; ONNX has [N, C, 1, 1] (collapsed) or [N, C].
  out.shape = keepdims ? std::vector<int64_t>{kBatchMarker, x->shape[1], 1, 1}
                       : std::vector<int64_t>{kBatchMarker, x->shape[1]};
  out.collapsed = keepdims;
  return SetOutput(n, std::move(out));
}

// Flatten of [N, C, H, W] to [N, C * H * W] (nothing when the engine holds [C] already).
Status Importer::Flatten(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  QF_ASSIGN_OR_RETURN(int64_t axis, AttrInt(n, "axis", 1, label));
  const int64_t rank = int64_t(x->shape.size());
  if (axis < 0) axis += rank;
  if (axis != 1) {
    return Unimplemented(label + ": axis " + std::to_string(axis) +
                         " (the importer flattens everything but the batch: axis 1)");
  }
  Value out = Continue(n.inputs[0]);
  if (rank == 2) return SetOutput(n, std::move(out));
  if (rank != 4) return Unimplemented(label + ": input " + Shown(x->shape));
  // Channels last (a Transpose [0, 2, 3, 1] before): features in the engine's own HWC order.
  const bool hwc = x->hwc;
  const int64_t c = hwc ? x->shape[3] : x->shape[1], h = hwc ? x->shape[1] : x->shape[2],
                w = hwc ? x->shape[2] : x->shape[3];
  out.hwc = false;
  if (!out.collapsed) {
    const bool keeps = out.network_input, non_negative = out.non_negative;
    const std::optional<PendingStep> step = out.step;
    Emit(&out, Layer("flatten"), -1, n.name);
    out.network_input = keeps;
    out.non_negative = non_negative;
    out.step = step;
    if (c > 1 && h * w > 1 && !hwc) out.chw = Chw{c, h, w};
  }
  out.collapsed = false;
  out.shape = {kBatchMarker, c * h * w};
  return SetOutput(n, std::move(out));
}

Status Importer::Reshape(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  QF_ASSIGN_OR_RETURN(const Value* sv, ConstantInput(n, 1, label));
  QF_ASSIGN_OR_RETURN(const int64_t allowzero, AttrInt(n, "allowzero", 0, label));
  const Constant& s = *sv->constant;
  std::vector<int64_t> target;
  if (s.is_int()) {
    for (size_t i = 0; i < s.count(); i++) target.push_back(s.IntAt(i));
  }
  int64_t features = 1;
  for (size_t i = 1; i < x->shape.size(); i++) features *= x->shape[i];
  const bool batch_ok =
      target.size() == 2 &&
      (target[0] == kBatchMarker || (target[0] == 0 && !allowzero) ||
       (target[0] == -1 && target[1] != -1) || (static_batch_ > 0 && target[0] == static_batch_));
  const bool features_ok =
      target.size() == 2 && (target[1] == -1 || target[1] == features ||
                             (target[1] == 0 && !allowzero && x->shape[1] == features));
  if (!batch_ok || !features_ok) {
    return Unimplemented(label + ": a Reshape of " + Shown(x->shape) + " to " + Shown(target) +
                         " (the importer converts flattening reshapes to [N, -1])");
  }
  Node flatten = n;
  flatten.attrs.clear();
  flatten.inputs.resize(1);
  return Flatten(flatten, label);
}

Status Importer::PassThrough(const Node& n, const std::string& label) {
  QF_RETURN_IF_ERROR(Activation(n, 0, label).status());
  if (n.op == "Dropout" && opset_ >= 12 && n.inputs.size() > 2 && !n.inputs[2].empty()) {
    QF_ASSIGN_OR_RETURN(const Value* t, ConstantInput(n, 2, label));
    if (t->constant->count() != 1 || t->constant->FloatAt(0) != 0) {
      return Unimplemented(label + ": training_mode true");
    }
  }
  Value out = Continue(n.inputs[0]);
  out.params = values_[n.inputs[0]].params;
  if (n.op != "Sum") Drop(n, "no computation at inference");
  return SetOutput(n, std::move(out));
}

// A Pad of zeros (PyTorch 1.13 writes one in front of nn.AvgPool2d's AveragePool): it
// changes nothing and is dropped. Real padding is not folded into the next layer yet.
Status Importer::Pad(const Node& n, const std::string& label) {
  QF_RETURN_IF_ERROR(Activation(n, 0, label).status());
  std::vector<int64_t> pads;
  if (opset_ < 11) {
    QF_ASSIGN_OR_RETURN(pads, AttrInts(n, "pads", {}, label));
  } else {
    QF_ASSIGN_OR_RETURN(const Value* p, ConstantInput(n, 1, label));
    if (!p->constant->is_int()) return InvalidArgument(label + ": pads must be integers");
    for (size_t i = 0; i < p->constant->count(); i++) pads.push_back(p->constant->IntAt(i));
  }
  if (std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v != 0; })) {
    return Unimplemented(label + ": pads " + Shown(pads) +
                         " (only a Pad of zeros, which changes nothing, is taken)");
  }
  Value out = Continue(n.inputs[0]);
  out.params = values_[n.inputs[0]].params;
  Drop(n, "pads of zero: no computation");
  return SetOutput(n, std::move(out));
}

Status Importer::Softmax(const Node& n, const std::string& label) {
  QF_RETURN_IF_ERROR(Activation(n, 0, label).status());
  if (n.outputs.empty() || n.outputs[0] != logits_name_) {
    return Unimplemented(label + ": a " + n.op +
                         " inside the network (only a trailing one, on the "
                         "output, is dropped: the engine outputs logits)");
  }
  logits_name_ = n.inputs[0];
  consumers_[logits_name_]--;
  Drop(n, "trailing " + n.op + ": the model outputs logits");
  return OkStatus();
}

Status Importer::Transpose(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  const Attribute* perm = n.Find("perm");
  // Channels last before a Flatten (as model.toOnnx() writes its flatten): the engine's
  // own flatten order; Activation() lets only a Flatten take the result.
  if (perm && perm->kind == Attribute::Kind::kInts &&
      perm->ints == std::vector<int64_t>{0, 2, 3, 1} && x->shape.size() == 4 &&
      n.inputs[0] != input_name_ && consumers_[n.outputs[0]] == 1) {
    Value out = Continue(n.inputs[0]);
    out.shape = {kBatchMarker, x->shape[2], x->shape[3], x->shape[1]};
    out.hwc = true;
    Drop(n, "channels last before a Flatten: the engine's own flatten order");
    return SetOutput(n, std::move(out));
  }
  if (!nhwc_input_ || n.inputs[0] != input_name_) {
    return Unimplemented(label +
                         ": a Transpose (only perm [0, 3, 1, 2] right after an NHWC graph "
                         "input, and [0, 2, 3, 1] right before a Flatten, are absorbed)");
  }
  Value out = Continue(n.inputs[0]);
  out.shape = {kBatchMarker, x->shape[3], x->shape[1], x->shape[2]};
  Drop(n, "NHWC input: the transpose is the engine's own layout");
  return SetOutput(n, std::move(out));
}

Status Importer::Shape(const Node& n, const std::string& label) {
  if (n.inputs.empty() || n.inputs[0].empty()) return InvalidArgument(label + ": no input");
  std::vector<int64_t> dims;
  auto it = values_.find(n.inputs[0]);
  if (it != values_.end() && !it->second.constant) {
    dims = it->second.shape;
  } else {
    QF_ASSIGN_OR_RETURN(const Value* c, ConstantInput(n, 0, label));
    dims = c->constant->dims;
  }
  QF_ASSIGN_OR_RETURN(Constant folded, FoldShape(n, opset_, dims));
  folded_.Push(Json::String(n.name));
  Value v;
  v.constant = std::make_shared<Constant>(std::move(folded));
  return SetOutput(n, std::move(v));
}

Status Importer::Fold(const Node& n, const std::string& label) {
  std::vector<const Constant*> inputs;
  for (size_t i = 0; i < n.inputs.size(); i++) {
    QF_ASSIGN_OR_RETURN(const Value* v, ConstantInput(n, i, label, true));
    inputs.push_back(v ? v->constant.get() : nullptr);
  }
  QF_ASSIGN_OR_RETURN(Constant folded, FoldNode(n, opset_, g_, inputs));
  folded_.Push(Json::String(n.name));
  Value v;
  v.constant = std::make_shared<Constant>(std::move(folded));
  return SetOutput(n, std::move(v));
}

// ---- QDQ -------------------------------------------------------------------------------

namespace {

// A QDQ node's scale and zero point (inputs 1 and 2): one value, or one per `axis` slice.
struct QdqParams {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;  // empty: 0
  DataType type = DataType::kUint8;  // of the zero point (the quantized type)
};

}  // namespace

StatusOr<QdqParams> ReadQdq(const Value* scale, const Value* zp, const std::string& label) {
  QdqParams q;
  if (!scale->constant->is_float()) return InvalidArgument(label + ": the scale must be a float");
  for (size_t i = 0; i < scale->constant->count(); i++) {
    const float s = scale->constant->FloatAt(i);
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return DataLoss(label + ": scale " + std::to_string(s) + " at element " + std::to_string(i) +
                      " (scales must be positive and finite)");
    }
    q.scales.push_back(s);
  }
  if (zp) {
    q.type = zp->constant->type;
    if (!zp->constant->is_int()) {
      return Unimplemented(label + ": a " + DataTypeName(q.type) +
                           " zero point (int8 and uint8 only)");
    }
    for (size_t i = 0; i < zp->constant->count(); i++)
      q.zero_points.push_back(zp->constant->IntAt(i));
  }
  return q;
}

Status Importer::QuantizeLinear(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  QF_ASSIGN_OR_RETURN(const Value* scale, ConstantInput(n, 1, label));
  QF_ASSIGN_OR_RETURN(const Value* zp, ConstantInput(n, 2, label, true));
  QF_ASSIGN_OR_RETURN(const QdqParams q, ReadQdq(scale, zp, label));
  (void)x;
  Value out = Continue(n.inputs[0]);
  out.params = -1;
  if (q.scales.size() == 1 && q.zero_points.size() <= 1 &&
      (q.type == DataType::kUint8 || q.type == DataType::kInt8)) {
    out.step = PendingStep{q.scales[0], q.zero_points.empty() ? 0 : q.zero_points[0],
                           q.type == DataType::kInt8, n.name};
  } else {
    Drop(n, "an activation quantized per axis or to " + std::string(DataTypeName(q.type)) +
                ": the engine's input steps are per tensor, uint8");
  }
  return SetOutput(n, std::move(out));
}

Status Importer::DequantizeLinear(const Node& n, const std::string& label) {
  if (n.inputs.empty() || n.inputs[0].empty()) return InvalidArgument(label + ": no input");
  QF_ASSIGN_OR_RETURN(const Value* scale, ConstantInput(n, 1, label));
  QF_ASSIGN_OR_RETURN(const Value* zp, ConstantInput(n, 2, label, true));
  QF_ASSIGN_OR_RETURN(const QdqParams q, ReadQdq(scale, zp, label));
  auto it = values_.find(n.inputs[0]);
  if (it != values_.end() && !it->second.constant) {  // the second half of an activation pair
    Value out = Continue(n.inputs[0]);
    if (!out.step) Drop(n, "a DequantizeLinear without its QuantizeLinear");
    return SetOutput(n, std::move(out));
  }
  // Constant weights (or biases): dequantized here; int8 codes are kept for the layer.
  QF_ASSIGN_OR_RETURN(const Value* x, ConstantInput(n, 0, label));
  const Constant& c = *x->constant;
  if (!c.is_int())
    return Unimplemented(label + ": dequantizing " + DataTypeName(c.type) + " values");
  QF_ASSIGN_OR_RETURN(int64_t axis, AttrInt(n, "axis", 1, label));
  const int64_t rank = int64_t(c.dims.size());
  if (axis < 0) axis += rank;
  const size_t groups = q.scales.size();
  if (groups != 1 && (axis < 0 || axis >= rank || size_t(c.dims[size_t(axis)]) != groups)) {
    return InvalidArgument(label + ": " + std::to_string(groups) + " scales for axis " +
                           std::to_string(axis) + " of " + c.DimsString());
  }
  if ((!q.zero_points.empty() && q.zero_points.size() != groups)) {
    return InvalidArgument(label + ": zero points and scales differ in count");
  }
  size_t inner = 1;
  for (int64_t i = axis + 1; groups != 1 && i < rank; i++) inner *= size_t(c.dims[size_t(i)]);
  std::vector<float> values(c.count());
  for (size_t i = 0; i < values.size(); i++) {
    const size_t g = groups == 1 ? 0 : i / inner % groups;
    const int64_t z = q.zero_points.empty() ? 0 : q.zero_points[g];
    values[i] = float(c.IntAt(i) - z) * q.scales[g];
  }
  Value v;
  v.constant = std::make_shared<Constant>(Constant::Floats(c.dims, std::move(values)));
  const bool zero =
      std::all_of(q.zero_points.begin(), q.zero_points.end(), [](int64_t z) { return z == 0; });
  if (c.type == DataType::kInt8 && c.view) {
    if (!zero) {
      return Unimplemented(label +
                           ": int8 weights with a non-zero zero point (the engine's "
                           "weight grids are symmetric)");
    }
    v.codes = c.view;
    v.scales = q.scales;
    v.scale_axis = groups == 1 ? -1 : axis;
  }
  folded_.Push(Json::String(n.name));
  return SetOutput(n, std::move(v));
}

// The activation step of a QuantizeLinear -> DequantizeLinear pair in front of a quantized
// layer, when its grid is the engine's: zero point 0 for inputs the engine knows are >= 0
// (uint8 zero point 0, or int8 -128), 128 otherwise (uint8 128, or int8 0).
void Importer::TakeInputStep(Value* in, LayerParams* p) {
  if (!in->step) return;
  const PendingStep s = *in->step;
  in->step.reset();
  const int64_t engine_zp = in->non_negative ? 0 : 128;
  const int64_t zp = s.int8 ? s.zero_point + 128 : s.zero_point;
  Node pair;
  pair.name = s.node;
  pair.op = "QuantizeLinear";
  if (in->network_input && plain_pixels_) {
    Drop(pair, "quantizes the network input, whose step the engine fixes (1/255 of the pixels)");
  } else if (in->network_input && zp == 0 && !non_negative_given_) {
    // The file calibrated the input's range from 0: declare it (nn::ModelSpec
    // input_non_negative), so that the engine's grid starts at 0 too.
    declare_non_negative_ = true;
    p->input_step = s.scale;
  } else if (zp != engine_zp) {
    Drop(pair, "zero point " + std::to_string(s.zero_point) + " where the engine's grid has " +
                   (engine_zp ? "128 (signed inputs)" : "0 (non-negative inputs)") +
                   ": the step is left to calibration");
  } else {
    p->input_step = s.scale;
  }
}

// QDQ weights: the file's scales as the layer's steps, when their axis is the channel axis.
Status Importer::WeightSteps(const Value& w, int64_t channel_axis, LayerParams* p,
                             const std::string& label) {
  if (!w.codes) return OkStatus();
  if (w.scale_axis >= 0 && w.scale_axis != channel_axis) {
    return Unimplemented(label + ": weight scales along axis " + std::to_string(w.scale_axis) +
                         " (the engine's steps are per output channel)");
  }
  p->steps = w.scales;
  qdq_weights_++;
  return OkStatus();
}

}  // namespace qf::onnx::internal
