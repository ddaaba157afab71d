// Model: pixels in, logits out, around a built Sequential.
#include "nn/model.h"

#include "nn/architectures.h"

namespace qf::nn {

Model::Model(ModelSpec spec, std::unique_ptr<Sequential> net)
    : spec_(std::move(spec)), net_(std::move(net)) {
  net_->CollectParams(&params_);
}

StatusOr<std::unique_ptr<Model>> Model::Create(const ModelSpec& spec) {
  StatusOr<std::unique_ptr<Sequential>> net = BuildArchitecture(spec);
  if (!net.ok()) return net.status();
  BuildInfo info;
  info.network_input = true;
  info.input_non_negative = true;
  info.name = "";
  StatusOr<Shape> out = net.value()->Build(spec.input, info);
  if (!out.ok()) return out.status();
  if (out.value() != Shape{spec.classes}) {
    return Status(StatusCode::kInternal, "architecture '" + spec.arch + "' produced output " +
                                             out.value().ToString() + ", expected [" +
                                             std::to_string(spec.classes) + "]");
  }
  Rng rng(spec.seed);
  net.value()->Init(rng);
  return std::unique_ptr<Model>(new Model(spec, std::move(net).value()));
}

void Model::Forward(const uint8_t* pixels, size_t n, Tensor* logits, Mode mode) {
  const size_t per_sample = spec_.input.size();
  input_.Resize(spec_.input.WithBatch(n));
  for (size_t i = 0; i < n * per_sample; i++) input_[i] = float(pixels[i]) * (1.0f / 255.0f);
  net_->Forward(input_, logits, mode);
}

void Model::Backward(const Tensor& dlogits) { net_->Backward(dlogits, nullptr); }

}  // namespace qf::nn
