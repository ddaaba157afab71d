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

// ---- ONNX graph records (fuzz_onnx_record) ---------------------------------------------

// A record under construction: tensors appended to the payload at multiples of 8, with
// deterministic values.
struct OnnxSeed {
  std::string tensors, nodes;
  std::vector<uint8_t> payload;
  uint32_t lcg = 12345;

  void Tensor(const char* name, const char* type, const std::string& dims, const void* bytes,
              size_t n) {
    while (payload.size() % 8) payload.push_back(0);
    tensors += std::string(tensors.empty() ? "" : ",") + R"({"name":")" + name + R"(","type":")" +
               type + R"(","dims":)" + dims + R"(,"initializer":true,"offset":)" +
               std::to_string(payload.size()) + R"(,"length":)" + std::to_string(n) +
               R"(,"external":false})";
    const uint8_t* p = static_cast<const uint8_t*>(bytes);
    payload.insert(payload.end(), p, p + n);
  }
  void Floats(const char* name, const std::string& dims, size_t n) {
    std::vector<float> v(n);
    for (float& x : v) {
      lcg = lcg * 1103515245u + 12345u;
      x = float(int(lcg >> 16) % 2001 - 1000) / 2000.0f;
    }
    Tensor(name, "FLOAT", dims, v.data(), 4 * n);
  }
  void Int64s(const char* name, const std::string& dims, std::vector<int64_t> v) {
    Tensor(name, "INT64", dims, v.data(), 8 * v.size());
  }
  void Node(const std::string& json) { nodes += (nodes.empty() ? "" : ",") + json; }
  std::vector<uint8_t> Input(const std::string& input_shape) const {
    const std::string json =
        R"({"irVersion":8,"opsets":{"":13},"producer":"make_corpus","graphName":"g","inputs":[{"name":"x","type":"FLOAT","shape":)" +
        input_shape + R"(}],"outputs":[{"name":"y","type":"FLOAT","shape":null}],"tensors":[)" +
        tensors + R"(],"nodes":[)" + nodes + "]}";
    return qf::fuzz::JoinOnnxInput(json, payload);
  }
};

std::vector<std::pair<std::string, std::vector<uint8_t>>> OnnxSeeds() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;
  {
    OnnxSeed s;
    s.Floats("w1", "[6,4]", 24);
    s.Floats("b1", "[6]", 6);
    s.Floats("w2", "[6,3]", 18);
    s.Node(R"({"name":"fc1","op":"Gemm","inputs":["x","w1","b1"],"outputs":["h"],"attrs":{"transB":{"i":1}}})");
    s.Node(R"({"name":"relu","op":"Relu","inputs":["h"],"outputs":["a"],"attrs":{}})");
    s.Node(R"({"name":"fc2","op":"MatMul","inputs":["a","w2"],"outputs":["m"],"attrs":{}})");
    s.Node(R"({"name":"sm","op":"Softmax","inputs":["m"],"outputs":["y"],"attrs":{"axis":{"i":1}}})");
    seeds.emplace_back("mlp", s.Input("[null,4]"));
  }
  {
    OnnxSeed s;
    s.Floats("cw", "[2,1,3,3]", 18);
    s.Floats("cb", "[2]", 2);
    s.Floats("fw", "[3,18]", 54);
    s.Int64s("zero", "[]", {0});
    s.Int64s("axes", "[1]", {0});
    s.Int64s("minus1", "[1]", {-1});
    s.Node(R"({"name":"conv","op":"Conv","inputs":["x","cw","cb"],"outputs":["c"],"attrs":{"kernel_shape":{"ints":[3,3]},"pads":{"ints":[1,1,1,1]}}})");
    s.Node(R"({"name":"relu","op":"Relu","inputs":["c"],"outputs":["a"]})");
    s.Node(R"({"name":"pool","op":"MaxPool","inputs":["a"],"outputs":["p"],"attrs":{"kernel_shape":{"ints":[2,2]},"strides":{"ints":[2,2]}}})");
    s.Node(R"({"name":"shape","op":"Shape","inputs":["p"],"outputs":["s"]})");
    s.Node(R"({"name":"gather","op":"Gather","inputs":["s","zero"],"outputs":["n"],"attrs":{"axis":{"i":0}}})");
    s.Node(R"({"name":"unsq","op":"Unsqueeze","inputs":["n","axes"],"outputs":["n1"]})");
    s.Node(R"({"name":"concat","op":"Concat","inputs":["n1","minus1"],"outputs":["shp"],"attrs":{"axis":{"i":0}}})");
    s.Node(R"({"name":"reshape","op":"Reshape","inputs":["p","shp"],"outputs":["f"]})");
    s.Node(R"({"name":"fc","op":"Gemm","inputs":["f","fw"],"outputs":["y"],"attrs":{"transB":{"i":1}}})");
    seeds.emplace_back("conv_torch_reshape", s.Input(R"(["batch",1,6,6])"));
  }
  {
    OnnxSeed s;
    s.Floats("w0", "[2,2,3,3]", 36);
    s.Floats("g", "[2]", 2);
    s.Floats("b", "[2]", 2);
    s.Floats("m", "[2]", 2);
    const float var[2] = {1.0f, 0.5f};
    s.Tensor("v", "FLOAT", "[2]", var, 8);
    s.Floats("dw", "[2,1,3,3]", 18);
    s.Floats("fw", "[2,3]", 6);
    s.Node(R"({"name":"relu0","op":"Relu","inputs":["x"],"outputs":["x0"]})");
    s.Node(R"({"name":"conv","op":"Conv","inputs":["x0","w0"],"outputs":["c"],"attrs":{"auto_pad":{"s":"SAME_UPPER"}}})");
    s.Node(R"({"name":"bn","op":"BatchNormalization","inputs":["c","g","b","m","v"],"outputs":["n"]})");
    s.Node(R"({"name":"add","op":"Add","inputs":["n","x0"],"outputs":["r"]})");
    s.Node(R"({"name":"dw","op":"Conv","inputs":["r","dw"],"outputs":["d"],"attrs":{"group":{"i":2},"pads":{"ints":[1,1,1,1]}}})");
    s.Node(R"({"name":"clip","op":"Clip","inputs":["d","zero","six"],"outputs":["a"]})");
    const float six = 6.0f, zero = 0.0f;
    s.Tensor("six", "FLOAT", "[]", &six, 4);
    s.Tensor("zero", "FLOAT", "[]", &zero, 4);
    s.Node(R"({"name":"gap","op":"GlobalAveragePool","inputs":["a"],"outputs":["gp"]})");
    s.Node(R"({"name":"flat","op":"Flatten","inputs":["gp"],"outputs":["f"]})");
    s.Node(R"({"name":"fc","op":"MatMul","inputs":["f","fw"],"outputs":["y"]})");
    seeds.emplace_back("residual_depthwise", s.Input("[1,2,5,5]"));
  }
  {
    OnnxSeed s;
    int8_t codes[12];
    for (int i = 0; i < 12; i++) codes[i] = int8_t(i * 23 % 255 - 127);
    s.Tensor("wq", "INT8", "[4,3]", codes, 12);
    const float scales[3] = {0.01f, 0.02f, 0.03f};
    s.Tensor("ws", "FLOAT", "[3]", scales, 12);
    const float xs = 0.05f;
    s.Tensor("xs", "FLOAT", "[]", &xs, 4);
    const uint8_t xz = 128;
    s.Tensor("xz", "UINT8", "[]", &xz, 1);
    s.Node(R"({"name":"dq_w","op":"DequantizeLinear","inputs":["wq","ws"],"outputs":["w"],"attrs":{"axis":{"i":1}}})");
    s.Node(R"({"name":"q_x","op":"QuantizeLinear","inputs":["x","xs","xz"],"outputs":["xq"]})");
    s.Node(R"({"name":"dq_x","op":"DequantizeLinear","inputs":["xq","xs","xz"],"outputs":["xd"]})");
    s.Node(R"({"name":"fc","op":"MatMul","inputs":["xd","w"],"outputs":["y"]})");
    seeds.emplace_back("qdq", s.Input("[null,4]"));
  }
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s <model-file folder> [<onnx-record folder>]\n", argv[0]);
    return 2;
  }
  if (argc == 3) {
    for (const auto& [name, bytes] : OnnxSeeds()) {
      const std::string path = std::string(argv[2]) + "/" + name + ".bin";
      if (!WriteFile(path, bytes)) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
        return 1;
      }
      std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
    }
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
