// The importer's internals, shared by onnx/import.cc (graph checks, the walk, lowering,
// the model's state) and onnx/import_ops.cc (the op handlers): what a tensor is at import
// (Value), the drafted layer list (Draft) and converted parameters (LayerParams). Not a
// public interface: onnx/import.h is.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "onnx/fold.h"
#include "onnx/graph.h"
#include "onnx/import.h"

namespace qf::onnx::internal {

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
  bool hwc = false;  // ONNX [N, C, H, W] transposed to [N, H, W, C] for a Flatten (see Transpose)
  std::string origin;
  Chain chain;
  int params = -1;  // this tensor is the direct output of that linear layer
  std::optional<PendingStep> step;
  // QDQ weights: the codes and scales a DequantizeLinear constant came from.
  const TensorView* codes = nullptr;
  std::vector<float> scales;
  int64_t scale_axis = -1;  // -1: one scale
};

inline std::string Shown(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) {
    s += (i ? ", " : "") + (v[i] == kBatchMarker ? std::string("N") : std::to_string(v[i]));
  }
  return s + "]";
}

inline Json Ints(std::initializer_list<int64_t> v) {
  Json a = Json::MakeArray();
  for (int64_t x : v) a.Push(Json::Number(double(x)));
  return a;
}

inline Json Layer(const char* type) {
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
  Status Pad(const Node& n, const std::string& label);
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
  Status AbsorbPixelInput(const std::vector<size_t>& order);
  StatusOr<Json> InputKeys() const;
  StatusOr<Json> PixelPreprocess() const;
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
  // How the engine will see the input (nn::PlainPixels, nn::InputNonNegative of the
  // options' inputType, preprocess and inputNonNegative).
  bool plain_pixels_ = false, input_non_negative_ = false, non_negative_given_ = false;
  // The graph's input QDQ pair has zero point 0: the model is declared inputNonNegative.
  bool declare_non_negative_ = false;
  // graph
  std::string input_name_, logits_name_;
  bool nhwc_input_ = false;  // a Transpose [0,3,1,2] follows the input
  // UINT8 pixels (AbsorbPixelInput): the input's preprocessing nodes, absorbed and skipped
  // by the walk, and what they compute ({scale, mean, std} as in the file, float).
  bool pixel_input_ = false;
  std::unordered_set<size_t> absorbed_;
  float pixel_scale_ = 1;
  std::vector<float> pixel_mean_, pixel_std_;
  int64_t static_batch_ = -1;
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_map<std::string, const TensorView*> initializers_;
  std::unordered_map<std::string, int> consumers_;
  std::unordered_map<std::string, Value> values_;
  std::vector<LayerParams> params_;
  Json folded_ = Json::MakeArray(), dropped_ = Json::MakeArray();
  size_t qdq_weights_ = 0, qdq_steps_ = 0;
};

}  // namespace qf::onnx::internal
