// The model entry points behind the JS Model class: create from options, predict,
// evaluate, and fit as a session stepped a few batches at a time (so JS can report
// progress and cancel between steps). Validates everything a caller passes; buffers
// are borrowed for the call, sizes in elements; results leave as JSON text or copies.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/memory.h"
#include "core/status.h"
#include "io/idx.h"
#include "nn/model.h"
#include "onnx/export.h"
#include "train/trainer.h"
#include "unlearn/forget.h"
#include "unlearn/metrics.h"
#include "unlearn/scenario.h"

namespace qf::api {

class FitSession;
class ForgetHandle;
class MetricsJob;
class StreamHandle;

// A dataset in wasm memory as JS hands it over: samples, labels and the JSON of its
// shape [n, ...sample dims]. Borrowed for the call.
struct DatasetBuffers {
  const uint8_t* x = nullptr;  // x_len values of type x_type ("uint8" or "float32")
  size_t x_len = 0;
  std::string x_type = "uint8";
  const uint8_t* y = nullptr;  // y_len labels of type y_type ("uint8", "uint16", "int32")
  size_t y_len = 0;
  std::string y_type = "uint8";
  std::string shape_json;
};

// Every entry point that allocates in proportion to its request first reserves an
// upper bound of that memory (core/memory.h) and returns ResourceExhausted, changing
// nothing, when it would not fit. Sessions hold their reservation until they die.
class ModelHandle {
 public:
  // options: the JSON of createModel({...}) (see nn::ModelSpecFromJson).
  static StatusOr<ModelHandle> Create(std::string_view options_json);
  // A model from the bytes of a model file (io/model_file.h); the bytes are only read.
  static StatusOr<ModelHandle> Load(const uint8_t* bytes, size_t size);

  // A model from an ONNX graph record (onnx/graph.h: the JSON text and the payload of
  // `payload_len` bytes it points into, both only read) and import options (onnx/import.h).
  // The import report stays with the handle (import_report()).
  static StatusOr<ModelHandle> ImportOnnx(std::string_view record_json, const uint8_t* payload,
                                          size_t payload_len, std::string_view options_json);
  // The JSON report of ImportOnnx (onnx::ImportResult::report); "" for other models.
  const std::string& import_report() const { return import_report_; }

  // The model file's bytes; with_shadow keeps the float weights needed to train later.
  StatusOr<std::vector<uint8_t>> Save(bool with_shadow) const;

  // The model as an ONNX graph record (onnx/export.h): {json, payload}. options: the JSON
  // of exportOnnx({format: 'qdq' | 'float'}) (default qdq for a quantized model).
  StatusOr<onnx::ExportedGraph> ExportOnnx(std::string_view options_json) const;

  // The model's description as JSON text (architecture, shapes, layer list).
  std::string Describe() const;
  size_t num_classes() const { return model_->classes(); }
  size_t sample_size() const { return model_->input_shape().size(); }  // values per sample
  DType input_type() const { return model_->input_type(); }
  // What the model holds and what one sample costs (nn::Model::cost).
  const nn::BuildCost& cost() const { return model_->cost(); }

  // The logits (n x classes floats) of the deployed integer model for the samples of x
  // (n = x_len / the sample size; x_len must be a non-zero multiple of it), allocated
  // only once the request is validated and its memory reserved.
  // x_type: "uint8" or "float32", the model's input type.
  StatusOr<std::vector<float>> Predict(const uint8_t* x, size_t x_len,
                                       std::string_view x_type) const;

  // OK when `data` could be evaluated on this model (shape, sizes, label range, finite
  // values); the error names `name` otherwise. Lets callers refuse a request up front.
  Status CheckDataset(const DatasetBuffers& data, std::string_view name) const;

  // A new, quantized model from this float one (nn::QuantizeAfterTraining), its inputs
  // calibrated on the samples of x (as Predict takes them). options: see
  // api::PtqOptionsFromJson. This model is only read.
  StatusOr<ModelHandle> Quantize(const uint8_t* x, size_t x_len, std::string_view x_type,
                                 std::string_view options_json) const;

  // {"accuracy": fraction, "loss": mean cross-entropy} on a dataset.
  StatusOr<std::string> Evaluate(const DatasetBuffers& data) const;

  // Validates the request and returns a session that unlearns on a copy of this model;
  // CommitForget swaps the result in. options: see api::UnlearnOptionsFromJson. holdout:
  // samples never trained on, for options.until 'unseen' (empty otherwise).
  StatusOr<ForgetHandle> StartForget(const DatasetBuffers& forget, const DatasetBuffers& retain,
                                     const DatasetBuffers& holdout, std::string_view options_json);
  // Replaces this model by the finished session's result (FAILED_PRECONDITION before).
  // The handle keeps the model as it was until it dies, so that RevertForget can put it
  // back if a later part of the request (metrics, the receipt) fails.
  Status CommitForget(ForgetHandle& forget);
  Status RevertForget(ForgetHandle& forget);

  // {"FA","UA","RA","TA","MIA"} of this model, each {value (a fraction), n, low, high}
  // (95 % Wilson interval; MIA null when the sets are too small for the attack) and
  // "miaAttack" {accuracy, informative, members, nonMembers, note}; with a reference (the
  // retrained model) also "AG" (fraction) and "JS" (mean JS divergence on D_f).
  // options: {miaFeature: 'confidence'|'entropy'|'modifiedEntropy', seed, requantize
  // (adds "FARequantized")}. Computed as work stepped a few units at a time (MetricsJob),
  // so that JS can report progress and stop between steps; MetricsJob::Result gives them.
  StatusOr<MetricsJob> StartMetrics(const DatasetBuffers& forget, const DatasetBuffers& retain,
                                    const DatasetBuffers& test, const ModelHandle* reference,
                                    std::string_view options_json) const;

  // Validates data and options and returns a session that trains this model.
  StatusOr<FitSession> StartFit(const DatasetBuffers& data, std::string_view options_json);

  // A dataset streamed in for this model (fit's data, forget's retain): pushed through once
  // to count it, then handed to StartFit or StartForget, whose sessions read it in passes.
  StreamHandle OpenStream() const;
  // StartFit and StartForget on a streamed dataset (counted). A step stops early when the
  // stream has not delivered what the next batch needs: push what StreamHandle::Demand
  // asks for, then step again.
  StatusOr<FitSession> StartFit(const StreamHandle& data, std::string_view options_json);
  StatusOr<ForgetHandle> StartForget(const DatasetBuffers& forget, const StreamHandle& retain,
                                     const DatasetBuffers& holdout, std::string_view options_json);

 private:
  // A fit session on this model with its options parsed into `fit` and its memory
  // reserved, `data_bytes` for the data it holds; without its trainer.
  StatusOr<FitSession> NewFitSession(uint64_t data_bytes, std::string_view options_json,
                                     train::FitOptions* fit) const;
  // The samples x of x_type for this model: their count, once x is checked (type, a whole
  // non-zero number of samples, finite features); errors call them `name`.
  StatusOr<size_t> CheckSamples(const uint8_t* x, size_t x_len, std::string_view x_type,
                                std::string_view name = "x") const;
  StatusOr<ForgetHandle> StartForgetOn(const DatasetBuffers& forget, const DatasetBuffers* retain,
                                       std::shared_ptr<train::SampleStream> retain_stream,
                                       const DatasetBuffers& holdout,
                                       std::string_view options_json);

  std::shared_ptr<nn::Model> model_;
  std::string import_report_;
};

class FitSession {
 public:
  // Trains up to max_batches batches. Returns {"done": bool, "epoch": {epoch, loss,
  // accuracy, lr, seconds} or null when no epoch ended in this step}.
  StatusOr<std::string> Step(size_t max_batches);

 private:
  friend class ModelHandle;
  std::shared_ptr<nn::Model> model_;  // keeps the model alive while the session lives
  std::unique_ptr<train::Dataset> data_;
  std::shared_ptr<train::SampleStream> stream_;  // instead of data_
  std::unique_ptr<train::Trainer> trainer_;
  MemoryReservation memory_;
};

class ForgetHandle {
 public:
  // Runs up to max_batches batches: {"done": bool, "epochs": [reports of epochs that
  // ended]}; each report {epoch, lr, seconds, losses: {...}, forgetAccuracy, qmul?:
  // {gForget, gRetain, wForget, wRetain, similarLabels: [[count by label] by class]}}.
  StatusOr<std::string> Step(size_t max_batches);
  size_t forgotten() const { return forgotten_; }
  const std::string& method() const { return method_; }

 private:
  friend class ModelHandle;
  std::shared_ptr<unlearn::ForgetSession> session_;
  std::shared_ptr<nn::Model> previous_;  // the model as it was, once committed
  std::string method_;
  size_t forgotten_ = 0;
  size_t classes_ = 0;
  MemoryReservation memory_;
};

// A streamed dataset (train/stream.h) as JS feeds it.
class StreamHandle {
 public:
  // The stream's next samples, as a dataset of the model's samples; `name` names them in
  // messages. First the whole stream, once (the counting pass), then what Demand asks for.
  Status Push(const DatasetBuffers& batch, std::string_view name);
  // The source's pass ended (train::SampleStream::End); `name` names the stream.
  Status End(std::string_view name);
  // Its samples, counted by the first pass (0 until it ended).
  size_t size() const { return stream_->size(); }
  // {"pass", "from", "count"}: the samples the session reading it waits for: `count` from
  // position `from` of pass `pass` (a new pass: iterate the source again from the start).
  std::string Demand() const;

 private:
  friend class ModelHandle;
  std::shared_ptr<train::SampleStream> stream_;
};

// The metrics of a model (ModelHandle::StartMetrics): its own, then the reference's (for
// AG and JS), then the deployment check (requantize). Holds copies of the sets, the
// models (alive, even if disposed meanwhile) and its memory reservation. The models must
// not change while it runs (the JS Model is busy meanwhile).
class MetricsJob {
 public:
  // Up to max_units units of work (unlearn::MetricsSession's). Returns {"done": bool,
  // "stage": "model" | "reference" | "requantize", "batches": [done, total] of the
  // stage's evaluation batches, "svmSteps": the attack's SMO steps so far}.
  StatusOr<std::string> Step(size_t max_units);
  // The metrics as ModelHandle::StartMetrics describes them; FailedPrecondition before done.
  StatusOr<std::string> Result() const;

 private:
  friend class ModelHandle;
  std::shared_ptr<nn::Model> model_, reference_;
  std::unique_ptr<std::array<train::Dataset, 3>> sets_;  // forget, retain, test
  unlearn::MetricsInputs inputs_;
  bool requantize_ = false;
  std::unique_ptr<unlearn::MetricsSession> session_;  // the stage running now
  std::string stage_ = "model";
  std::optional<unlearn::Metrics> metrics_, reference_metrics_;
  std::optional<unlearn::Proportion> requantized_;
  Tensor forget_probs_;  // the model's, kept for JS against the reference's
  double js_ = 0;
  bool done_ = false;
  MemoryReservation memory_;
};

// What a forget with `options_json` (its method and options) on `forget`, `retain` and
// `holdout` (options.until 'unseen') samples would put through the model
// (unlearn::Method::PlannedSamples): the cost that forget({method: 'auto'}) weighs a
// rewind against. UNIMPLEMENTED for a method whose cost is not known before it runs.
StatusOr<uint64_t> PlannedForgetSamples(std::string_view options_json, size_t forget, size_t retain,
                                        size_t holdout);

// An IDX file's bytes (gzip-compressed or plain) parsed into dims and uint8 data.
StatusOr<io::IdxArray> ParseIdxBytes(const uint8_t* bytes, size_t size);

// The training samples a forget scenario names (unlearn::ResolveScenario) for n labels;
// the labels are only read.
StatusOr<unlearn::ScenarioSplit> ResolveScenario(const uint8_t* labels, size_t n,
                                                 std::string_view type,
                                                 const std::string& spec, size_t classes,
                                                 uint64_t seed);

}  // namespace qf::api
