// Embind glue: exposes src/api to JS. No logic here: pointers arrive as numbers (wasm
// heap offsets owned by the JS wrapper), results leave as {value} or {error}.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>

#include "api/kernels_api.h"
#include "api/model_api.h"
#include "core/memory.h"
#include "core/thread_pool.h"

namespace {

using emscripten::val;

template <typename T>
T* Ptr(uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

val Error(const qf::Status& status) {
  val error = val::object();
  error.set("code", std::string(qf::StatusCodeName(status.code())));
  error.set("message", status.message());
  val result = val::object();
  result.set("error", error);
  return result;
}

val Done(const qf::Status& status) {
  if (!status.ok()) return Error(status);
  val result = val::object();
  result.set("value", val::undefined());
  return result;
}

val MatmulU8S8(uintptr_t a, uintptr_t b, size_t m, size_t k, size_t n, uintptr_t c) {
  return Done(
      qf::api::MatmulU8S8(Ptr<const uint8_t>(a), Ptr<const int8_t>(b), m, k, n, Ptr<int32_t>(c)));
}

val PackMatrixS8(uintptr_t b, size_t k, size_t n) {
  auto packed = qf::api::PackedMatrixS8::Create(Ptr<const int8_t>(b), k, n);
  if (!packed.ok()) return Error(packed.status());
  val result = val::object();
  result.set("value", val(std::move(packed).value()));
  return result;
}

val PackedMatmul(const qf::api::PackedMatrixS8& self, uintptr_t a, size_t m, uintptr_t c) {
  return Done(self.Matmul(Ptr<const uint8_t>(a), m, Ptr<int32_t>(c)));
}

template <typename T>
val Value(T&& value) {
  val result = val::object();
  result.set("value", val(std::forward<T>(value)));
  return result;
}

template <typename T>
val Result(qf::StatusOr<T>&& result) {
  if (!result.ok()) return Error(result.status());
  return Value(std::move(result).value());
}

val CreateModel(const std::string& options_json) {
  return Result(qf::api::ModelHandle::Create(options_json));
}

val LoadModel(uintptr_t bytes, size_t size) {
  return Result(qf::api::ModelHandle::Load(Ptr<const uint8_t>(bytes), size));
}

val ImportOnnx(const std::string& record_json, uintptr_t payload, size_t payload_len,
               const std::string& options_json) {
  return Result(qf::api::ModelHandle::ImportOnnx(record_json, Ptr<const uint8_t>(payload),
                                                 payload_len, options_json));
}

// A Uint8Array copy of bytes that die with the call.
val CopyBytes(const std::vector<uint8_t>& bytes) {
  return val::global("Uint8Array").new_(emscripten::typed_memory_view(bytes.size(), bytes.data()));
}

val SaveModel(const qf::api::ModelHandle& self, bool with_shadow) {
  auto bytes = self.Save(with_shadow);
  if (!bytes.ok()) return Error(bytes.status());
  return Value(CopyBytes(bytes.value()));
}

// {json: string, payload: Uint8Array (a copy)}: the ONNX graph record.
val ExportOnnx(const qf::api::ModelHandle& self, const std::string& options_json) {
  auto graph = self.ExportOnnx(options_json);
  if (!graph.ok()) return Error(graph.status());
  val out = val::object();
  out.set("json", graph.value().json);
  out.set("payload", CopyBytes(graph.value().payload));
  return Value(out);
}

// A Float32Array copy of the logits.
val Predict(const qf::api::ModelHandle& self, uintptr_t x, size_t x_len, const std::string& x_type) {
  auto logits = self.Predict(Ptr<const uint8_t>(x), x_len, x_type);
  if (!logits.ok()) return Error(logits.status());
  return Value(val::global("Float32Array")
                   .new_(emscripten::typed_memory_view(logits.value().size(), logits.value().data())));
}

val Quantize(const qf::api::ModelHandle& self, uintptr_t x, size_t x_len, const std::string& x_type,
             const std::string& options_json) {
  return Result(self.Quantize(Ptr<const uint8_t>(x), x_len, x_type, options_json));
}

// {x, xLen, y, yLen, shape} (heap offsets and lengths, shape as JSON text) to buffers.
qf::api::DatasetBuffers Buffers(const val& d) {
  qf::api::DatasetBuffers b;
  b.x = Ptr<const uint8_t>(d["x"].as<uintptr_t>());
  b.x_len = d["xLen"].as<size_t>();
  b.x_type = d["xType"].as<std::string>();
  b.y = Ptr<const uint8_t>(d["y"].as<uintptr_t>());
  b.y_len = d["yLen"].as<size_t>();
  b.y_type = d["yType"].as<std::string>();
  b.shape_json = d["shape"].as<std::string>();
  return b;
}

val CheckDataset(const qf::api::ModelHandle& self, const val& data, const std::string& name) {
  return Done(self.CheckDataset(Buffers(data), name));
}

val Evaluate(const qf::api::ModelHandle& self, const val& data) {
  return Result(self.Evaluate(Buffers(data)));
}

val StartFit(qf::api::ModelHandle& self, const val& data, const std::string& options_json) {
  return Result(self.StartFit(Buffers(data), options_json));
}

val StartForget(qf::api::ModelHandle& self, const val& forget, const val& retain,
                const val& holdout, const std::string& options_json) {
  return Result(self.StartForget(Buffers(forget), Buffers(retain), Buffers(holdout), options_json));
}

val StartFitStreamed(qf::api::ModelHandle& self, const qf::api::StreamHandle& data,
                     const std::string& options_json) {
  return Result(self.StartFit(data, options_json));
}

val StartForgetStreamed(qf::api::ModelHandle& self, const val& forget,
                        const qf::api::StreamHandle& retain, const val& holdout,
                        const std::string& options_json) {
  return Result(self.StartForget(Buffers(forget), retain, Buffers(holdout), options_json));
}

val StreamPush(qf::api::StreamHandle& self, const val& batch, const std::string& name) {
  return Done(self.Push(Buffers(batch), name));
}

val StreamEnd(qf::api::StreamHandle& self, const std::string& name) {
  return Done(self.End(name));
}

val CommitForget(qf::api::ModelHandle& self, qf::api::ForgetHandle& forget) {
  return Done(self.CommitForget(forget));
}

val RevertForget(qf::api::ModelHandle& self, qf::api::ForgetHandle& forget) {
  return Done(self.RevertForget(forget));
}

val ForgetStep(qf::api::ForgetHandle& self, size_t max_batches) {
  return Result(self.Step(max_batches));
}

val StartMetrics(const qf::api::ModelHandle& self, const val& forget, const val& retain,
                 const val& test, const std::string& options_json) {
  return Result(
      self.StartMetrics(Buffers(forget), Buffers(retain), Buffers(test), nullptr, options_json));
}

val StartMetricsWithReference(const qf::api::ModelHandle& self, const val& forget,
                              const val& retain, const val& test,
                              const qf::api::ModelHandle& reference,
                              const std::string& options_json) {
  return Result(self.StartMetrics(Buffers(forget), Buffers(retain), Buffers(test), &reference,
                                  options_json));
}

val MetricsStep(qf::api::MetricsJob& self, size_t max_units) { return Result(self.Step(max_units)); }

val MetricsResult(const qf::api::MetricsJob& self) { return Result(self.Result()); }

val FitStep(qf::api::FitSession& self, size_t max_batches) {
  return Result(self.Step(max_batches));
}

// {forgetIds: Uint32Array, retainIds: Uint32Array, excludedClass: number | null}.
val ResolveScenario(uintptr_t labels, size_t n, const std::string& type, const std::string& spec,
                    size_t classes, double seed) {
  auto split =
      qf::api::ResolveScenario(Ptr<const uint8_t>(labels), n, type, spec, classes, uint64_t(seed));
  if (!split.ok()) return Error(split.status());
  auto ids = [](const std::vector<uint32_t>& v) {
    return val::global("Uint32Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
  };
  val out = val::object();
  out.set("forgetIds", ids(split.value().forget_ids));
  out.set("retainIds", ids(split.value().retain_ids));
  out.set("excludedClass",
          split.value().excluded_class ? val(int(*split.value().excluded_class)) : val::null());
  return Value(out);
}

// The number of samples a forget would put through the model.
val PlannedForgetSamples(const std::string& options, size_t forget, size_t retain, size_t holdout) {
  auto samples = qf::api::PlannedForgetSamples(options, forget, retain, holdout);
  if (!samples.ok()) return Error(samples.status());
  return Value(val(double(samples.value())));
}

// {dims: number[], data: Uint8Array (a copy)}.
val ParseIdx(uintptr_t bytes, size_t size) {
  auto idx = qf::api::ParseIdxBytes(Ptr<const uint8_t>(bytes), size);
  if (!idx.ok()) return Error(idx.status());
  val dims = val::array();
  for (uint32_t d : idx.value().dims) dims.call<void>("push", d);
  val out = val::object();
  out.set("dims", dims);
  out.set("data", CopyBytes(idx.value().data));
  return Value(out);
}

// {inUse, footprint, reserved, peakReserved, limit} in bytes.
val MemoryStats() {
  const qf::MemoryStats stats = qf::GetMemoryStats();
  val out = val::object();
  out.set("inUse", double(stats.in_use));
  out.set("footprint", double(stats.footprint));
  out.set("reserved", double(stats.reserved));
  out.set("peakReserved", double(stats.peak_reserved));
  out.set("limit", double(stats.limit));
  return out;
}

val SetMemoryLimit(double bytes) { return Done(qf::SetMemoryLimit(uint64_t(bytes))); }

val SetThreads(double threads) { return Done(qf::SetThreads(size_t(threads))); }

}  // namespace

EMSCRIPTEN_BINDINGS(qforget) {
  emscripten::function("version",
                       emscripten::optional_override([] { return std::string(QF_VERSION); }));
  emscripten::function(
      "kernelIsa", emscripten::optional_override([] { return std::string(qf::api::KernelIsa()); }));
  emscripten::function("matmulU8S8", &MatmulU8S8);
  emscripten::function("packMatrixS8", &PackMatrixS8);
  emscripten::class_<qf::api::PackedMatrixS8>("PackedMatrixS8")
      .function("matmul", &PackedMatmul)
      .property("k", &qf::api::PackedMatrixS8::k)
      .property("n", &qf::api::PackedMatrixS8::n);
  emscripten::function("createModel", &CreateModel);
  emscripten::function("parseIdx", &ParseIdx);
  emscripten::function("loadModel", &LoadModel);
  emscripten::function("importOnnx", &ImportOnnx);
  emscripten::function("resolveScenario", &ResolveScenario);
  emscripten::function("plannedForgetSamples", &PlannedForgetSamples);
  emscripten::function("memoryStats", &MemoryStats);
  emscripten::function("setMemoryLimit", &SetMemoryLimit);
  emscripten::function("setThreads", &SetThreads);
  emscripten::function("threads", &qf::Threads);
  emscripten::function("threadsAvailable", &qf::ThreadsAvailable);
  emscripten::class_<qf::api::ModelHandle>("ModelHandle")
      .function("describe", &qf::api::ModelHandle::Describe)
      .function("importReport", emscripten::optional_override([](const qf::api::ModelHandle& self) {
                  return self.import_report();
                }))
      .function("save", &SaveModel)
      .function("exportOnnx", &ExportOnnx)
      .function("predict", &Predict)
      .function("quantize", &Quantize)
      .function("checkDataset", &CheckDataset)
      .function("evaluate", &Evaluate)
      .function("startFit", &StartFit)
      .function("startForget", &StartForget)
      .function("openStream", &qf::api::ModelHandle::OpenStream)
      .function("startFitStreamed", &StartFitStreamed)
      .function("startForgetStreamed", &StartForgetStreamed)
      .function("commitForget", &CommitForget)
      .function("revertForget", &RevertForget)
      .function("startMetrics", &StartMetrics)
      .function("startMetricsWithReference", &StartMetricsWithReference)
      .property("numClasses", &qf::api::ModelHandle::num_classes)
      .property("sampleSize", &qf::api::ModelHandle::sample_size);
  emscripten::class_<qf::api::StreamHandle>("StreamHandle")
      .function("push", &StreamPush)
      .function("end", &StreamEnd)
      .function("demand", &qf::api::StreamHandle::Demand)
      .property("size", &qf::api::StreamHandle::size);
  emscripten::class_<qf::api::FitSession>("FitSession").function("step", &FitStep);
  emscripten::class_<qf::api::MetricsJob>("MetricsJob")
      .function("step", &MetricsStep)
      .function("result", &MetricsResult);
  emscripten::class_<qf::api::ForgetHandle>("ForgetHandle")
      .function("step", &ForgetStep)
      .property("forgotten", &qf::api::ForgetHandle::forgotten)
      .property("method", &qf::api::ForgetHandle::method);
}
