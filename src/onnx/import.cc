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
#include "onnx/importer.h"
#include "quant/weight_grid.h"

namespace qf::onnx {
namespace internal {

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
      {"ReduceMean", &Importer::GlobalAveragePool, {"axes", "keepdims", "noop_with_empty_axes"}},
      {"Pad", &Importer::Pad, {"mode", "pads", "value"}},
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
    static const char* const kKeys[] = {"weightBits",  "edgeBits",         "perChannel",
                                        "inputType",   "preprocess",       "inputLayout",
                                        "inputNonNegative", "output",      "seed"};
    if (std::none_of(std::begin(kKeys), std::end(kKeys),
                     [&](const char* k) { return m.first == k; })) {
      return InvalidArgument(JsonPath("options", m.first) +
                             ": unknown option (known: weightBits, edgeBits, perChannel, "
                             "inputType, preprocess, inputLayout, inputNonNegative, output, "
                             "seed)");
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
  non_negative_given_ = options_.Find("inputNonNegative") != nullptr;
  return OkStatus();
}

// The model spec's input keys: inputType, preprocess and inputNonNegative, from the
// options and, for a UINT8 graph, the preprocessing it holds (AbsorbPixelInput).
StatusOr<Json> Importer::InputKeys() const {
  Json keys = Json::MakeObject();
  QF_ASSIGN_OR_RETURN(
      const std::string input_type,
      GetStringOr(options_, "inputType", pixel_input_ ? "uint8" : "float32", "options"));
  keys.Set("inputType", Json::String(input_type));
  for (const char* key : {"preprocess", "inputNonNegative"}) {
    if (const Json* v = options_.Find(key)) keys.Set(key, *v);
  }
  if (pixel_input_) {
    if (input_type != "uint8") {
      return InvalidArgument("options.inputType: the graph takes UINT8 pixels, got '" + input_type +
                             "'");
    }
    QF_ASSIGN_OR_RETURN(Json preprocess, PixelPreprocess());
    keys.Set("preprocess", std::move(preprocess));
  }
  if (declare_non_negative_) keys.Set("inputNonNegative", Json::Bool(true));
  return keys;
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
  if (info->type == DataType::kUint8) {
    QF_RETURN_IF_ERROR(AbsorbPixelInput(order));  // moves input_name_ past the preprocessing
  } else if (info->type != DataType::kFloat) {
    return Unimplemented(at + " is " + DataTypeName(info->type) +
                         "; the importer takes FLOAT inputs (or UINT8 pixels cast to FLOAT)");
  }
  // The input as the engine will see it, from a stand-in spec with the input keys (bad
  // values are reported with their paths when the real spec is built).
  QF_ASSIGN_OR_RETURN(Json input, InputKeys());
  input.Set("arch", Json::String("mlp"));
  input.Set("inputShape", Ints({1}));
  input.Set("numClasses", Json::Number(2));
  input.Set("weightBits", Json::Number(32));
  if (StatusOr<nn::ModelSpec> spec = nn::ModelSpecFromJson(input); spec.ok()) {
    plain_pixels_ = nn::PlainPixels(spec.value());
    input_non_negative_ = nn::InputNonNegative(spec.value());
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
  v.non_negative = input_non_negative_;
  values_[input_name_] = std::move(v);
  return OkStatus();
}

// A UINT8 graph input as model.toOnnx() writes one for pixels (inputType 'uint8'): Cast to
// FLOAT, then Mul by a scalar, Sub a mean and Div by a std (each optional, in that order,
// each the only consumer of the one before): the engine's own input preprocessing. The
// nodes are absorbed (the model takes the bytes, with that preprocess) and reported as
// dropped; the network input becomes the chain's last output.
Status Importer::AbsorbPixelInput(const std::vector<size_t>& order) {
  const std::string at = "the graph input '" + input_name_ + "'";
  auto sole_consumer = [&](const std::string& name) -> std::optional<size_t> {
    if (consumers_[name] != 1) return std::nullopt;
    for (size_t i : order) {
      const Node& n = g_.nodes[i];
      if (!n.inputs.empty() && n.inputs[0] == name && n.outputs.size() == 1) return i;
    }
    return std::nullopt;
  };
  std::optional<size_t> cast = sole_consumer(input_name_);
  const Attribute* to = cast && g_.nodes[*cast].op == "Cast" ? g_.nodes[*cast].Find("to") : nullptr;
  if (!to || to->kind != Attribute::Kind::kInt || to->i != 1 /* FLOAT */) {
    return Unimplemented(at +
                         " is UINT8; the importer takes FLOAT inputs, or UINT8 pixels whose only "
                         "consumer is a Cast to FLOAT");
  }
  pixel_input_ = true;
  auto absorb = [&](size_t i, const std::string& why) {
    absorbed_.insert(i);
    Drop(g_.nodes[i], why);
    input_name_ = g_.nodes[i].outputs[0];
  };
  absorb(*cast, "UINT8 pixels: the model takes the bytes (inputType 'uint8')");
  // The constant operand of a preprocessing node, as floats (empty: not a constant).
  auto operand = [&](const Node& n) -> std::vector<float> {
    auto it = n.inputs.size() == 2 ? initializers_.find(n.inputs[1]) : initializers_.end();
    if (it == initializers_.end() || !Constant::View(*it->second).is_float()) return {};
    const Constant c = Constant::View(*it->second);
    std::vector<float> out(c.count());
    for (size_t k = 0; k < out.size(); k++) out[k] = c.FloatAt(k);
    return out;
  };
  for (const char* op : {"Mul", "Sub", "Div"}) {
    std::optional<size_t> next = sole_consumer(input_name_);
    if (!next || g_.nodes[*next].op != op) continue;
    std::vector<float> values = operand(g_.nodes[*next]);
    if (values.empty() || (op == std::string("Mul") && values.size() != 1)) continue;
    if (op == std::string("Mul")) pixel_scale_ = values[0];
    if (op == std::string("Sub")) pixel_mean_ = values;
    if (op == std::string("Div")) pixel_std_ = values;
    absorb(*next, std::string("input preprocessing (") + op + "): the model's preprocess");
  }
  return OkStatus();
}

namespace {

// Whether two per-channel lists agree in float (empty: `dflt` for every channel; a single
// value broadcasts).
bool SameInFloat(std::vector<double> a, std::vector<double> b, double dflt) {
  if (a.empty()) a = {dflt};
  if (b.empty()) b = {dflt};
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1) return false;
  for (size_t i = 0; i < std::max(a.size(), b.size()); i++) {
    if (float(a[a.size() == 1 ? 0 : i]) != float(b[b.size() == 1 ? 0 : i])) return false;
  }
  return true;
}

std::vector<double> Doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

// The preprocess of a UINT8 graph (AbsorbPixelInput) as the model's spec takes it. A
// preprocess in the options must be the graph's (in float: the file holds floats), and
// then it is used as given; without one, the graph's scale is 1/k when it is that in
// float (1/255 stays exact, so the model's input is plain pixels again).
StatusOr<Json> Importer::PixelPreprocess() const {
  double scale = pixel_scale_;
  const double k = std::round(1.0 / double(pixel_scale_));
  if (k >= 1 && float(1.0 / k) == pixel_scale_) scale = 1.0 / k;
  if (const Json* given = options_.Find("preprocess")) {
    const Json* s = given->is_object() ? given->Find("scale") : nullptr;
    std::vector<double> mean, std;
    for (const auto& [key, out] :
         {std::pair<const char*, std::vector<double>*>{"mean", &mean}, {"std", &std}}) {
      const Json* a = given->is_object() ? given->Find(key) : nullptr;
      if (!a || !a->is_array()) continue;
      for (const Json& x : a->AsArray())
        out->push_back(x.is_number() ? x.AsNumber() : std::nan(""));
    }
    const double given_scale = s && s->is_number() ? s->AsNumber() : 1.0 / 255.0;
    if (float(given_scale) != float(scale) || !SameInFloat(mean, Doubles(pixel_mean_), 0) ||
        !SameInFloat(std, Doubles(pixel_std_), 1)) {
      return InvalidArgument(
          "options.preprocess: the graph takes UINT8 pixels and preprocesses them itself "
          "(scale " +
          std::to_string(scale) + ", " + std::to_string(pixel_mean_.size()) + " mean(s), " +
          std::to_string(pixel_std_.size()) +
          " std(s)); leave preprocess out, or give the graph's");
    }
    return *given;
  }
  Json p = Json::MakeObject();
  p.Set("scale", Json::Number(scale));
  for (const auto& [key, values] :
       {std::pair<const char*, const std::vector<float>*>{"mean", &pixel_mean_},
        {"std", &pixel_std_}}) {
    if (values->empty()) continue;
    Json a = Json::MakeArray();
    for (float x : *values) a.Push(Json::Number(double(x)));
    p.Set(key, std::move(a));
  }
  return p;
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
  if (it->second.hwc && n.op != "Flatten") {
    return Unimplemented(label + ": input '" + n.inputs[i] +
                         "' is transposed to channels last, which only a Flatten may follow");
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
    // A QDQ graph's 8-bit scales are a uniform grid's steps (one, or one per channel).
    const quant::WeightGrid& g = q.grid;
    const size_t n = g.groups();
    if (g.scheme == quant::WeightScheme::kUniform && g.bits == 8 && !p->steps.empty() &&
        (p->steps.size() == 1 || p->steps.size() == n)) {
      for (size_t c = 0; c < n; c++) g.scales[c] = p->steps[p->steps.size() == 1 ? 0 : c];
    } else {
      quant::FitGrid(q.weight->data(), quant::StepRule::kLsqInitial, g);
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
  const Value& in = values_[input_name_];  // the graph input's shape (SetUpInput)
  const bool image = in.shape.size() == 4;
  const std::string graph_layout = nhwc_input_ ? "nhwc" : "nchw";
  const std::string layout = layout_option_.empty() ? graph_layout : layout_option_;
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
  for (const char* key : {"perChannel", "seed"}) {
    if (const Json* v = options_.Find(key)) spec.Set(key, *v);
  }
  QF_ASSIGN_OR_RETURN(const Json input, InputKeys());
  for (const Json::Member& m : input.AsObject()) spec.Set(m.first, m.second);
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
    if (absorbed_.count(i)) continue;  // the input's preprocessing (AbsorbPixelInput)
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
    for (const auto& attr : n.attrs) {
      const std::string& name = attr.first;  // not a structured binding: lambdas capture it
      const Attribute& a = attr.second;
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

}  // namespace internal

StatusOr<ImportResult> ImportGraph(const Graph& graph, const Json& options) {
  return internal::Importer(graph, options).Run();
}

}  // namespace qf::onnx
