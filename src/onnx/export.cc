// ONNX export: walks a model's layers once, appending nodes and initializers to a graph
// record. Not an optimizer: one layer becomes the few nodes export.h lists, in order.
#include "onnx/export.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "nn/activations.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/depthwise_conv2d.h"
#include "nn/padding.h"
#include "nn/pooling.h"
#include "nn/residual.h"
#include "quant/weight_grid.h"

namespace qf::onnx {
namespace {

constexpr size_t kAlign = 8;
constexpr int64_t kOnnxFloat = 1;  // TensorProto.DataType FLOAT, Cast's "to"

Json Ints(std::initializer_list<int64_t> values) {
  Json a = Json::MakeArray();
  for (int64_t v : values) a.Push(Json::Number(double(v)));
  return a;
}
Json IntsAttr(std::initializer_list<int64_t> values) {
  Json o = Json::MakeObject();
  o.Set("ints", Ints(values));
  return o;
}
Json IntAttr(int64_t v) {
  Json o = Json::MakeObject();
  o.Set("i", Json::Number(double(v)));
  return o;
}
Json FloatAttr(float v) {
  Json o = Json::MakeObject();
  o.Set("f", Json::Number(double(v)));
  return o;
}

// A value of the graph: its name and the engine's per-sample shape of it (channels last;
// a rank-3 value is NCHW in the graph when Exporter::nchw_).
struct Value {
  std::string name;
  Shape shape;
};

// Whether a layer (or one inside it) needs images in NCHW.
bool HasSpatialLayer(const nn::Layer& layer) {
  if (const auto* seq = dynamic_cast<const nn::Sequential*>(&layer)) {
    for (size_t i = 0; i < seq->size(); i++) {
      if (HasSpatialLayer(seq->layer(i))) return true;
    }
    return false;
  }
  if (const auto* res = dynamic_cast<const nn::Residual*>(&layer)) {
    return HasSpatialLayer(res->body()) || HasSpatialLayer(res->shortcut());
  }
  return dynamic_cast<const nn::Conv2D*>(&layer) ||
         dynamic_cast<const nn::DepthwiseConv2D*>(&layer) ||
         dynamic_cast<const nn::Pool2D*>(&layer) || dynamic_cast<const nn::GlobalAvgPool*>(&layer);
}

bool HasQuantizedLayer(nn::Layer& layer) {
  if (auto* seq = dynamic_cast<nn::Sequential*>(&layer)) {
    for (size_t i = 0; i < seq->size(); i++) {
      if (HasQuantizedLayer(seq->layer(i))) return true;
    }
    return false;
  }
  if (auto* res = dynamic_cast<nn::Residual*>(&layer)) {
    return HasQuantizedLayer(res->body()) || HasQuantizedLayer(res->shortcut());
  }
  if (auto* d = dynamic_cast<nn::Dense*>(&layer)) return d->quant().quantized();
  if (auto* c = dynamic_cast<nn::Conv2D*>(&layer)) return c->quant().quantized();
  if (auto* w = dynamic_cast<nn::DepthwiseConv2D*>(&layer)) return w->quant().quantized();
  return false;
}

std::string Child(const std::string& prefix, const std::string& part) {
  return prefix.empty() ? part : prefix + "." + part;
}

// A weighted layer's weights as the exporter sees them: [rows, channels] floats (rows =
// KH*KW*Cin or taps or inputs, channels innermost), quantized or not.
struct Weights {
  std::string prefix;
  const Tensor* weight;
  const Tensor* bias;
  const nn::QuantConfig* quant;
  nn::WeightQuantizer* wq;  // quantized only
  nn::InputQuantizer* iq;   // quantized only
};

class Exporter {
 public:
  Exporter(nn::Model& model, ExportFormat format) : model_(model), qdq_(format == ExportFormat::kQdq) {}

  StatusOr<ExportedGraph> Run();

 private:
  // ---- the record ----
  void AddTensor(const std::string& name, const char* type, const std::vector<size_t>& dims,
                 const void* bytes, size_t length);
  Status AddFloats(const std::string& name, const std::vector<size_t>& dims, const float* values,
                   size_t n);
  void AddScalarFloat(const std::string& name, float v) { (void)AddFloats(name, {}, &v, 1); }
  void AddNode(const std::string& op, const std::string& name, std::vector<std::string> inputs,
               std::vector<std::string> outputs, Json attrs = Json::MakeObject());

  // ---- layers ----
  StatusOr<Value> Input();
  StatusOr<Value> Layer(nn::Layer& layer, const std::string& prefix, const Value& in);
  StatusOr<Value> Chain(nn::Sequential& seq, const std::string& prefix, const Value& in);
  // `in` as [N, F] in the engine's feature order; the Flatten's output is `out`.
  Value FlattenTo2d(const Value& in, const std::string& prefix, const std::string& out);
  // The input a weighted layer's op reads: `in`, or its QuantizeLinear -> DequantizeLinear.
  StatusOr<std::string> LayerInput(const Weights& w, const Value& in);
  // The weight tensor name the op reads; `layout` maps (row, channel) of the engine's
  // [rows, channels] to the exported tensor's flat index. dims: the exported dims;
  // axis: the channel axis there.
  template <typename Layout>
  StatusOr<std::string> LayerWeights(const Weights& w, const std::vector<size_t>& dims,
                                     int64_t axis, Layout layout);

  nn::Model& model_;
  bool qdq_;
  bool nchw_ = false;  // rank-3 values are NCHW in the graph
  Json tensors_ = Json::MakeArray(), nodes_ = Json::MakeArray();
  std::vector<uint8_t> payload_;
};

void Exporter::AddTensor(const std::string& name, const char* type,
                         const std::vector<size_t>& dims, const void* bytes, size_t length) {
  payload_.resize((payload_.size() + kAlign - 1) / kAlign * kAlign, 0);
  const size_t offset = payload_.size();
  payload_.resize(offset + length);
  if (length) std::memcpy(payload_.data() + offset, bytes, length);
  Json t = Json::MakeObject();
  t.Set("name", Json::String(name));
  t.Set("type", Json::String(type));
  Json d = Json::MakeArray();
  for (size_t v : dims) d.Push(Json::Number(double(v)));
  t.Set("dims", std::move(d));
  t.Set("initializer", Json::Bool(true));
  t.Set("offset", Json::Number(double(offset)));
  t.Set("length", Json::Number(double(length)));
  t.Set("external", Json::Bool(false));
  tensors_.Push(std::move(t));
}

// Floats as little-endian bytes (the host's order on every target qforget builds for:
// x86, arm64 and wasm are little-endian).
Status Exporter::AddFloats(const std::string& name, const std::vector<size_t>& dims,
                           const float* values, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!std::isfinite(values[i])) {
      return FailedPrecondition("onnx export: " + name + "[" + std::to_string(i) + "] is " +
                                std::to_string(values[i]) + ": the model holds a non-finite value");
    }
  }
  static_assert(sizeof(float) == 4, "float32");
  AddTensor(name, "FLOAT", dims, values, 4 * n);
  return OkStatus();
}

void Exporter::AddNode(const std::string& op, const std::string& name,
                       std::vector<std::string> inputs, std::vector<std::string> outputs,
                       Json attrs) {
  Json n = Json::MakeObject();
  n.Set("name", Json::String(name));
  n.Set("op", Json::String(op));
  n.Set("domain", Json::String(""));
  Json in = Json::MakeArray(), out = Json::MakeArray();
  for (std::string& s : inputs) in.Push(Json::String(std::move(s)));
  for (std::string& s : outputs) out.Push(Json::String(std::move(s)));
  n.Set("inputs", std::move(in));
  n.Set("outputs", std::move(out));
  n.Set("attrs", std::move(attrs));
  nodes_.Push(std::move(n));
}

// ---- input and preprocessing ----------------------------------------------------------

StatusOr<Value> Exporter::Input() {
  const nn::ModelSpec& spec = model_.spec();
  const bool nchw_input =
      spec.input_layout == nn::InputLayout::kNCHW && spec.input.rank() == 3;
  Shape engine_shape = spec.input;  // the network's per-sample shape, channels last
  if (nchw_input) {
    engine_shape = Shape{spec.input[1], spec.input[2], spec.input[0]};
  }
  nchw_ = engine_shape.rank() == 3 && (nchw_input || HasSpatialLayer(model_.net()));
  Value v{"input", engine_shape};
  if (spec.input_type == DType::kUint8) {
    Json a = Json::MakeObject();
    a.Set("to", IntAttr(kOnnxFloat));
    AddNode("Cast", "preprocess.cast", {v.name}, {"preprocess.cast_output"}, std::move(a));
    v.name = "preprocess.cast_output";
  }
  // The engine computes (x * scale - mean[c]) / std[c] in float: the same three
  // operations, each rounded to float, give the same value.
  auto per_channel = [&](const std::vector<double>& values) {
    std::vector<float> out;
    for (double d : values) out.push_back(float(d));
    return out;
  };
  auto dims_of = [&](size_t n) -> std::vector<size_t> {
    if (nchw_input && n > 1) return {n, 1, 1};
    return {n};
  };
  const float scale = float(spec.input_scale);
  if (scale != 1.0f) {
    AddScalarFloat("preprocess.scale", scale);
    AddNode("Mul", "preprocess.mul", {v.name, "preprocess.scale"}, {"preprocess.scaled"});
    v.name = "preprocess.scaled";
  }
  const std::vector<float> mean = per_channel(spec.input_mean), std = per_channel(spec.input_std);
  auto all = [](const std::vector<float>& xs, float x) {
    for (float y : xs) {
      if (y != x) return false;
    }
    return true;
  };
  if (!all(mean, 0.0f)) {
    QF_RETURN_IF_ERROR(AddFloats("preprocess.mean", dims_of(mean.size()), mean.data(), mean.size()));
    AddNode("Sub", "preprocess.sub", {v.name, "preprocess.mean"}, {"preprocess.centered"});
    v.name = "preprocess.centered";
  }
  if (!all(std, 1.0f)) {
    QF_RETURN_IF_ERROR(AddFloats("preprocess.std", dims_of(std.size()), std.data(), std.size()));
    AddNode("Div", "preprocess.div", {v.name, "preprocess.std"}, {"preprocess.output"});
    v.name = "preprocess.output";
  }
  if (nchw_ && !nchw_input) {
    Json a = Json::MakeObject();
    a.Set("perm", IntsAttr({0, 3, 1, 2}));
    AddNode("Transpose", "input.to_nchw", {v.name}, {"input.nchw"}, std::move(a));
    v.name = "input.nchw";
  }
  return v;
}

// ---- weighted layers --------------------------------------------------------------------

StatusOr<std::string> Exporter::LayerInput(const Weights& w, const Value& in) {
  if (!qdq_ || !w.quant->quantized()) return in.name;
  const nn::InputQuantizer& iq = *w.iq;
  if (!iq.initialized()) {
    return FailedPrecondition(
        "onnx export: " + w.prefix +
        ".input_step was never set (the model has not been trained): train the model, or "
        "export with format 'float'");
  }
  const std::string step = w.prefix + ".input_step", zp = w.prefix + ".input_zero_point";
  const float step_value = iq.step();
  QF_RETURN_IF_ERROR(AddFloats(step, {}, &step_value, 1));
  const uint8_t zero_point = iq.zero_point();
  AddTensor(zp, "UINT8", {}, &zero_point, 1);
  std::string input = in.name;
  if (iq.bits() != 8) {
    // Fewer codes than uint8 has: clip to the outermost ones first. They are grid points,
    // so clipping then rounding is rounding then clamping, as the engine does.
    const quant::QRange r = iq.range();
    const float lo = float(r.qn) * step_value, hi = float(r.qp) * step_value;
    QF_RETURN_IF_ERROR(AddFloats(w.prefix + ".input_min", {}, &lo, 1));
    QF_RETURN_IF_ERROR(AddFloats(w.prefix + ".input_max", {}, &hi, 1));
    AddNode("Clip", w.prefix + ".input_clip",
            {input, w.prefix + ".input_min", w.prefix + ".input_max"}, {w.prefix + ".input_clipped"});
    input = w.prefix + ".input_clipped";
  }
  AddNode("QuantizeLinear", w.prefix + ".input_quantize", {input, step, zp},
          {w.prefix + ".input_codes"});
  AddNode("DequantizeLinear", w.prefix + ".input_dequantize", {w.prefix + ".input_codes", step, zp},
          {w.prefix + ".input"});
  return w.prefix + ".input";
}

template <typename Layout>
StatusOr<std::string> Exporter::LayerWeights(const Weights& w, const std::vector<size_t>& dims,
                                             int64_t axis, Layout layout) {
  const size_t rows = w.weight->shape()[0], channels = w.weight->shape()[1];
  const std::string name = w.prefix + ".weight";
  std::vector<float> values(rows * channels);
  if (!w.quant->quantized()) {
    for (size_t r = 0; r < rows; r++) {
      for (size_t c = 0; c < channels; c++) values[layout(r, c)] = (*w.weight)[r * channels + c];
    }
    QF_RETURN_IF_ERROR(AddFloats(name, dims, values.data(), values.size()));
    return name;
  }
  // What the layer's forward multiplies: its grid's int8 table values of the codes, with
  // the fine steps (quant/weight_grid.h).
  std::vector<nn::Param*> params;
  w.wq->CollectParams(&params);
  for (const nn::Param* p : params) {
    for (float v : p->value.values()) {
      if (!std::isfinite(v)) {
        return FailedPrecondition("onnx export: " + p->name + " holds a non-finite value");
      }
    }
  }
  const quant::WeightGrid grid = w.wq->grid();
  quant::GridTable table;
  quant::BuildTable(grid, &table);
  const std::vector<float>& steps = table.steps;
  std::vector<int8_t> codes(rows * channels);
  quant::QuantizeToGrid(grid, table, w.weight->data(), codes.data());
  if (!qdq_) {  // the grid weights, in float
    std::vector<float> weights(rows * channels);
    quant::DequantizeGrid(grid, table, codes.data(), weights.data());
    for (size_t r = 0; r < rows; r++) {
      for (size_t c = 0; c < channels; c++) values[layout(r, c)] = weights[r * channels + c];
    }
    QF_RETURN_IF_ERROR(AddFloats(name, dims, values.data(), values.size()));
    return name;
  }
  quant::DeployCodes(grid, table, codes.data(), codes.data());
  std::vector<int8_t> exported(rows * channels);
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < channels; c++) exported[layout(r, c)] = codes[r * channels + c];
  }
  const std::string codes_name = w.prefix + ".weight_codes";
  const std::string step_name = w.prefix + ".weight_step";
  const std::string zp_name = w.prefix + ".weight_zero_point";
  AddTensor(codes_name, "INT8", dims, exported.data(), exported.size());
  const std::vector<size_t> step_dims =
      grid.per_channel ? std::vector<size_t>{channels} : std::vector<size_t>{};
  QF_RETURN_IF_ERROR(AddFloats(step_name, step_dims, steps.data(), steps.size()));
  const std::vector<int8_t> zeros(steps.size(), 0);
  AddTensor(zp_name, "INT8", step_dims, zeros.data(), zeros.size());
  Json a = Json::MakeObject();
  if (grid.per_channel) a.Set("axis", IntAttr(axis));
  AddNode("DequantizeLinear", w.prefix + ".weight_dequantize", {codes_name, step_name, zp_name},
          {name}, std::move(a));
  return name;
}

Value Exporter::FlattenTo2d(const Value& in, const std::string& prefix, const std::string& out) {
  Value v = in;
  if (in.shape.rank() == 1) return v;
  if (in.shape.rank() == 3 && nchw_) {  // back to the engine's H, W, C order
    Json a = Json::MakeObject();
    a.Set("perm", IntsAttr({0, 2, 3, 1}));
    AddNode("Transpose", prefix + ".to_nhwc", {v.name}, {prefix + ".nhwc"}, std::move(a));
    v.name = prefix + ".nhwc";
  }
  Json a = Json::MakeObject();
  a.Set("axis", IntAttr(1));
  AddNode("Flatten", prefix + ".flatten", {v.name}, {out}, std::move(a));
  v.name = out;
  v.shape = Shape{in.shape.size()};
  return v;
}

std::vector<int64_t> PadsOf(size_t top, size_t left, size_t bottom, size_t right) {
  return {int64_t(top), int64_t(left), int64_t(bottom), int64_t(right)};
}

Json IntsJson(const std::vector<int64_t>& values) {
  Json o = Json::MakeObject();
  Json a = Json::MakeArray();
  for (int64_t v : values) a.Push(Json::Number(double(v)));
  o.Set("ints", std::move(a));
  return o;
}

// Conv attributes for a window kh x kw, strides and pads.
Json ConvAttrs(size_t kh, size_t kw, size_t sh, size_t sw, const std::vector<int64_t>& pads,
               size_t group) {
  Json a = Json::MakeObject();
  a.Set("kernel_shape", IntsJson({int64_t(kh), int64_t(kw)}));
  a.Set("strides", IntsJson({int64_t(sh), int64_t(sw)}));
  a.Set("pads", IntsJson(pads));
  a.Set("dilations", IntsJson({1, 1}));
  a.Set("group", IntAttr(int64_t(group)));
  return a;
}

// ---- the walk ------------------------------------------------------------------------------

StatusOr<Value> Exporter::Chain(nn::Sequential& seq, const std::string& prefix, const Value& in) {
  Value v = in;
  for (size_t i = 0; i < seq.size(); i++) {
    QF_ASSIGN_OR_RETURN(v, Layer(seq.layer(i), Child(prefix, std::to_string(i)), v));
  }
  return v;
}

StatusOr<Value> Exporter::Layer(nn::Layer& layer, const std::string& prefix, const Value& in) {
  const std::string out = prefix + ".output";
  if (auto* seq = dynamic_cast<nn::Sequential*>(&layer)) return Chain(*seq, prefix, in);

  if (auto* res = dynamic_cast<nn::Residual*>(&layer)) {
    QF_ASSIGN_OR_RETURN(const Value body, Chain(res->body(), Child(prefix, "body"), in));
    Value shortcut = in;
    if (!res->identity_shortcut()) {
      QF_ASSIGN_OR_RETURN(shortcut, Chain(res->shortcut(), Child(prefix, "shortcut"), in));
    }
    AddNode("Add", prefix + ".add", {body.name, shortcut.name}, {out});
    return Value{out, body.shape};
  }

  if (auto* dense = dynamic_cast<nn::Dense*>(&layer)) {
    nn::LinearCore& core = dense->core();
    const Weights w{prefix, &core.weight().value, &core.bias().value, &dense->quant(),
                    &core.weight_quantizer(), &core.input_quantizer()};
    const Value flat = FlattenTo2d(in, prefix, prefix + ".flat");
    const size_t inputs = flat.shape[0], units = dense->units();
    QF_ASSIGN_OR_RETURN(const std::string x, LayerInput(w, flat));
    QF_ASSIGN_OR_RETURN(
        const std::string weight,
        LayerWeights(w, {inputs, units}, 1, [&](size_t r, size_t c) { return r * units + c; }));
    QF_RETURN_IF_ERROR(AddFloats(prefix + ".bias", {units}, w.bias->data(), units));
    Json a = Json::MakeObject();
    a.Set("transB", IntAttr(0));
    AddNode("Gemm", prefix + ".gemm", {x, weight, prefix + ".bias"}, {out}, std::move(a));
    return Value{out, Shape{units}};
  }

  if (auto* conv = dynamic_cast<nn::Conv2D*>(&layer)) {
    nn::LinearCore& core = conv->core();
    const kernels::Conv2DShape& g = core.geometry();
    const Weights w{prefix, &core.weight().value, &core.bias().value, &conv->quant(),
                    &core.weight_quantizer(), &core.input_quantizer()};
    QF_ASSIGN_OR_RETURN(const std::string x, LayerInput(w, in));
    // Engine row r = (ky * KW + kx) * Cin + ci, channel co -> OIHW [co][ci][ky][kx].
    const size_t kh = g.kh, kw = g.kw, cin = g.cin, cout = g.cout;
    QF_ASSIGN_OR_RETURN(const std::string weight,
                        LayerWeights(w, {cout, cin, kh, kw}, 0, [&](size_t r, size_t co) {
                          const size_t ci = r % cin, tap = r / cin;
                          return ((co * cin + ci) * kh + tap / kw) * kw + tap % kw;
                        }));
    QF_RETURN_IF_ERROR(AddFloats(prefix + ".bias", {cout}, w.bias->data(), cout));
    AddNode("Conv", prefix + ".conv", {x, weight, prefix + ".bias"}, {out},
            ConvAttrs(kh, kw, g.stride_h, g.stride_w,
                      PadsOf(g.pad_top, g.pad_left, g.pad_bottom, g.pad_right), 1));
    return Value{out, Shape{g.out_h(), g.out_w(), cout}};
  }

  if (auto* dw = dynamic_cast<nn::DepthwiseConv2D*>(&layer)) {
    const nn::DepthwiseOptions& o = dw->options();
    const size_t in_h = in.shape[0], in_w = in.shape[1], c = in.shape[2];
    const nn::Pads p =
        nn::ResolvePadding(o.padding, in_h, in_w, o.kh, o.kw, o.stride_h, o.stride_w);
    const Weights w{prefix, &dw->weight().value, &dw->bias().value, &dw->quant(),
                    &dw->weight_quantizer(), &dw->input_quantizer()};
    QF_ASSIGN_OR_RETURN(const std::string x, LayerInput(w, in));
    // Engine [KH*KW, C] -> [C, 1, KH, KW]: row = tap.
    const size_t taps = o.kh * o.kw;
    QF_ASSIGN_OR_RETURN(
        const std::string weight,
        LayerWeights(w, {c, 1, o.kh, o.kw}, 0, [&](size_t r, size_t ch) { return ch * taps + r; }));
    QF_RETURN_IF_ERROR(AddFloats(prefix + ".bias", {c}, w.bias->data(), c));
    AddNode("Conv", prefix + ".conv", {x, weight, prefix + ".bias"}, {out},
            ConvAttrs(o.kh, o.kw, o.stride_h, o.stride_w, PadsOf(p.top, p.left, p.bottom, p.right),
                      c));
    const size_t oh = kernels::ConvOutputExtent(in_h, o.kh, o.stride_h, p.top, p.bottom);
    const size_t ow = kernels::ConvOutputExtent(in_w, o.kw, o.stride_w, p.left, p.right);
    return Value{out, Shape{oh, ow, c}};
  }

  if (auto* bn = dynamic_cast<nn::BatchNorm*>(&layer)) {
    const size_t c = bn->channels();
    const bool channel_axis_1 = in.shape.rank() == 1 || (in.shape.rank() == 3 && nchw_);
    if (channel_axis_1) {
      QF_RETURN_IF_ERROR(AddFloats(prefix + ".gamma", {c}, bn->gamma().value.data(), c));
      QF_RETURN_IF_ERROR(AddFloats(prefix + ".beta", {c}, bn->beta().value.data(), c));
      QF_RETURN_IF_ERROR(AddFloats(prefix + ".running_mean", {c}, bn->running_mean().data(), c));
      QF_RETURN_IF_ERROR(AddFloats(prefix + ".running_var", {c}, bn->running_var().data(), c));
      Json a = Json::MakeObject();
      a.Set("epsilon", FloatAttr(bn->eps()));
      AddNode("BatchNormalization", prefix + ".batch_norm",
              {in.name, prefix + ".gamma", prefix + ".beta", prefix + ".running_mean",
               prefix + ".running_var"},
              {out}, std::move(a));
      return Value{out, in.shape};
    }
    // Channels last at another rank: the folded affine broadcasts over the last axis.
    std::vector<float> scale, shift;
    bn->FoldedAffine(&scale, &shift);
    QF_RETURN_IF_ERROR(AddFloats(prefix + ".scale", {c}, scale.data(), c));
    QF_RETURN_IF_ERROR(AddFloats(prefix + ".shift", {c}, shift.data(), c));
    AddNode("Mul", prefix + ".mul", {in.name, prefix + ".scale"}, {prefix + ".scaled"});
    AddNode("Add", prefix + ".add", {prefix + ".scaled", prefix + ".shift"}, {out});
    return Value{out, in.shape};
  }

  if (auto* relu = dynamic_cast<nn::Relu*>(&layer)) {
    if (std::isinf(relu->cap())) {
      AddNode("Relu", prefix + ".relu", {in.name}, {out});
    } else {
      AddScalarFloat(prefix + ".min", 0.0f);
      AddScalarFloat(prefix + ".max", relu->cap());
      AddNode("Clip", prefix + ".clip", {in.name, prefix + ".min", prefix + ".max"}, {out});
    }
    return Value{out, in.shape};
  }

  if (dynamic_cast<nn::Flatten*>(&layer)) {
    Value v = FlattenTo2d(in, prefix, out);
    if (v.name == in.name) {  // already [N, F]: keep a node so the layer has its output
      AddNode("Identity", prefix + ".identity", {in.name}, {out});
      v.name = out;
    }
    return v;
  }

  if (auto* pool = dynamic_cast<nn::Pool2D*>(&layer)) {
    const nn::Pool2DOptions& o = pool->options();
    const bool max = dynamic_cast<nn::MaxPool2D*>(&layer) != nullptr;
    Json a = Json::MakeObject();
    a.Set("kernel_shape", IntsJson({int64_t(o.kh), int64_t(o.kw)}));
    a.Set("strides", IntsJson({int64_t(o.stride_h), int64_t(o.stride_w)}));
    a.Set("pads", IntsJson(PadsOf(pool->pad_top(), pool->pad_left(), pool->pad_bottom(),
                                  pool->pad_right())));
    if (!max) a.Set("count_include_pad", IntAttr(0));
    AddNode(max ? "MaxPool" : "AveragePool", prefix + (max ? ".max_pool" : ".avg_pool"),
            {in.name}, {out}, std::move(a));
    const size_t oh = (in.shape[0] + pool->pad_top() + pool->pad_bottom() - o.kh) / o.stride_h + 1;
    const size_t ow = (in.shape[1] + pool->pad_left() + pool->pad_right() - o.kw) / o.stride_w + 1;
    return Value{out, Shape{oh, ow, in.shape[2]}};
  }

  if (dynamic_cast<nn::GlobalAvgPool*>(&layer)) {
    AddNode("GlobalAveragePool", prefix + ".global_avg_pool", {in.name}, {prefix + ".pooled"});
    Json a = Json::MakeObject();
    a.Set("axis", IntAttr(1));
    AddNode("Flatten", prefix + ".flatten", {prefix + ".pooled"}, {out}, std::move(a));
    return Value{out, Shape{in.shape[2]}};
  }

  return Unimplemented("onnx export: " + prefix + ": layer type '" + layer.type() +
                       "' has no ONNX form in this exporter");
}

StatusOr<ExportedGraph> Exporter::Run() {
  const nn::ModelSpec& spec = model_.spec();
  QF_ASSIGN_OR_RETURN(const Value input, Input());
  QF_ASSIGN_OR_RETURN(Value last, Chain(model_.net(), "", input));
  if (last.name == "input") {
    AddNode("Identity", "output.identity", {last.name}, {"logits"});
  } else {
    // The last value becomes "logits", wherever it is named (a residual's output may
    // also feed nothing else, but rename every use to be safe).
    Json renamed = Json::MakeArray();
    for (const Json& node : nodes_.AsArray()) {
      Json n = Json::MakeObject();
      for (const Json::Member& m : node.AsObject()) {
        if (m.first == "inputs" || m.first == "outputs") {
          Json names = Json::MakeArray();
          for (const Json& s : m.second.AsArray()) {
            names.Push(Json::String(s.AsString() == last.name ? "logits" : s.AsString()));
          }
          n.Set(m.first, std::move(names));
        } else {
          n.Set(m.first, m.second);
        }
      }
      renamed.Push(std::move(n));
    }
    nodes_ = std::move(renamed);
  }

  auto value_info = [](const std::string& name, const char* type, Json shape) {
    Json v = Json::MakeObject();
    v.Set("name", Json::String(name));
    v.Set("type", Json::String(type));
    v.Set("shape", std::move(shape));
    return v;
  };
  Json in_shape = Json::MakeArray();
  in_shape.Push(Json::String("batch"));
  for (size_t d : spec.input.dims()) in_shape.Push(Json::Number(double(d)));
  Json out_shape = Json::MakeArray();
  out_shape.Push(Json::String("batch"));
  out_shape.Push(Json::Number(double(spec.classes)));

  Json record = Json::MakeObject();
  record.Set("irVersion", Json::Number(kExportIrVersion));
  Json opsets = Json::MakeObject();
  opsets.Set("", Json::Number(kExportOpset));
  record.Set("opsets", std::move(opsets));
  record.Set("producer", Json::String(std::string("qforget ") + QF_VERSION));
  record.Set("graphName", Json::String(spec.arch));
  Json inputs = Json::MakeArray(), outputs = Json::MakeArray();
  inputs.Push(value_info("input", spec.input_type == DType::kUint8 ? "UINT8" : "FLOAT",
                         std::move(in_shape)));
  outputs.Push(value_info("logits", "FLOAT", std::move(out_shape)));
  record.Set("inputs", std::move(inputs));
  record.Set("outputs", std::move(outputs));
  record.Set("tensors", std::move(tensors_));
  record.Set("nodes", std::move(nodes_));
  payload_.resize((payload_.size() + kAlign - 1) / kAlign * kAlign, 0);
  return ExportedGraph{record.Dump(), std::move(payload_)};
}

}  // namespace

StatusOr<ExportOptions> ExportOptionsFromJson(const Json& options) {
  if (!options.is_object()) {
    return InvalidArgument(std::string("options: expected an object, found ") +
                           JsonTypeName(options.type()));
  }
  ExportOptions out;
  for (const Json::Member& m : options.AsObject()) {
    if (m.first != "format") {
      return InvalidArgument("options." + m.first + ": unknown key (exportOnnx takes format)");
    }
  }
  if (const Json* f = options.Find("format")) {
    const std::string s = f->is_string() ? f->AsString() : "";
    if (s == "qdq") {
      out.format = ExportFormat::kQdq;
    } else if (s == "float") {
      out.format = ExportFormat::kFloat;
    } else {
      return InvalidArgument("options.format: expected 'qdq' or 'float', got " + f->Dump());
    }
  }
  return out;
}

StatusOr<ExportedGraph> ExportOnnx(nn::Model& model, const ExportOptions& options) {
  const ExportFormat format = options.format.value_or(
      HasQuantizedLayer(model.net()) ? ExportFormat::kQdq : ExportFormat::kFloat);
  Exporter exporter(model, format);
  return exporter.Run();
}

}  // namespace qf::onnx
