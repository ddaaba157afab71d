// The model file: round trips of every built-in arch at every bit width, with and without
// shadow weights, after training (same predictions bit for bit, same state); then
// corruption of one small file: truncations, bit flips (caught by the checksum),
// structural damage behind a valid checksum, and values a model cannot hold.
#include "io/model_file.h"

#include <catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/inflate.h"
#include "core/json.h"
#include "nn/model_json.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace qf::io {
namespace {

// ---- helpers ---------------------------------------------------------------------------

// Everything CollectState shows, by name: floats, quantized weights (and their grids'
// parameters), flags.
struct Snapshot : nn::StateVisitor {
  std::map<std::string, std::vector<float>> floats;
  std::map<std::string, int> bits;
  std::map<std::string, bool> flags;
  void Float(const std::string& name, Tensor* t, nn::FloatRule) override {
    floats[name] = t->values();
  }
  void Quantized(const nn::QuantizedWeightState& q) override {
    floats[q.name] = q.weight->values();
    for (const nn::Param* p : q.params) floats[p->name] = p->value.values();
    bits[q.name] = q.grid.bits;
  }
  void Flag(const std::string& name, bool* v) override { flags[name] = *v; }
};

Snapshot Snap(nn::Model& m) {
  Snapshot s;
  m.CollectState(&s);
  return s;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

Tensor Predict(nn::Model& m, const std::vector<uint8_t>& x, size_t n) {
  Tensor logits;
  m.Forward(x.data(), n, &logits, nn::Mode::kEval);
  return logits;
}

std::unique_ptr<nn::Model> Load(const std::vector<uint8_t>& bytes) {
  auto m = LoadModel(bytes.data(), bytes.size());
  INFO((m.ok() ? "" : m.status().message()));
  REQUIRE(m.ok());
  return std::move(m).value();
}

std::vector<uint8_t> Save(nn::Model& m, bool shadow) {
  SaveOptions o;
  o.include_shadow = shadow;
  auto bytes = SaveModel(m, o);
  INFO((bytes.ok() ? "" : bytes.status().message()));
  REQUIRE(bytes.ok());
  return std::move(bytes).value();
}

void TrainSteps(nn::Model& m, const train::Dataset& data, size_t batch) {
  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = batch;
  o.lr = 0.02f;
  o.optimizer.momentum = 0.9f;
  auto history = train::Fit(m, data, o);
  INFO((history.ok() ? "" : history.status().message()));
  REQUIRE(history.ok());
}

// A file taken apart: header JSON text and payload bytes; Frame() puts one together
// again with a valid checksum (so that only the structural checks can object).
struct Parts {
  Json header;
  std::vector<uint8_t> payload;
  uint32_t version = kModelFileVersion2;  // what SmallModel (plain pixels) saves as
};

uint32_t U32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}

Parts Split(const std::vector<uint8_t>& bytes) {
  Parts parts;
  const size_t h = U32(&bytes[12]);
  auto header = ParseJson(std::string_view(reinterpret_cast<const char*>(&bytes[16]), h));
  REQUIRE(header.ok());
  parts.header = header.value();
  const size_t start = (16 + h + 7) / 8 * 8;
  parts.payload.assign(bytes.begin() + long(start), bytes.end() - 4);
  return parts;
}

void Recrc(std::vector<uint8_t>* bytes) {
  PutU32(bytes->data() + bytes->size() - 4, Crc32(bytes->data(), bytes->size() - 4));
}

std::vector<uint8_t> Frame(const std::string& text, const std::vector<uint8_t>& payload,
                           uint32_t version = kModelFileVersion2) {
  const size_t start = (16 + text.size() + 7) / 8 * 8;
  std::vector<uint8_t> out(start + payload.size() + 4, 0);
  std::memcpy(out.data(), "QFMODEL", 8);
  PutU32(&out[8], version);
  PutU32(&out[12], uint32_t(text.size()));
  std::memcpy(&out[16], text.data(), text.size());
  std::memcpy(&out[start], payload.data(), payload.size());
  Recrc(&out);
  return out;
}
std::vector<uint8_t> Frame(const Parts& p) { return Frame(p.header.Dump(), p.payload, p.version); }

void ExpectRefused(const std::vector<uint8_t>& bytes, StatusCode code,
                   const std::string& fragment) {
  auto m = LoadModel(bytes.data(), bytes.size());
  REQUIRE(!m.ok());
  INFO(m.status().message());
  CHECK(m.status().code() == code);
  CHECK(m.status().message().find(fragment) != std::string::npos);
}

// A small model that has every kind of state: 4-bit conv on the network input (fixed
// input step), BatchNorm, a 3-bit depthwise conv in a residual, a float dense layer and a
// per-tensor 2-bit dense layer; code counts 27, 27 and 21 leave padding bits.
const char kSmall[] = R"({"arch": "custom", "inputShape": [5, 5, 1], "numClasses": 3,
  "weightBits": 4, "seed": 2, "layers": [
  {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same"},
  {"type": "batch_norm"},
  {"type": "relu"},
  {"type": "residual", "body": [{"type": "depthwise_conv2d", "kernel": 3, "padding": "same",
                                 "bits": 3}, {"type": "relu6"}]},
  {"type": "max_pool2d", "pool": 2},
  {"type": "flatten"},
  {"type": "dense", "units": 7, "bits": 32},
  {"type": "relu"},
  {"type": "dense", "units": 3, "bits": 2, "perChannel": false}]})";

std::unique_ptr<nn::Model> SmallModel() {
  auto options = ParseJson(kSmall);
  REQUIRE(options.ok());
  auto spec = nn::ModelSpecFromJson(options.value());
  REQUIRE(spec.ok());
  auto model = nn::Model::Create(spec.value());
  INFO((model.ok() ? "" : model.status().message()));
  REQUIRE(model.ok());
  train::Dataset data = test::SyntheticImages(24, 8, 3, 5);
  // Synthetic images are 8x8: crop them to 5x5.
  train::Dataset small;
  small.sample = Shape{5, 5, 1};
  small.y = data.y;
  for (size_t i = 0; i < data.size(); i++) {
    for (size_t r = 0; r < 5; r++) {
      for (size_t c = 0; c < 5; c++) small.x.push_back(data.x[i * 64 + r * 8 + c]);
    }
  }
  TrainSteps(*model.value(), small, 8);
  return std::move(model).value();
}

// Index of the tensors entry called `name`.
size_t EntryIndex(const Json& header, const std::string& name) {
  const Json::Array& t = header.Find("tensors")->AsArray();
  for (size_t i = 0; i < t.size(); i++) {
    if (t[i].Find("name")->AsString() == name) return i;
  }
  FAIL("no tensor " << name);
  return 0;
}

Json& EntryOf(Parts& p, size_t i) {
  // Json has no mutable element access; p.header itself is not const, so this is legal.
  return const_cast<Json&>(p.header.Find("tensors")->AsArray()[i]);
}

size_t OffsetOf(const Json& header, const std::string& name) {
  return size_t(
      header.Find("tensors")->AsArray()[EntryIndex(header, name)].Find("offset")->AsNumber());
}

// ---- round trips -----------------------------------------------------------------------

TEST_CASE("saved models load with identical predictions and state", "[engine][model_file]") {
  const train::Dataset data = test::SyntheticImages(32, 12, 5, 7);
  const std::vector<uint8_t> x(data.x.begin(), data.x.begin() + 6 * 144);
  for (const char* arch : {"mlp", "lenet", "resnet8", "mobilenetv2"}) {
    for (int bits : {32, 8, 4, 3, 2}) {
      INFO(arch << " bits " << bits);
      nn::ModelSpec spec;
      spec.arch = arch;
      spec.input = Shape{12, 12, 1};
      spec.classes = 5;
      spec.weight_bits = bits;
      spec.edge_bits = bits == 32 ? 8 : bits;  // all layers at `bits`
      spec.per_channel = bits != 3;
      auto created = nn::Model::Create(spec);
      REQUIRE(created.ok());
      nn::Model& model = *created.value();
      TrainSteps(model, data, 16);
      const Tensor expected = Predict(model, x, 6);
      const Snapshot before = Snap(model);

      for (bool shadow : {true, false}) {
        INFO("shadow " << shadow);
        const std::vector<uint8_t> bytes = Save(model, shadow);
        auto loaded = Load(bytes);
        CHECK(loaded->Describe() == model.Describe());
        const Tensor got = Predict(*loaded, x, 6);
        REQUIRE(got.shape() == expected.shape());
        CHECK(SameBits(got.values(), expected.values()));
        const Snapshot after = Snap(*loaded);
        CHECK(after.flags == before.flags);
        REQUIRE(after.floats.size() == before.floats.size());
        for (const auto& [name, values] : before.floats) {
          INFO(name);
          REQUIRE(after.floats.count(name));
          const bool quantized_weight = before.bits.count(name) != 0;
          if (shadow || !quantized_weight) {
            CHECK(SameBits(after.floats.at(name), values));
          } else {
            CHECK(after.floats.at(name) != values);  // on the grid now, not the shadow
          }
        }
        // Saving the loaded model gives the same bytes: codes, steps, everything.
        CHECK(Save(*loaded, shadow) == bytes);
        // And it trains further.
        if (!shadow && bits == 4) {
          TrainSteps(*loaded, data, 16);
          CHECK(std::isfinite(Predict(*loaded, x, 6)[0]));
        }
      }
    }
  }
}

// lenet at 4 bits (per channel or per tensor) with `scheme` on its inner layers, trained a
// few steps.
std::unique_ptr<nn::Model> SchemeModel(quant::WeightScheme scheme, bool per_channel,
                                       const train::Dataset& data, int activation_bits = 8) {
  nn::ModelSpec spec;
  spec.arch = "lenet";
  spec.input = Shape{12, 12, 1};
  spec.classes = 5;
  spec.weight_bits = 4;
  spec.per_channel = per_channel;
  spec.weight_scheme = scheme;
  spec.activation_bits = activation_bits;
  auto created = nn::Model::Create(spec);
  INFO((created.ok() ? "" : created.status().message()));
  REQUIRE(created.ok());
  TrainSteps(*created.value(), data, 16);
  return std::move(created).value();
}

TEST_CASE("every weight scheme round-trips through a version-4 file", "[engine][model_file]") {
  const train::Dataset data = test::SyntheticImages(32, 12, 5, 7);
  const std::vector<uint8_t> x(data.x.begin(), data.x.begin() + 6 * 144);
  for (quant::WeightScheme scheme :
       {quant::WeightScheme::kAsymmetric, quant::WeightScheme::kPowerOfTwo,
        quant::WeightScheme::kApot, quant::WeightScheme::kCodebook}) {
    for (bool per_channel : {true, false}) {
      INFO(quant::SchemeName(scheme) << " per_channel " << per_channel);
      auto model = SchemeModel(scheme, per_channel, data);
      const Tensor expected = Predict(*model, x, 6);
      const Snapshot before = Snap(*model);
      for (bool shadow : {true, false}) {
        INFO("shadow " << shadow);
        const std::vector<uint8_t> bytes = Save(*model, shadow);
        CHECK(U32(&bytes[8]) == 4);
        auto loaded = Load(bytes);
        CHECK(loaded->Describe() == model->Describe());
        CHECK(SameBits(Predict(*loaded, x, 6).values(), expected.values()));
        const Snapshot after = Snap(*loaded);
        REQUIRE(after.floats.size() == before.floats.size());
        for (const auto& [name, values] : before.floats) {
          INFO(name);
          if (shadow || !before.bits.count(name)) CHECK(SameBits(after.floats.at(name), values));
        }
        CHECK(Save(*loaded, shadow) == bytes);
      }
      // The grid's own tensors are in the file under their names.
      const Parts parts = Split(Save(*model, false));
      const char* own = scheme == quant::WeightScheme::kAsymmetric ? "3.weight_offset"
                        : scheme == quant::WeightScheme::kCodebook ? "3.weight_levels"
                                                                   : "3.weight_step";
      EntryIndex(parts.header, own);
    }
  }
  // A uniform model is still written as the version it was; with 4-bit activations, as
  // version 4, and it round-trips.
  auto uniform = SchemeModel(quant::WeightScheme::kUniform, true, data);
  CHECK(U32(&Save(*uniform, false)[8]) == kModelFileVersion2);
  auto four = SchemeModel(quant::WeightScheme::kUniform, true, data, 4);
  const std::vector<uint8_t> bytes = Save(*four, false);
  CHECK(U32(&bytes[8]) == 4);
  auto loaded = Load(bytes);
  CHECK(loaded->Describe().Find("activationBits")->AsNumber() == 4);
  CHECK(SameBits(Predict(*loaded, x, 6).values(), Predict(*four, x, 6).values()));
}

TEST_CASE("a damaged grid in a file is refused", "[engine][model_file]") {
  const train::Dataset data = test::SyntheticImages(32, 12, 5, 7);
  uint32_t nan_bits;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan_bits, &nan, 4);
  {
    auto model = SchemeModel(quant::WeightScheme::kCodebook, true, data);
    Parts p = Split(Save(*model, false));
    p.version = 4;
    PutU32(&p.payload[OffsetOf(p.header, "3.weight_levels") + 4 * 3], nan_bits);
    ExpectRefused(Frame(p), StatusCode::kDataLoss, "\"3.weight_levels\": value 3 is NaN");
  }
  {
    // pow2 never uses code qn (-8 at 4 bits): a file holding it is not the writer's.
    auto model = SchemeModel(quant::WeightScheme::kPowerOfTwo, true, data);
    Parts p = Split(Save(*model, false));
    p.version = 4;
    uint8_t& first = p.payload[OffsetOf(p.header, "3.weight_codes")];
    first = uint8_t((first & 0xF0) | 0x8);  // code 0 = -8
    ExpectRefused(Frame(p), StatusCode::kDataLoss, "\"3.weight_codes\": code 0 (-8) disagrees");
  }
}

TEST_CASE("quantized weights are stored packed at their bit width", "[engine][model_file]") {
  nn::ModelSpec spec;
  spec.input = Shape{12, 12, 1};
  spec.classes = 4;
  for (int bits : {32, 8, 4, 3, 2}) {
    INFO("bits " << bits);
    spec.weight_bits = spec.edge_bits = bits;
    auto model = nn::Model::Create(spec);
    REQUIRE(model.ok());
    const Parts parts = Split(Save(*model.value(), false));
    const Json& entry = parts.header.Find("tensors")->AsArray()[0];  // 144 x 256
    const double n = 144 * 256;
    if (bits == 32) {
      CHECK(entry.Find("name")->AsString() == "1.weight");
      CHECK(entry.Find("role")->AsString() == "float");
      CHECK(entry.Find("length")->AsNumber() == 4 * n);
    } else {
      CHECK(entry.Find("name")->AsString() == "1.weight_codes");
      CHECK(entry.Find("role")->AsString() == "codes");
      CHECK(entry.Find("bits")->AsNumber() == bits);
      CHECK(entry.Find("length")->AsNumber() == n / (bits == 8 ? 1 : bits == 2 ? 4 : 2));
    }
    CHECK(parts.header.Find("shadow")->AsBool() == false);
    CHECK(parts.header.Find("model")->Find("arch")->AsString() == "mlp");
  }
}

TEST_CASE("an untrained model round-trips, its input steps still to be initialized",
          "[engine][model_file]") {
  auto created = nn::Model::Create(nn::ModelSpec{});
  REQUIRE(created.ok());
  nn::Model& model = *created.value();
  auto loaded = Load(Save(model, false));
  const Snapshot s = Snap(*loaded);
  REQUIRE(!s.flags.empty());
  for (const auto& [name, value] : s.flags) CHECK(!value);
  std::vector<uint8_t> x(3 * 784);
  for (size_t i = 0; i < x.size(); i++) x[i] = uint8_t(i * 7);
  // Both initialize their steps from this batch, identically.
  CHECK(SameBits(Predict(*loaded, x, 3).values(), Predict(model, x, 3).values()));
}

TEST_CASE("predicting with a never-trained model changes nothing", "[engine][model_file]") {
  auto created = nn::Model::Create(nn::ModelSpec{});
  REQUIRE(created.ok());
  nn::Model& model = *created.value();
  const std::vector<uint8_t> before = Save(model, true);
  std::vector<uint8_t> x(3 * 784), other(5 * 784);
  for (size_t i = 0; i < x.size(); i++) x[i] = uint8_t(i * 7);
  for (size_t i = 0; i < other.size(); i++) other[i] = uint8_t(i * 13 + 5);
  const Tensor first = Predict(model, x, 3);
  Predict(model, other, 5);
  CHECK(Save(model, true) == before);
  // Each batch is quantized with steps from itself: the other batch left none behind.
  CHECK(SameBits(Predict(model, x, 3).values(), first.values()));
}

// ---- corruption ------------------------------------------------------------------------

TEST_CASE("truncated and bit-flipped files are refused", "[engine][model_file]") {
  auto model = SmallModel();
  const std::vector<uint8_t> bytes = Save(*model, true);
  REQUIRE(bytes.size() < 4096);
  Load(bytes);  // the intact file loads

  CHECK(!LoadModel(nullptr, 0).ok());
  for (size_t n = 0; n < bytes.size(); n++) {
    auto m = LoadModel(bytes.data(), n);
    REQUIRE(!m.ok());
    REQUIRE(m.status().code() == StatusCode::kDataLoss);
  }
  std::vector<uint8_t> flipped = bytes;
  for (size_t i = 0; i < bytes.size(); i++) {
    for (int bit = 0; bit < 8; bit++) {
      flipped[i] ^= uint8_t(1 << bit);
      auto m = LoadModel(flipped.data(), flipped.size());
      flipped[i] ^= uint8_t(1 << bit);
      INFO("byte " << i << " bit " << bit);
      REQUIRE(!m.ok());
      const std::string& msg = m.status().message();
      if (i < 8) {
        REQUIRE(msg.find("not a qforget model file") != std::string::npos);
      } else if (i < 12) {  // the version field: newer is Unimplemented, 0 corrupt, another
                            // known version reaches the checksum
        REQUIRE((msg.find("version") != std::string::npos ||
                 msg.find("checksum mismatch") != std::string::npos));
      } else {
        REQUIRE(m.status().code() == StatusCode::kDataLoss);
        REQUIRE((msg.find("checksum mismatch") != std::string::npos ||
                 msg.find("does not fit") != std::string::npos));
      }
    }
  }
}

TEST_CASE("foreign and newer files are refused", "[engine][model_file]") {
  auto model = SmallModel();
  const std::vector<uint8_t> bytes = Save(*model, false);
  std::vector<uint8_t> b = bytes;
  std::memcpy(b.data(), "GIF89a\0\0", 8);
  ExpectRefused(b, StatusCode::kDataLoss, "not a qforget model file");
  Parts p = Split(bytes);
  p.version = 5;
  ExpectRefused(Frame(p), StatusCode::kUnimplemented,
                "model file format version 5 is newer than this build of qforget reads "
                "(version 4)");
  p.version = 0;
  ExpectRefused(Frame(p), StatusCode::kDataLoss, "format version 0");
  b = bytes;
  PutU32(&b[12], uint32_t(b.size()));
  Recrc(&b);
  ExpectRefused(b, StatusCode::kDataLoss, "does not fit");
  b = bytes;
  b[b.size() - 1] ^= 1;
  ExpectRefused(b, StatusCode::kDataLoss, "checksum mismatch");
}

TEST_CASE("structural damage behind a valid checksum is refused", "[engine][model_file]") {
  auto model = SmallModel();
  const std::vector<uint8_t> bytes = Save(*model, true);
  const Parts good = Split(bytes);
  CHECK(Frame(good) == bytes);  // Split/Frame reproduce the writer
  const StatusCode kLoss = StatusCode::kDataLoss;

  auto header_case = [&](const std::string& text, const std::string& fragment) {
    INFO(text.substr(0, 200));
    ExpectRefused(Frame(text, good.payload), kLoss, fragment);
  };
  header_case("{\"model\":", "header: line 1 column 10");
  header_case("[]", "header: expected an object");

  auto with = [&](const std::function<void(Parts&)>& change, const std::string& fragment) {
    Parts p = good;
    change(p);
    ExpectRefused(Frame(p), kLoss, fragment);
  };
  with([](Parts& p) { p.header.Set("extra", Json::Null()); }, "header.extra: unknown key");
  with([](Parts& p) { p.header.Set("writer", Json::Number(1)); },
       "header.writer: expected a string");
  with([](Parts& p) { p.header.Set("shadow", Json::String("yes")); },
       "header.shadow: expected true or false");
  with([](Parts& p) { p.header.Set("tensors", Json::MakeObject()); },
       "header.tensors: expected an array");
  with([](Parts& p) { p.header.Set("payloadBytes", Json::Number(8)); },
       "header.payloadBytes: 8 does not match the file size");
  with(
      [](Parts& p) {
        Json m = *p.header.Find("model");
        m.Set("numClasses", Json::Number(1));
        p.header.Set("model", m);
      },
      "header.model.numClasses: 1 is outside the allowed range 2..65535");
  with(
      [](Parts& p) {
        Json m = *p.header.Find("model");
        Json layer = m.Find("layers")->AsArray()[0];
        layer.Set("filtres", Json::Number(3));
        Json layers = Json::MakeArray({layer});
        for (size_t i = 1; i < m.Find("layers")->size(); i++) {
          layers.Push(m.Find("layers")->AsArray()[i]);
        }
        m.Set("layers", layers);
        p.header.Set("model", m);
      },
      "header.model.layers[0].filtres: unknown key");
  // An architecture that builds but disagrees with the tensors: 4 conv filters.
  with(
      [](Parts& p) {
        Json m = *p.header.Find("model");
        Json layer = m.Find("layers")->AsArray()[0];
        layer.Set("filters", Json::Number(4));
        Json layers = Json::MakeArray({layer});
        for (size_t i = 1; i < m.Find("layers")->size(); i++) {
          layers.Push(m.Find("layers")->AsArray()[i]);
        }
        m.Set("layers", layers);
        p.header.Set("model", m);
      },
      "(\"0.weight_codes\").shape: [9,3] does not match the architecture's [9, 4]");
  // A header that asks for far more parameters than the payload could hold.
  with(
      [](Parts& p) {
        Json m = *p.header.Find("model");
        m.Set("inputShape", Json::MakeArray({Json::Number(256), Json::Number(256)}));
        m.Set("layers", Json::MakeArray({ParseJson(R"({"type":"flatten"})").value(),
                                         ParseJson(R"({"type":"dense","units":3})").value()}));
        p.header.Set("model", m);
      },
      "header.model.layers[1]: 65537 x 3 more values would take the model past its limit of");
  with([](Parts& p) { p.header.Set("flags", Json::MakeObject()); },
       "header.flags.3.body.0.input_initialized: missing");
  with(
      [](Parts& p) {
        Json flags = *p.header.Find("flags");
        flags.Set("9.input_initialized", Json::Bool(true));
        p.header.Set("flags", flags);
      },
      "header.flags.9.input_initialized: the model has no such flag");
  with(
      [](Parts& p) {
        Json flags = *p.header.Find("flags");
        flags.Set("8.input_initialized", Json::Number(1));
        p.header.Set("flags", flags);
      },
      "header.flags.8.input_initialized: expected true or false");
  // Without shadow weights in the model's view, the shadow entries are strangers.
  with([](Parts& p) { p.header.Set("shadow", Json::Bool(false)); },
       "header.tensors[2].name: the model has no tensor \"0.weight\"");

  const size_t codes0 = EntryIndex(good.header, "0.weight_codes");
  const size_t bias0 = EntryIndex(good.header, "0.bias");
  auto entry = [&](size_t i, const char* key, Json value, const std::string& fragment) {
    with([&](Parts& p) { EntryOf(p, i).Set(key, value); }, fragment);
  };
  entry(codes0, "role", Json::String("float"),
        "header.tensors[0] (\"0.weight_codes\").role: expected \"codes\", got \"float\"");
  entry(codes0, "bits", Json::Number(8), ".bits: 8 does not match the layer's 4");
  entry(codes0, "shape", Json::MakeArray({Json::Number(27)}), ".shape: [27] does not match");
  entry(codes0, "length", Json::Number(27),
        ".length: 27 bytes, but [9, 3] codes of 4 bits take 14");
  entry(codes0, "offset", Json::Number(4), ".offset: 4 is not a multiple of 8");
  entry(codes0, "offset", Json::Number(-8), ".offset: -8 is outside the allowed range");
  entry(codes0, "offset", Json::Number(double((good.payload.size() + 7) / 8 * 8)),
        "lie outside the payload of");
  entry(codes0, "name", Json::String("0.weights"), "the model has no tensor \"0.weights\"");
  entry(bias0, "name", Json::String("0.weight_step"), "\"0.weight_step\" is listed twice");
  entry(codes0, "extra", Json::Bool(true), "header.tensors[0].extra: unknown key");
  entry(bias0, "bits", Json::Number(4), ".bits: only codes have bits");
  with(
      [&](Parts& p) {
        EntryOf(p, bias0).Set("offset",
                              *good.header.Find("tensors")->AsArray()[codes0].Find("offset"));
      },
      "overlaps");
  with(
      [](Parts& p) {
        Json t = Json::MakeArray();
        const Json::Array& all = p.header.Find("tensors")->AsArray();
        for (size_t i = 0; i + 1 < all.size(); i++) t.Push(all[i]);
        p.header.Set("tensors", t);
      },
      "header.tensors: no entry for \"8.input_step\" of the model");

  // Payload damage.
  auto payload = [&](const std::function<void(std::vector<uint8_t>&)>& change,
                     const std::string& fragment) {
    Parts p = good;
    change(p.payload);
    ExpectRefused(Frame(p), kLoss, fragment);
  };
  auto put_float = [](std::vector<uint8_t>& pl, size_t at, float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    PutU32(&pl[at], u);
  };
  const Json& h = good.header;
  payload([&](auto& pl) { put_float(pl, OffsetOf(h, "0.bias") + 4, NAN); },
          "\"0.bias\": value 1 is NaN");
  payload([&](auto& pl) { put_float(pl, OffsetOf(h, "6.weight"), -INFINITY); },
          "\"6.weight\": value 0 is infinite");
  payload([&](auto& pl) { put_float(pl, OffsetOf(h, "0.weight_step"), 0.0f); },
          "step sizes must be positive");
  payload([&](auto& pl) { put_float(pl, OffsetOf(h, "8.input_step"), -1.0f); },
          "step sizes must be positive");
  payload([&](auto& pl) { put_float(pl, OffsetOf(h, "1.running_var") + 8, -0.5f); },
          "variances must not be negative");
  // 27 4-bit codes: the high nibble of byte 13 is padding.
  payload([&](auto& pl) { pl[OffsetOf(h, "0.weight_codes") + 13] |= 0x10; },
          "\"0.weight_codes\": non-zero padding bits");
  // 21 2-bit codes: bits 2..7 of byte 5 are padding.
  payload([&](auto& pl) { pl[OffsetOf(h, "8.weight_codes") + 5] |= 0x40; },
          "\"8.weight_codes\": non-zero padding bits");
  // 3-bit codes are stored in nibbles: 7 is out of range.
  payload([&](auto& pl) { pl[OffsetOf(h, "3.body.0.weight_codes")] = 0x77; },
          "codes outside the 3-bit range [-4, 3]");
  // A code that is not the shadow weight's.
  payload([&](auto& pl) { pl[OffsetOf(h, "0.weight_codes")] ^= 0x01; },
          "\"0.weight_codes\": code 0");
  // A gap byte between sections (0.weight_codes is 14 bytes in a 16-byte slot).
  payload([&](auto& pl) { pl[OffsetOf(h, "0.weight_codes") + 15] = 1; },
          "non-zero padding byte in the payload");
  // A padding byte between header and payload.
  {
    std::string text = good.header.Dump();
    while ((16 + text.size()) % 8 != 7) text += ' ';
    std::vector<uint8_t> b = Frame(text, good.payload);
    Load(b);  // trailing whitespace in the header is fine
    b[16 + text.size()] = 0xFF;
    Recrc(&b);
    ExpectRefused(b, kLoss, "non-zero padding byte after the header");
  }
}

TEST_CASE("without shadow weights, steps that overflow code x step are refused",
          "[engine][model_file]") {
  auto model = SmallModel();
  Parts p = Split(Save(*model, false));
  const float huge = std::numeric_limits<float>::max();
  uint32_t u;
  std::memcpy(&u, &huge, 4);
  PutU32(&p.payload[OffsetOf(p.header, "8.weight_step")], u);
  uint8_t& first = p.payload[OffsetOf(p.header, "8.weight_codes")];
  first = uint8_t((first & ~0x3) | 0x2);  // code 0 = -2: -2 x FLT_MAX overflows
  ExpectRefused(Frame(p), StatusCode::kDataLoss,
                "\"8.weight_codes\": code x step value 0 is infinite");
}

TEST_CASE("random damage behind a valid checksum never crashes the loader",
          "[engine][model_file]") {
  auto model = SmallModel();
  for (bool shadow : {true, false}) {
    const std::vector<uint8_t> bytes = Save(*model, shadow);
    std::vector<uint8_t> b = bytes;
    size_t loaded = 0;
    for (size_t i = 8; i + 4 < bytes.size(); i++) {
      for (uint8_t mask : {0x01, 0x10, 0xFF}) {
        b[i] ^= mask;
        Recrc(&b);
        auto m = LoadModel(b.data(), b.size());
        if (m.ok()) {  // benign (a value, the seed, whitespace): the model must work
          loaded++;
          const std::vector<uint8_t> x(2 * m.value()->input_shape().size(), 200);
          Tensor logits;
          m.value()->Forward(x.data(), 2, &logits, nn::Mode::kEval);
          CHECK(logits.size() == 6);
        } else {
          CHECK((m.status().code() == StatusCode::kDataLoss ||
                 m.status().code() == StatusCode::kUnimplemented));
        }
        b[i] ^= mask;
      }
    }
    CHECK(loaded > 0);
  }
}

TEST_CASE("a model with NaN weights is not saved", "[engine][model_file]") {
  auto model = SmallModel();
  for (nn::Param* p : model->params()) {
    if (p->name == "6.bias") p->value[2] = NAN;
  }
  auto bytes = SaveModel(*model);
  REQUIRE(!bytes.ok());
  CHECK(bytes.status().code() == StatusCode::kFailedPrecondition);
  CHECK(bytes.status().message() == "cannot save the model: 6.bias value 2 is NaN");
}

}  // namespace
}  // namespace qf::io
