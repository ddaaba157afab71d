// The importer: graph checks, then one pass over the nodes in topological order through a
// table of op handlers, each turning a node into layer-list drafts (with the weights in
// the engine's layout), then the drafts lowered into a layer list, the model built and its
// state written. Not the record reader (onnx/graph.cc) and not the folding (onnx/fold.cc).
#include "onnx/import.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "nn/layer_list.h"
#include "nn/model_json.h"
#include "onnx/fold.h"
#include "quant/lsq.h"

namespace qf::onnx {
namespace {

constexpr int64_t kMinOpset = 7, kMaxOpset = 21;

// The float parameters of one converted layer, in the engine's layout.
struct LayerParams {
  enum class Kind { kLinear, kBatchNorm } kind = Kind::kLinear;
  std::string node;
  std::vector<float> weight, bias;  // linear: [rows, cols] (cols innermost), [cols]
  std::vector<float> gamma, beta, mean, var;
  std::vector<float> steps;  // QDQ weight scales ([cols] or [1]); empty: LSQ init
  float input_step = 0;      // > 0: a calibrated input step (QDQ)
};

// A layer of the list being drafted; residuals hold their branches.
struct Draft {
  Json layer;
  int params = -1;  // index into Importer::params_
  std::string node;
  std::vector<Draft> body, shortcut;
};
using Chain = std::vector<Draft>;

// Features flattened from ONNX [C, H, W]: the engine holds them in HWC order.
struct Chw {
  int64_t c, h, w;
  // The engine position of ONNX feature r.
  size_t Engine(size_t r) const {
    const size_t hw = size_t(h * w);
    return (r % hw) * size_t(c) + r / hw;
  }
};

// An activation quantized by a QuantizeLinear -> DequantizeLinear pair.
struct PendingStep {
  float scale = 0;
  int64_t zero_point = 0;
  bool int8 = false;  // the pair's integer type was INT8 (else UINT8)
  std::string node;
};

// What a tensor is at import: a constant, or an activation with its chain of layers from
// `origin` (the graph input or a fork) and its ONNX shape (dim 0 the batch).
struct Value {
  std::shared_ptr<const Constant> constant;
  std::vector<int64_t> shape;
  bool collapsed = false;      // ONNX [N, C, 1, 1] that the engine holds as [C]
  std::optional<Chw> chw;      // flattened features awaiting their dense layer
  bool non_negative = false;   // every value >= 0 (after Relu, as the engine infers it)
  bool network_input = false;  // still the input values (input, flatten, max pool)
  std::string origin;
  Chain chain;
  int params = -1;  // this tensor is the direct output of that linear layer
  std::optional<PendingStep> step;
  // QDQ weights: the codes and scales a DequantizeLinear constant came from.
  const TensorView* codes = nullptr;
  std::vector<float> scales;
  int64_t scale_axis = -1;  // -1: one scale
};

std::string Shown(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) {
    s += (i ? ", " : "") + (v[i] == kBatchMarker ? std::string("N") : std::to_string(v[i]));
  }
  return s + "]";
}

Json Ints(std::initializer_list<int64_t> v) {
  Json a = Json::MakeArray();
  for (int64_t x : v) a.Push(Json::Number(double(x)));
  return a;
}

Json Layer(const char* type) {
  Json j = Json::MakeObject();
  j.Set("type", Json::String(type));
  return j;
}

class Importer;
using Handler = Status (Importer::*)(const Node&, const std::string& label);
struct OpRule {
  const char* op;
  Handler handle;
  std::vector<const char*> attrs;  // the attributes the handler understands
};

class Importer {
 public:
  Importer(const Graph& graph, const Json& options) : g_(graph), options_(options) {}
  StatusOr<ImportResult> Run();

  // ---- op handlers (table in Rules()) ----
  Status Conv(const Node& n, const std::string& label);
  Status Gemm(const Node& n, const std::string& label);
  Status MatMul(const Node& n, const std::string& label);
  Status Add(const Node& n, const std::string& label);
  Status BatchNormalization(const Node& n, const std::string& label);
  Status Relu(const Node& n, const std::string& label);
  Status Clip(const Node& n, const std::string& label);
  Status Pool(const Node& n, const std::string& label);
  Status GlobalAveragePool(const Node& n, const std::string& label);
  Status Flatten(const Node& n, const std::string& label);
  Status Reshape(const Node& n, const std::string& label);
  Status PassThrough(const Node& n, const std::string& label);  // Identity, Dropout
  Status Softmax(const Node& n, const std::string& label);
  Status Transpose(const Node& n, const std::string& label);
  Status Shape(const Node& n, const std::string& label);
  Status Fold(const Node& n, const std::string& label);
  Status QuantizeLinear(const Node& n, const std::string& label);
  Status DequantizeLinear(const Node& n, const std::string& label);

 private:
  static const std::vector<OpRule>& Rules();

  Status ReadOptions();
  Status CheckGraph();
  StatusOr<std::vector<size_t>> Order();
  Status SetUpInput(const std::vector<size_t>& order);
  StatusOr<ImportResult> Build();

  // Inputs of a node.
  StatusOr<const Value*> Activation(const Node& n, size_t i, const std::string& label);
  StatusOr<const Value*> ConstantInput(const Node& n, size_t i, const std::string& label,
                                       bool optional = false);
  StatusOr<std::vector<float>> Floats(const Value& v, const std::string& what,
                                      const std::string& label);
  // The value a layer node continues from its input `name` (see the .cc comment).
  Value Continue(const std::string& name);
  void Emit(Value* v, Json layer, int params, const std::string& node);
  Status SetOutput(const Node& n, Value v);
  void Drop(const Node& n, const std::string& why);
  int AddParams(LayerParams p) {
    params_.push_back(std::move(p));
    return int(params_.size()) - 1;
  }
  void TakeInputStep(Value* in, LayerParams* p);
  Status WeightSteps(const Value& w, int64_t channel_axis, LayerParams* p,
                     const std::string& label);

  const Graph& g_;
  const Json& options_;
  int64_t opset_ = 0;
  // options
  int weight_bits_ = 32;
  bool bits_given_ = false;
  std::string layout_option_, output_;
  // graph
  std::string input_name_, logits_name_;
  bool nhwc_input_ = false;  // a Transpose [0,3,1,2] follows the input
  int64_t static_batch_ = -1;
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_map<std::string, const TensorView*> initializers_;
  std::unordered_map<std::string, int> consumers_;
  std::unordered_map<std::string, Value> values_;
  std::vector<LayerParams> params_;
  Json folded_ = Json::MakeArray(), dropped_ = Json::MakeArray();
  size_t qdq_weights_ = 0, qdq_steps_ = 0;
};

const std::vector<OpRule>& Importer::Rules() {
  static const std::vector<OpRule> rules = {
      {"Conv",
       &Importer::Conv,
       {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}},
      {"Gemm", &Importer::Gemm, {"alpha", "beta", "transA", "transB"}},
      {"MatMul", &Importer::MatMul, {}},
      {"Add", &Importer::Add, {}},
      {"Sum", &Importer::Add, {}},
      {"BatchNormalization",
       &Importer::BatchNormalization,
       {"epsilon", "momentum", "spatial", "training_mode"}},
      {"Relu", &Importer::Relu, {}},
      {"Clip", &Importer::Clip, {"min", "max"}},
      {"MaxPool",
       &Importer::Pool,
       {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}},
      {"AveragePool",
       &Importer::Pool,
       {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads",
        "strides"}},
      {"GlobalAveragePool", &Importer::GlobalAveragePool, {}},
      {"Flatten", &Importer::Flatten, {"axis"}},
      {"Reshape", &Importer::Reshape, {"allowzero"}},
      {"Identity", &Importer::PassThrough, {}},
      {"Dropout", &Importer::PassThrough, {"ratio", "seed", "is_test"}},
      {"Softmax", &Importer::Softmax, {"axis"}},
      {"LogSoftmax", &Importer::Softmax, {"axis"}},
      {"Transpose", &Importer::Transpose, {"perm"}},
      {"Shape", &Importer::Shape, {"start", "end"}},
      {"Constant",
       &Importer::Fold,
       {"value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
        "value_strings", "sparse_value"}},
      {"ConstantOfShape", &Importer::Fold, {"value"}},
      {"Gather", &Importer::Fold, {"axis"}},
      {"Unsqueeze", &Importer::Fold, {"axes"}},
      {"Squeeze", &Importer::Fold, {"axes"}},
      {"Concat", &Importer::Fold, {"axis"}},
      {"Cast", &Importer::Fold, {"to", "saturate"}},
      {"Slice", &Importer::Fold, {"starts", "ends", "axes"}},
      {"QuantizeLinear", &Importer::QuantizeLinear, {"axis", "saturate"}},
      {"DequantizeLinear", &Importer::DequantizeLinear, {"axis"}},
  };
  return rules;
}

// ---- options and graph checks --------------------------------------------------------

Status Importer::ReadOptions() {
  if (!options_.is_object()) {
    return InvalidArgument(std::string("options: expected an object, found ") +
                           JsonTypeName(options_.type()));
  }
  for (const Json::Member& m : options_.AsObject()) {
    static const char* const kKeys[] = {"weightBits", "edgeBits",    "perChannel", "inputType",
                                        "preprocess", "inputLayout", "output",     "seed"};
    if (std::none_of(std::begin(kKeys), std::end(kKeys),
                     [&](const char* k) { return m.first == k; })) {
      return InvalidArgument(JsonPath("options", m.first) +
                             ": unknown option (known: weightBits, edgeBits, perChannel, "
                             "inputType, preprocess, inputLayout, output, seed)");
    }
  }
  bits_given_ = options_.Find("weightBits") != nullptr;
  QF_ASSIGN_OR_RETURN(const int64_t bits, GetIntOr(options_, "weightBits", 32, "options"));
  weight_bits_ = int(bits);  // checked by ModelSpecFromJson
  QF_ASSIGN_OR_RETURN(layout_option_, GetStringOr(options_, "inputLayout", "", "options"));
  if (!layout_option_.empty() && layout_option_ != "nchw" && layout_option_ != "nhwc") {
    return InvalidArgument("options.inputLayout must be 'nchw' or 'nhwc', got '" + layout_option_ +
                           "'");
  }
  QF_ASSIGN_OR_RETURN(output_, GetStringOr(options_, "output", "", "options"));
  return OkStatus();
}

Status Importer::CheckGraph() {
  opset_ = g_.Opset("");
  if (opset_ < kMinOpset || opset_ > kMaxOpset) {
    return Unimplemented("the graph imports opset " + std::to_string(opset_) +
                         " of the default domain; the importer reads opsets " +
                         std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  }
  for (const TensorView& t : g_.tensors) {
    if (t.initializer) initializers_[t.name] = &t;
  }
  std::vector<const ValueInfo*> inputs;
  for (const ValueInfo& v : g_.inputs) {
    if (!initializers_.count(v.name)) inputs.push_back(&v);
  }
  if (inputs.size() != 1) {
    std::string names;
    for (const ValueInfo* v : inputs) names += (names.empty() ? "" : ", ") + ("'" + v->name + "'");
    return InvalidArgument("the graph has " + std::to_string(inputs.size()) + " inputs" +
                           (names.empty() ? "" : " (" + names + ")") +
                           "; the importer takes graphs with exactly one input");
  }
  input_name_ = inputs[0]->name;
  std::string outputs;
  for (const ValueInfo& v : g_.outputs) outputs += (outputs.empty() ? "'" : ", '") + v.name + "'";
  if (output_.empty()) {
    if (g_.outputs.size() != 1) {
      return InvalidArgument("the graph has " + std::to_string(g_.outputs.size()) + " outputs (" +
                             outputs +
                             "): name the one that holds the logits with the 'output' option");
    }
    logits_name_ = g_.outputs[0].name;
  } else {
    const bool found = std::any_of(g_.outputs.begin(), g_.outputs.end(),
                                   [&](const ValueInfo& v) { return v.name == output_; });
    if (!found) {
      return InvalidArgument("options.output: '" + output_ + "' is not an output of the graph (" +
                             (outputs.empty() ? std::string("none") : outputs) + ")");
    }
    logits_name_ = output_;
  }
  for (size_t i = 0; i < g_.nodes.size(); i++) {
    for (const std::string& out : g_.nodes[i].outputs) {
      if (out.empty()) continue;
      if (!producer_.emplace(out, i).second || out == input_name_ || initializers_.count(out)) {
        return InvalidArgument("tensor '" + out + "' is produced twice (" +
                               NodeLabel(g_.nodes[i], opset_) + " is the second producer)");
      }
    }
  }
  return OkStatus();
}

// The nodes the logits depend on, in topological order (Kahn's algorithm).
StatusOr<std::vector<size_t>> Importer::Order() {
  std::vector<bool> needed(g_.nodes.size(), false);
  std::vector<std::string> stack{logits_name_};
  while (!stack.empty()) {
    const std::string name = stack.back();
    stack.pop_back();
    auto it = producer_.find(name);
    if (it == producer_.end() || needed[it->second]) continue;
    needed[it->second] = true;
    for (const std::string& in : g_.nodes[it->second].inputs) {
      if (!in.empty()) stack.push_back(in);
    }
  }
  std::unordered_set<std::string> available{input_name_, ""};
  for (const auto& [name, t] : initializers_) available.insert(name);
  std::vector<size_t> order, waiting;
  for (size_t i = 0; i < g_.nodes.size(); i++) {
    if (needed[i]) {
      waiting.push_back(i);
    } else {
      Drop(g_.nodes[i], "not needed for the output '" + logits_name_ + "'");
    }
  }
  // Repeated sweeps: graphs are small and usually in order already, so this is near-linear.
  while (!waiting.empty()) {
    std::vector<size_t> still;
    for (size_t i : waiting) {
      const Node& n = g_.nodes[i];
      if (std::all_of(n.inputs.begin(), n.inputs.end(),
                      [&](const std::string& s) { return available.count(s) > 0; })) {
        order.push_back(i);
        for (const std::string& out : n.outputs) available.insert(out);
      } else {
        still.push_back(i);
      }
    }
    if (still.size() == waiting.size()) {
      const Node& n = g_.nodes[still[0]];
      for (const std::string& in : n.inputs) {
        if (!available.count(in) && !producer_.count(in)) {
          return InvalidArgument("input '" + in + "' of " + NodeLabel(n, opset_) +
                                 " is neither a graph input, an initializer nor a node's output");
        }
      }
      return InvalidArgument("the graph has a cycle through " + NodeLabel(n, opset_));
    }
    waiting = std::move(still);
  }
  if (!producer_.count(logits_name_)) {
    return InvalidArgument("the output '" + logits_name_ + "' is not computed by any node");
  }
  // The weights the output needs, against the engine's limit before anything is converted
  // (Model::Create checks the exact count again, naming the layer).
  uint64_t weights = 0;
  std::unordered_set<std::string> counted;
  for (size_t i : order) {
    for (const std::string& in : g_.nodes[i].inputs) {
      auto it = initializers_.find(in);
      if (it != initializers_.end() && counted.insert(in).second) weights += it->second->count;
    }
  }
  if (weights > nn::kMaxParamValues) {
    return ResourceExhausted("the graph's weights hold " + std::to_string(weights) +
                             " values, past the engine's limit of " +
                             std::to_string(nn::kMaxParamValues) + " parameter values");
  }
  // Layer nodes count as consumers; Shape only reads a shape.
  for (size_t i : order) {
    if (g_.nodes[i].op == "Shape") continue;
    for (const std::string& in : g_.nodes[i].inputs) {
      if (!in.empty()) consumers_[in]++;
    }
  }
  return order;
}

Status Importer::SetUpInput(const std::vector<size_t>& order) {
  const ValueInfo* info = nullptr;
  for (const ValueInfo& v : g_.inputs) {
    if (v.name == input_name_) info = &v;
  }
  const std::string at = "the graph input '" + input_name_ + "'";
  if (info->type != DataType::kFloat) {
    return Unimplemented(at + " is " + DataTypeName(info->type) +
                         "; the importer takes FLOAT inputs");
  }
  if (!info->has_shape || (info->shape.size() != 2 && info->shape.size() != 4)) {
    return InvalidArgument(at + " must have a known shape [N, features] or [N, C, H, W]");
  }
  Value v;
  v.shape.push_back(kBatchMarker);
  if (info->shape[0].kind == Dim::Kind::kValue) static_batch_ = info->shape[0].value;
  for (size_t i = 1; i < info->shape.size(); i++) {
    const Dim& d = info->shape[i];
    if (d.kind != Dim::Kind::kValue || d.value < 1) {
      return InvalidArgument(at + ": dimension " + std::to_string(i) + " is " +
                             (d.kind == Dim::Kind::kParam     ? "'" + d.param + "'"
                              : d.kind == Dim::Kind::kUnknown ? std::string("unknown")
                                                              : std::to_string(d.value)) +
                             "; only the batch dimension may be dynamic");
    }
    v.shape.push_back(d.value);
  }
  // A Transpose [0, 3, 1, 2] as the input's only consumer: the graph takes NHWC images.
  if (v.shape.size() == 4 && consumers_[input_name_] == 1) {
    for (size_t i : order) {
      const Node& n = g_.nodes[i];
      if (n.op == "Transpose" && !n.inputs.empty() && n.inputs[0] == input_name_) {
        const Attribute* perm = n.Find("perm");
        nhwc_input_ = perm && perm->kind == Attribute::Kind::kInts &&
                      perm->ints == std::vector<int64_t>{0, 3, 1, 2};
      }
    }
  }
  v.origin = input_name_;
  v.network_input = true;
  values_[input_name_] = std::move(v);
  return OkStatus();
}

// ---- node inputs and outputs -----------------------------------------------------------

StatusOr<const Value*> Importer::Activation(const Node& n, size_t i, const std::string& label) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) {
    return InvalidArgument(label + ": input " + std::to_string(i) + " is missing");
  }
  auto it = values_.find(n.inputs[i]);
  if (it == values_.end() || it->second.constant) {
    return Unimplemented(label + ": input '" + n.inputs[i] +
                         "' is a constant where the importer expects the data flowing from the "
                         "graph input");
  }
  return &it->second;
}

StatusOr<const Value*> Importer::ConstantInput(const Node& n, size_t i, const std::string& label,
                                               bool optional) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) {
    if (optional) return static_cast<const Value*>(nullptr);
    return InvalidArgument(label + ": input " + std::to_string(i) + " is missing");
  }
  const std::string& name = n.inputs[i];
  if (!values_.count(name)) {
    auto it = initializers_.find(name);
    QF_CHECK(it != initializers_.end());  // Order() made every input available
    Value v;
    v.constant = std::make_shared<Constant>(Constant::View(*it->second));
    values_[name] = std::move(v);
  }
  const Value& v = values_[name];
  if (!v.constant) {
    return Unimplemented(label + ": input '" + name +
                         "' must be a constant (an initializer or folded), but it is computed "
                         "from the graph input");
  }
  return &v;
}

StatusOr<std::vector<float>> Importer::Floats(const Value& v, const std::string& what,
                                              const std::string& label) {
  const Constant& c = *v.constant;
  if (!c.is_float()) {
    return Unimplemented(label + ": " + what + " is " + DataTypeName(c.type) +
                         "; the importer reads FLOAT, DOUBLE and FLOAT16 weights");
  }
  std::vector<float> out(c.count());
  for (size_t i = 0; i < out.size(); i++) {
    out[i] = c.FloatAt(i);
    if (!std::isfinite(out[i])) {
      return DataLoss(label + ": " + what + (c.view ? " (tensor '" + c.view->name + "')" : "") +
                      " holds " + (std::isnan(out[i]) ? "NaN" : "an infinite value") +
                      " at element " + std::to_string(i));
    }
  }
  return out;
}

// A layer node's output chain: when the node is the only consumer of its input, the input's
// chain moves on; when the input forks (it feeds two nodes), a new chain starts there,
// and the Add that joins the branches turns them into a residual layer.
Value Importer::Continue(const std::string& name) {
  Value& in = values_[name];
  Value out;
  out.shape = in.shape;
  out.collapsed = in.collapsed;
  out.chw = in.chw;
  out.non_negative = in.non_negative;
  out.network_input = in.network_input;
  out.step = in.step;
  if (consumers_[name] > 1) {
    out.origin = name;
  } else {
    out.origin = in.origin;
    out.chain = std::move(in.chain);
    in.chain.clear();
  }
  return out;
}

void Importer::Emit(Value* v, Json layer, int params, const std::string& node) {
  Draft d;
  d.layer = std::move(layer);
  d.params = params;
  d.node = node;
  v->chain.push_back(std::move(d));
  v->params = -1;
  v->network_input = false;
  v->step.reset();
}

Status Importer::SetOutput(const Node& n, Value v) {
  if (n.outputs.empty() || n.outputs[0].empty()) {
    return InvalidArgument(NodeLabel(n, opset_) + ": no output");
  }
  for (size_t i = 1; i < n.outputs.size(); i++) {
    if (!n.outputs[i].empty() && consumers_.count(n.outputs[i])) {
      return Unimplemented(NodeLabel(n, opset_) + ": its output " + std::to_string(i) + " ('" +
                           n.outputs[i] + "') is used; the importer converts only the first");
    }
  }
  values_[n.outputs[0]] = std::move(v);
  return OkStatus();
}

void Importer::Drop(const Node& n, const std::string& why) {
  Json d = Json::MakeObject();
  d.Set("node", Json::String(n.name));
  d.Set("op", Json::String(n.op));
  d.Set("why", Json::String(why));
  dropped_.Push(std::move(d));
}

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
  Emit(&out, std::move(layer), -1, n.name);
  out.network_input = keeps_input;
  out.non_negative = non_negative;
  out.shape = {kBatchMarker, x->shape[1], w.out_h, w.out_w};
  return SetOutput(n, std::move(out));
}

Status Importer::GlobalAveragePool(const Node& n, const std::string& label) {
  QF_ASSIGN_OR_RETURN(const Value* x, Activation(n, 0, label));
  if (x->shape.size() != 4 || x->collapsed || x->chw) {
    return Unimplemented(label + ": the input is " + Shown(x->shape) + "; it takes [N, C, H, W]");
  }
  Value out = Continue(n.inputs[0]);
  const bool non_negative = out.non_negative;
  Emit(&out, Layer("global_avg_pool"), -1, n.name);
  out.non_negative = non_negative;
  out.shape = {kBatchMarker, x->shape[1], 1, 1};
  out.collapsed = true;
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
  const int64_t c = x->shape[1], h = x->shape[2], w = x->shape[3];
  if (!out.collapsed) {
    const bool keeps = out.network_input, non_negative = out.non_negative;
    const std::optional<PendingStep> step = out.step;
    Emit(&out, Layer("flatten"), -1, n.name);
    out.network_input = keeps;
    out.non_negative = non_negative;
    out.step = step;
    if (c > 1 && h * w > 1) out.chw = Chw{c, h, w};
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
  if (!nhwc_input_ || n.inputs[0] != input_name_) {
    return Unimplemented(label +
                         ": a Transpose (only perm [0, 3, 1, 2] right after an NHWC graph "
                         "input is absorbed)");
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

static StatusOr<QdqParams> ReadQdq(const Value* scale, const Value* zp, const std::string& label) {
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
  if (in->network_input) {
    Drop(pair, "quantizes the network input, whose step the engine fixes (1/255 of the pixels)");
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

// ---- lowering, the model, its state ----------------------------------------------------

namespace {

bool Weighted(const Draft& d, const std::vector<LayerParams>& params) {
  return d.params >= 0 && params[size_t(d.params)].kind == LayerParams::Kind::kLinear;
}

void CollectWeighted(Chain& chain, const std::vector<LayerParams>& params,
                     std::vector<Draft*>* out) {
  for (Draft& d : chain) {
    if (Weighted(d, params)) out->push_back(&d);
    CollectWeighted(d.body, params, out);
    CollectWeighted(d.shortcut, params, out);
  }
}

struct Lowered {
  Json layers = Json::MakeArray();
  std::unordered_map<std::string, int> params_by_layer;    // "3.body.0" -> params index
  std::vector<std::pair<std::string, std::string>> nodes;  // "layers[3].body[0]" -> node
  size_t count = 0;
};

// The chain as a layer list; `name` is the parameter-name prefix Sequential gives it.
Json Lower(const Chain& chain, const std::string& name, Lowered* out) {
  Json list = Json::MakeArray();
  for (size_t i = 0; i < chain.size(); i++) {
    const Draft& d = chain[i];
    const std::string layer = name.empty() ? std::to_string(i) : name + "." + std::to_string(i);
    Json j = d.layer;
    if (!d.body.empty() || !d.shortcut.empty()) {
      j.Set("body", Lower(d.body, layer + ".body", out));
      if (!d.shortcut.empty()) j.Set("shortcut", Lower(d.shortcut, layer + ".shortcut", out));
    }
    if (d.params >= 0) out->params_by_layer[layer] = d.params;
    out->nodes.emplace_back(nn::LayerPathFromName(layer, "layers"), d.node);
    out->count++;
    list.Push(std::move(j));
  }
  return list;
}

// Writes the converted parameters into a freshly built model's state.
class StateWriter : public nn::StateVisitor {
 public:
  StateWriter(const Lowered& lowered, const std::vector<LayerParams>& params)
      : lowered_(lowered), params_(params) {}

  void Float(const std::string& name, Tensor* value, nn::FloatRule) override {
    const size_t dot = name.rfind('.');
    const LayerParams* p = Find(name.substr(0, dot));
    if (!p) return;
    const std::string field = name.substr(dot + 1);
    const std::vector<float>* src = field == "weight"         ? &p->weight
                                    : field == "bias"         ? &p->bias
                                    : field == "gamma"        ? &p->gamma
                                    : field == "beta"         ? &p->beta
                                    : field == "running_mean" ? &p->mean
                                    : field == "running_var"  ? &p->var
                                                              : nullptr;
    if (field == "input_step") {
      if (p->input_step > 0) (*value)[0] = p->input_step;
      return;
    }
    Copy(name, src, value);
  }
  void Quantized(const nn::QuantizedWeightState& q) override {
    const LayerParams* p = Find(q.name.substr(0, q.name.rfind('.')));
    if (!p) return;
    Copy(q.name, &p->weight, q.weight);
    const size_t n = q.steps->size();
    if (q.bits == 8 && !p->steps.empty() && (p->steps.size() == 1 || p->steps.size() == n)) {
      for (size_t c = 0; c < n; c++) (*q.steps)[c] = p->steps[p->steps.size() == 1 ? 0 : c];
      if (!q.per_channel && p->steps.size() != 1) {
        quant::FitWeightSteps(q.weight->data(), q.rows, q.channels, false,
                              quant::SignedRange(q.bits), quant::StepRule::kLsqInitial,
                              q.steps->data());
      }
    } else {
      quant::FitWeightSteps(q.weight->data(), q.rows, q.channels, q.per_channel,
                            quant::SignedRange(q.bits), quant::StepRule::kLsqInitial,
                            q.steps->data());
    }
  }
  void Flag(const std::string& name, bool* value) override {
    const LayerParams* p = Find(name.substr(0, name.rfind('.')));
    if (p && p->input_step > 0) *value = true;
  }
  Status status() const { return status_; }

 private:
  const LayerParams* Find(const std::string& layer) const {
    auto it = lowered_.params_by_layer.find(layer);
    return it == lowered_.params_by_layer.end() ? nullptr : &params_[size_t(it->second)];
  }
  void Copy(const std::string& name, const std::vector<float>* src, Tensor* dst) {
    if (!src || src->size() != dst->size()) {
      if (status_.ok()) {
        status_ = Status(StatusCode::kInternal,
                         "import: state '" + name + "' does not match the converted parameters");
      }
      return;
    }
    std::copy(src->begin(), src->end(), dst->values().begin());
  }
  const Lowered& lowered_;
  const std::vector<LayerParams>& params_;
  Status status_;
};

}  // namespace

StatusOr<ImportResult> Importer::Build() {
  auto it = values_.find(logits_name_);
  if (it == values_.end() || it->second.constant) {
    return InvalidArgument("the output '" + logits_name_ +
                           "' is not computed from the graph input");
  }
  Value& logits = it->second;
  if (logits.origin != input_name_ || consumers_[logits_name_] > 0) {
    return Unimplemented("the graph does not reduce to one chain of layers from '" + input_name_ +
                         "' to '" + logits_name_ + "' (a branch that never joins back?)");
  }
  if (logits.shape.size() != 2 || logits.chw || logits.chain.empty()) {
    return Unimplemented("the output '" + logits_name_ + "' is " + Shown(logits.shape) +
                         "; the importer needs logits [N, classes] computed by layers");
  }
  // Bits: weightBits for every weighted layer, edgeBits for the first and the last.
  const int bits = bits_given_ || qdq_weights_ == 0 ? weight_bits_ : 8;
  QF_ASSIGN_OR_RETURN(const int64_t edge, GetIntOr(options_, "edgeBits", 8, "options"));
  std::vector<Draft*> weighted;
  CollectWeighted(logits.chain, params_, &weighted);
  for (size_t i = 0; i < weighted.size(); i++) {
    const bool is_edge = i == 0 || i + 1 == weighted.size();
    weighted[i]->layer.Set("bits", Json::Number(double(bits < 32 && is_edge ? edge : bits)));
  }
  Lowered lowered;
  Json layers = Lower(logits.chain, "", &lowered);

  // The spec, read by the same code as createModel's options.
  const ValueInfo* input = nullptr;
  for (const ValueInfo& v : g_.inputs) {
    if (v.name == input_name_) input = &v;
  }
  const bool image = input->shape.size() == 4;
  const std::string graph_layout = nhwc_input_ ? "nhwc" : "nchw";
  const std::string layout = layout_option_.empty() ? graph_layout : layout_option_;
  const Value& in = values_[input_name_];
  int64_t c = 0, h = 0, w = 0;
  if (image) {
    c = nhwc_input_ ? in.shape[3] : in.shape[1];
    h = nhwc_input_ ? in.shape[1] : in.shape[2];
    w = nhwc_input_ ? in.shape[2] : in.shape[3];
  }
  Json spec = Json::MakeObject();
  spec.Set("arch", Json::String("custom"));
  if (!image) {
    spec.Set("inputShape", Ints({in.shape[1]}));
  } else if (layout == "nhwc") {
    spec.Set("inputShape", Ints({h, w, c}));
  } else {
    spec.Set("inputShape", Ints({c, h, w}));
    spec.Set("inputLayout", Json::String("nchw"));
  }
  spec.Set("numClasses", Json::Number(double(logits.shape[1])));
  spec.Set("weightBits", Json::Number(bits));
  spec.Set("edgeBits", Json::Number(double(edge)));
  for (const char* key : {"perChannel", "seed", "preprocess"}) {
    if (const Json* v = options_.Find(key)) spec.Set(key, *v);
  }
  QF_ASSIGN_OR_RETURN(const std::string input_type,
                      GetStringOr(options_, "inputType", "float32", "options"));
  spec.Set("inputType", Json::String(input_type));
  spec.Set("layers", std::move(layers));
  QF_ASSIGN_OR_RETURN(const nn::ModelSpec model_spec, nn::ModelSpecFromJson(spec, "options"));
  StatusOr<std::unique_ptr<nn::Model>> model = nn::Model::Create(model_spec);
  if (!model.ok()) {
    // "layers[3].body[0]: ..." -> name the node the layer came from.
    const std::string& m = model.status().message();
    for (const auto& [path, node] : lowered.nodes) {
      if (m.compare(0, path.size() + 1, path + ":") == 0) {
        return Status(model.status().code(), m + " (converted from node '" + node + "')");
      }
    }
    return model.status();
  }
  StateWriter writer(lowered, params_);
  model.value()->CollectState(&writer);
  QF_RETURN_IF_ERROR(writer.status());
  model.value()->OnParamsChanged();
  for (const LayerParams& p : params_) qdq_steps_ += p.input_step > 0;

  ImportResult result;
  result.model = std::move(model).value();
  Json report = Json::MakeObject();
  report.Set("producer", Json::String(g_.producer));
  report.Set("opset", Json::Number(double(opset_)));
  report.Set("inputLayout", image ? Json::String(layout) : Json::Null());
  report.Set("layers", Json::Number(double(lowered.count)));
  report.Set("folded", std::move(folded_));
  report.Set("dropped", std::move(dropped_));
  Json quantized = Json::MakeObject();
  quantized.Set("weights", Json::Number(double(qdq_weights_)));
  quantized.Set("inputSteps", Json::Number(double(qdq_steps_)));
  report.Set("quantized", std::move(quantized));
  result.report = std::move(report);
  return result;
}

StatusOr<ImportResult> Importer::Run() {
  QF_RETURN_IF_ERROR(ReadOptions());
  QF_RETURN_IF_ERROR(CheckGraph());
  QF_ASSIGN_OR_RETURN(const std::vector<size_t> order, Order());
  QF_RETURN_IF_ERROR(SetUpInput(order));
  for (size_t i : order) {
    const Node& n = g_.nodes[i];
    const std::string label = NodeLabel(n, opset_);
    if (!n.domain.empty() && n.domain != "ai.onnx") {
      return Unimplemented(label + ": domain '" + n.domain + "' (the importer reads ai.onnx ops)");
    }
    const OpRule* rule = nullptr;
    for (const OpRule& r : Rules()) {
      if (n.op == r.op) rule = &r;
    }
    if (!rule) return Unimplemented(label + ": this op is not supported by the importer");
    for (const auto& [name, a] : n.attrs) {
      if (std::none_of(rule->attrs.begin(), rule->attrs.end(),
                       [&](const char* k) { return name == k; })) {
        return Unimplemented(label + ": attribute '" + name + "' is not supported");
      }
      if (a.kind == Attribute::Kind::kUnsupported) {
        return Unimplemented(label + ": attribute '" + name + "' is a " + a.s +
                             ", which the importer does not read");
      }
    }
    QF_RETURN_IF_ERROR((this->*rule->handle)(n, label));
  }
  return Build();
}

}  // namespace

StatusOr<ImportResult> ImportGraph(const Graph& graph, const Json& options) {
  return Importer(graph, options).Run();
}

}  // namespace qf::onnx
