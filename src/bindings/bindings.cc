// Embind glue: exposes src/api to JS. No logic here: pointers arrive as numbers (wasm
// heap offsets owned by the JS wrapper), results leave as {value} or {error}.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>

#include "api/kernels_api.h"

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
}
