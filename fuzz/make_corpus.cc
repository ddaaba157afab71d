// Writes the model-file seeds of fuzz/corpus/model_file/: small models (built-in lenet on
// a tiny input and custom layer lists that use every layer type) created from a fixed
// seed, trained for a few batches on fixed random data so that the input steps are set,
// then saved with and without shadow weights; and the regression files, valid files of
// models past the engine's limits, made by editing a saved header. Deterministic: same
// build, same bytes. Usage: fuzz_make_corpus <output folder>. A generator, not a test.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "api/model_api.h"
#include "fuzz_util.h"
#include "core/json.h"

namespace {

struct Seed {
  const char* name;
  const char* spec;
  bool shadow;
};

const Seed kSeeds[] = {
    {"dense_2bit", R"({"arch":"custom","inputShape":[4,4,1],"numClasses":3,"weightBits":2,
      "seed":7,"layers":[{"type":"flatten"},{"type":"dense","units":8},{"type":"relu"},
      {"type":"dense","units":3,"bits":8}]})",
     true},
    {"dense_3bit_noshadow", R"({"arch":"custom","inputShape":[6],"numClasses":2,"weightBits":3,
      "perChannel":false,"seed":3,"layers":[{"type":"dense","units":5},{"type":"relu6"},
      {"type":"dense","units":2,"bits":32}]})",
     false},
    {"conv_pool_bn", R"({"arch":"custom","inputShape":[6,6,2],"numClasses":4,"weightBits":4,
      "seed":11,"layers":[{"type":"conv2d","filters":4,"kernel":3,"padding":"same"},
      {"type":"batch_norm"},{"type":"relu"},{"type":"max_pool2d"},
      {"type":"depthwise_conv2d","kernel":[2,3],"stride":1,"padding":[0,1,1,1]},
      {"type":"avg_pool2d","pool":2,"stride":1},{"type":"flatten"},
      {"type":"dense","units":4,"bits":8}]})",
     true},
    {"residual_float", R"({"arch":"custom","inputShape":[4,4,1],"numClasses":2,"weightBits":32,
      "seed":5,"layers":[{"type":"conv2d","filters":2,"kernel":1},
      {"type":"residual","body":[{"type":"conv2d","filters":2,"kernel":3,"padding":"same"},
      {"type":"batch_norm","momentum":0.5,"eps":0.001},{"type":"relu","cap":2.5}]},
      {"type":"residual","body":[{"type":"conv2d","filters":3,"kernel":3,"stride":2,
      "padding":"same","bits":2}],"shortcut":[{"type":"conv2d","filters":3,"kernel":1,
      "stride":2,"bits":8,"perChannel":false}]},
      {"type":"sequential","layers":[{"type":"global_avg_pool"}]},
      {"type":"dense","units":2}]})",
     true},
    {"lenet_2bit_noshadow", R"({"arch":"lenet","inputShape":[4,4,1],"numClasses":2,
      "weightBits":2,"edgeBits":4,"seed":1})",
     false},
};

// Valid files whose header.model asks for more than the engine allows: `spec` builds a
// small model, then `from` in the saved header is replaced by `to` (the tensors stay the
// same, so only the architecture's limits can refuse the file).
struct Regression {
  const char* name;
  const char* spec;
  const char* from;
  const char* to;
};

const Regression kRegressions[] = {
    // conv2d padding 4096 on each side of a 1x1 image: 8193 x 8193 x 16 outputs, 4 GB of
    // floats per sample. Before the activation limit this loaded and predict() allocated.
    {"regression-padding-blowup", R"({"arch":"custom","inputShape":[1,1,1],"numClasses":2,
      "weightBits":8,"seed":2,"layers":[{"type":"conv2d","filters":16,"kernel":1},
      {"type":"global_avg_pool"},{"type":"dense","units":2}]})",
     R"("padding":"valid")", R"("padding":[4096,4096,4096,4096])"},
};

void Require(const qf::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "make_corpus: %s: %s\n", what, s.message().c_str());
  std::exit(1);
}

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output folder>\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  for (const Seed& seed : kSeeds) {
    qf::StatusOr<qf::api::ModelHandle> created = qf::api::ModelHandle::Create(seed.spec);
    Require(created.status(), seed.name);
    qf::api::ModelHandle& model = created.value();
    // A few batches on fixed random data: steps move off their initial values and the
    // input quantizers record their flags.
    const size_t n = 16, sample = model.sample_size();
    const std::vector<uint8_t> x = qf::fuzz::Pixels(n * sample, 42);
    std::vector<uint8_t> y(n);
    for (size_t i = 0; i < n; i++) y[i] = uint8_t(i % model.num_classes());
    const qf::Json description = qf::ParseJson(model.Describe()).value();
    std::string shape_json = "[" + std::to_string(n);
    for (const qf::Json& d : description.Find("inputShape")->AsArray()) {
      shape_json += "," + d.Dump();
    }
    shape_json += "]";
    qf::api::DatasetBuffers data;
    data.x = x.data();
    data.x_len = x.size();
    data.y = y.data();
    data.y_len = y.size();
    data.shape_json = shape_json;
    qf::StatusOr<qf::api::FitSession> fit =
        model.StartFit(data, R"({"epochs":1,"batchSize":8,"lr":0.05,"seed":1})");
    Require(fit.status(), seed.name);
    qf::StatusOr<std::string> step = fit.value().Step(100);
    Require(step.status(), seed.name);

    qf::StatusOr<std::vector<uint8_t>> bytes = model.Save(seed.shadow);
    Require(bytes.status(), seed.name);
    const std::string path = out + "/" + seed.name + ".qfm";
    if (!WriteFile(path, bytes.value())) {
      std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.value().size());
  }

  for (const Regression& r : kRegressions) {
    qf::StatusOr<qf::api::ModelHandle> created = qf::api::ModelHandle::Create(r.spec);
    Require(created.status(), r.name);
    qf::StatusOr<std::vector<uint8_t>> bytes = created.value().Save(/*with_shadow=*/false);
    Require(bytes.status(), r.name);
    qf::fuzz::ModelFileParts parts;
    QF_FUZZ_REQUIRE(qf::fuzz::SplitModelFile(bytes.value().data(), bytes.value().size(), &parts));
    const size_t at = parts.header.find(r.from);
    QF_FUZZ_REQUIRE(at != std::string::npos);
    parts.header.replace(at, std::strlen(r.from), r.to);
    const std::string path = out + "/" + r.name + ".qfm";
    const std::vector<uint8_t> file = qf::fuzz::JoinModelFile(parts);
    if (!WriteFile(path, file)) {
      std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", path.c_str(), file.size());
  }
  return 0;
}
