// The ONNX importer against references computed here: graph records built in C++ (a small
// builder), their models' float logits compared with plain NCHW loops over the same
// weights (so the layout transposes and the flatten permutation are checked), the torch
// reshape chain, QDQ codes and steps, and every refusal with the names in its message.
#include "onnx/import.h"

#include <catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "api/model_api.h"
#include "core/json.h"
#include "fuzz_util.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "onnx/graph.h"
#include "train/trainer.h"

namespace qf {
namespace {

using onnx::ImportResult;

// ---- a graph record builder ------------------------------------------------------------

Json Arr(std::initializer_list<int64_t> v) {
  Json a = Json::MakeArray();
  for (int64_t x : v) a.Push(Json::Number(double(x)));
  return a;
}
Json Arr(const std::vector<int64_t>& v) {
  Json a = Json::MakeArray();
  for (int64_t x : v) a.Push(Json::Number(double(x)));
  return a;
}
// A value info shape: -1 is an unknown (batch) dimension.
Json Dims(std::initializer_list<int64_t> v) {
  Json a = Json::MakeArray();
  for (int64_t x : v) a.Push(x < 0 ? Json::Null() : Json::Number(double(x)));
  return a;
}
Json AttrI(int64_t i) {
  Json a = Json::MakeObject();
  a.Set("i", Json::Number(double(i)));
  return a;
}
Json AttrF(double f) {
  Json a = Json::MakeObject();
  a.Set("f", Json::Number(f));
  return a;
}
Json AttrS(const std::string& s) {
  Json a = Json::MakeObject();
  a.Set("s", Json::String(s));
  return a;
}
Json AttrInts(const std::vector<int64_t>& v) {
  Json a = Json::MakeObject();
  a.Set("ints", Arr(v));
  return a;
}

struct Record {
  int opset = 13;
  Json inputs = Json::MakeArray(), outputs = Json::MakeArray(), tensors = Json::MakeArray(),
       nodes = Json::MakeArray();
  std::vector<uint8_t> payload;

  static Json Info(const std::string& name, Json shape, const char* type = "FLOAT") {
    Json v = Json::MakeObject();
    v.Set("name", Json::String(name));
    v.Set("type", Json::String(type));
    v.Set("shape", std::move(shape));
    return v;
  }
  void Input(const std::string& name, Json shape) { inputs.Push(Info(name, std::move(shape))); }
  void Output(const std::string& name) { outputs.Push(Info(name, Json::Null())); }

  // Appends a tensor with `bytes`; returns its index.
  size_t Tensor(const std::string& name, const char* type, const std::vector<int64_t>& dims,
                const void* bytes, size_t n, bool initializer = true) {
    while (payload.size() % 8) payload.push_back(0);
    Json t = Json::MakeObject();
    t.Set("name", Json::String(name));
    t.Set("type", Json::String(type));
    t.Set("dims", Arr(dims));
    t.Set("initializer", Json::Bool(initializer));
    t.Set("offset", Json::Number(double(payload.size())));
    t.Set("length", Json::Number(double(n)));
    t.Set("external", Json::Bool(false));
    const uint8_t* p = static_cast<const uint8_t*>(bytes);
    payload.insert(payload.end(), p, p + n);
    tensors.Push(std::move(t));
    return tensors.size() - 1;
  }
  size_t Floats(const std::string& name, const std::vector<int64_t>& dims,
                const std::vector<float>& v, bool initializer = true) {
    return Tensor(name, "FLOAT", dims, v.data(), v.size() * 4, initializer);
  }
  size_t Int64s(const std::string& name, const std::vector<int64_t>& dims,
                const std::vector<int64_t>& v, bool initializer = true) {
    return Tensor(name, "INT64", dims, v.data(), v.size() * 8, initializer);
  }
  void Node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
            Json attrs = Json::MakeObject(), std::string name = "") {
    Json n = Json::MakeObject();
    n.Set("name", Json::String(name.empty() ? op + "_" + std::to_string(nodes.size()) : name));
    n.Set("op", Json::String(op));
    Json i = Json::MakeArray(), o = Json::MakeArray();
    for (auto& s : in) i.Push(Json::String(s));
    for (auto& s : out) o.Push(Json::String(s));
    n.Set("inputs", std::move(i));
    n.Set("outputs", std::move(o));
    n.Set("attrs", std::move(attrs));
    nodes.Push(std::move(n));
  }
  std::string Text() const {
    Json r = Json::MakeObject();
    r.Set("irVersion", Json::Number(8));
    Json opsets = Json::MakeObject();
    opsets.Set("", Json::Number(opset));
    r.Set("opsets", std::move(opsets));
    r.Set("producer", Json::String("test 1.0"));
    r.Set("graphName", Json::String("g"));
    r.Set("inputs", inputs);
    r.Set("outputs", outputs);
    r.Set("tensors", tensors);
    r.Set("nodes", nodes);
    return r.Dump();
  }
};

Json Attrs(std::initializer_list<std::pair<const char*, Json>> list) {
  Json a = Json::MakeObject();
  for (const auto& [k, v] : list) a.Set(k, v);
  return a;
}

StatusOr<ImportResult> Import(const Record& r, const std::string& options = "{}") {
  const std::string text = r.Text();
  QF_ASSIGN_OR_RETURN(const onnx::Graph g,
                      onnx::ParseGraphRecord(text, r.payload.data(), r.payload.size()));
  QF_ASSIGN_OR_RETURN(const Json o, ParseJson(options));
  return onnx::ImportGraph(g, o);
}

ImportResult ImportOk(const Record& r, const std::string& options = "{}") {
  StatusOr<ImportResult> res = Import(r, options);
  INFO(res.status().message());
  REQUIRE(res.ok());
  return std::move(res).value();
}

void RequireError(const Record& r, StatusCode code, const std::string& part,
                  const std::string& options = "{}") {
  StatusOr<ImportResult> res = Import(r, options);
  REQUIRE_FALSE(res.ok());
  INFO(res.status().message());
  CHECK(res.status().code() == code);
  CHECK(res.status().message().find(part) != std::string::npos);
}

std::vector<float> Random(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// ---- NCHW references ----------------------------------------------------------------

struct T {
  std::vector<int64_t> d;  // [C, H, W] or [F], one sample
  std::vector<float> v;
};

T Conv(const T& x, const std::vector<float>& w, const std::vector<float>& b, int64_t cout,
       int64_t k, int64_t stride, int64_t pt, int64_t pl, int64_t pb, int64_t pr, bool depthwise) {
  const int64_t cin = x.d[0], h = x.d[1], wd = x.d[2];
  const int64_t oh = (h + pt + pb - k) / stride + 1, ow = (wd + pl + pr - k) / stride + 1;
  T y{{cout, oh, ow}, std::vector<float>(size_t(cout * oh * ow))};
  for (int64_t co = 0; co < cout; co++) {
    for (int64_t i = 0; i < oh; i++) {
      for (int64_t j = 0; j < ow; j++) {
        double s = b[size_t(co)];
        for (int64_t ci = depthwise ? co : 0; ci < (depthwise ? co + 1 : cin); ci++) {
          for (int64_t u = 0; u < k; u++) {
            for (int64_t v = 0; v < k; v++) {
              const int64_t r = i * stride - pt + u, c = j * stride - pl + v;
              if (r < 0 || r >= h || c < 0 || c >= wd) continue;
              const int64_t wi =
                  depthwise ? (co * k + u) * k + v : ((co * cin + ci) * k + u) * k + v;
              s += double(w[size_t(wi)]) * x.v[size_t((ci * h + r) * wd + c)];
            }
          }
        }
        y.v[size_t((co * oh + i) * ow + j)] = float(s);
      }
    }
  }
  return y;
}

T MaxPool(const T& x, int64_t k, int64_t s) {
  const int64_t c = x.d[0], h = x.d[1], w = x.d[2], oh = (h - k) / s + 1, ow = (w - k) / s + 1;
  T y{{c, oh, ow}, std::vector<float>(size_t(c * oh * ow), -INFINITY)};
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++)
        for (int64_t u = 0; u < k; u++)
          for (int64_t v = 0; v < k; v++) {
            float& o = y.v[size_t((ch * oh + i) * ow + j)];
            o = std::max(o, x.v[size_t((ch * h + i * s + u) * w + j * s + v)]);
          }
  return y;
}

void Relu(T* x, float cap = INFINITY) {
  for (float& v : x->v) v = std::min(std::max(v, 0.0f), cap);
}

void BatchNorm(T* x, const std::vector<float>& g, const std::vector<float>& b,
               const std::vector<float>& m, const std::vector<float>& var, float eps) {
  const size_t c = size_t(x->d[0]), per = x->v.size() / c;
  for (size_t ch = 0; ch < c; ch++) {
    for (size_t i = 0; i < per; i++) {
      float& v = x->v[ch * per + i];
      v = (v - m[ch]) / std::sqrt(var[ch] + eps) * g[ch] + b[ch];
    }
  }
}

// y = W x + b with W [out, in] (transB) or [in, out].
T Dense(const T& x, const std::vector<float>& w, const std::vector<float>& b, size_t out,
        bool trans) {
  const size_t in = x.v.size();
  T y{{int64_t(out)}, std::vector<float>(out)};
  for (size_t o = 0; o < out; o++) {
    double s = b.empty() ? 0 : b[o];
    for (size_t i = 0; i < in; i++) s += double(trans ? w[o * in + i] : w[i * out + o]) * x.v[i];
    y.v[o] = float(s);
  }
  return y;
}

// One NCHW sample as the engine's NHWC float bytes.
std::vector<uint8_t> Nhwc(const T& x) {
  const int64_t c = x.d[0], h = x.d[1], w = x.d[2];
  std::vector<float> v(x.v.size());
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t i = 0; i < h * w; i++) v[size_t(i * c + ch)] = x.v[size_t(ch * h * w + i)];
  std::vector<uint8_t> bytes(v.size() * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}
std::vector<uint8_t> Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> bytes(v.size() * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

void RequireClose(nn::Model& model, const std::vector<uint8_t>& x, const std::vector<float>& want) {
  Tensor logits;
  model.Forward(x.data(), 1, &logits, nn::Mode::kEval);
  REQUIRE(logits.size() == want.size());
  float top = 0;
  for (float v : want) top = std::max(top, std::fabs(v));
  for (size_t i = 0; i < want.size(); i++) {
    INFO("logit " << i << ": " << logits[i] << " vs " << want[i]);
    CHECK(std::fabs(logits[i] - want[i]) <= 1e-5f * top + 1e-7f);
  }
}

// ---- the tests ------------------------------------------------------------------------

Record Mlp(std::mt19937& rng, std::vector<float>* w1, std::vector<float>* b1,
           std::vector<float>* w2, std::vector<float>* b2) {
  Record r;
  r.Input("x", Dims({-1, 5}));
  *w1 = Random(8 * 5, rng);
  *b1 = Random(8, rng);
  *w2 = Random(8 * 3, rng);
  *b2 = Random(3, rng);
  r.Floats("w1", {8, 5}, *w1);
  r.Floats("b1", {8}, *b1);
  r.Floats("w2", {8, 3}, *w2);
  r.Floats("b2", {3}, *b2);
  r.Node("Gemm", {"x", "w1", "b1"}, {"h"}, Attrs({{"transB", AttrI(1)}}), "fc1");
  r.Node("Relu", {"h"}, {"a"});
  r.Node("Gemm", {"a", "w2", "b2"}, {"y"}, Json::MakeObject(), "fc2");
  r.Output("y");
  return r;
}

TEST_CASE("an MLP imports and computes what its Gemms compute", "[onnx]") {
  std::mt19937 rng(1);
  std::vector<float> w1, b1, w2, b2;
  Record r = Mlp(rng, &w1, &b1, &w2, &b2);
  ImportResult res = ImportOk(r);
  CHECK(res.report.Find("layers")->AsNumber() == 3);
  CHECK(res.report.Find("inputLayout")->is_null());
  const std::vector<float> x = Random(5, rng);
  T h = Dense(T{{5}, x}, w1, b1, 8, true);
  Relu(&h);
  const T y = Dense(h, w2, b2, 3, false);
  RequireClose(*res.model, Bytes(x), y.v);
}

// Conv (pads, stride 2) + Relu + MaxPool + Flatten + Gemm on a 2x7x7 input.
struct ConvNet {
  std::vector<float> cw, cb, fw, fb;
  Record r;
  T Reference(const T& x) const {
    T y = Conv(x, cw, cb, 3, 3, 2, 1, 0, 1, 1, false);  // [3, 4, 3]
    Relu(&y);
    y = MaxPool(y, 2, 1);  // [3, 3, 2]
    return Dense(T{{18}, y.v}, fw, fb, 4, true);
  }
};

ConvNet MakeConvNet(std::mt19937& rng, bool torch_reshape) {
  ConvNet n;
  n.cw = Random(3 * 2 * 3 * 3, rng);
  n.cb = Random(3, rng);
  n.fw = Random(4 * 18, rng);
  n.fb = Random(4, rng);
  Record& r = n.r;
  r.Input("x", [] {
    Json s = Json::MakeArray();
    s.Push(Json::String("batch"));
    for (int d : {2, 7, 7}) s.Push(Json::Number(d));
    return s;
  }());
  r.Floats("cw", {3, 2, 3, 3}, n.cw);
  r.Floats("cb", {3}, n.cb);
  r.Floats("fw", {4, 18}, n.fw);
  r.Floats("fb", {4}, n.fb);
  r.Node("Conv", {"x", "cw", "cb"}, {"c"},
         Attrs({{"kernel_shape", AttrInts({3, 3})},
                {"strides", AttrInts({2, 2})},
                {"pads", AttrInts({1, 0, 1, 1})}}));
  r.Node("Relu", {"c"}, {"a"});
  r.Node("MaxPool", {"a"}, {"p"}, Attrs({{"kernel_shape", AttrInts({2, 2})}}));
  if (torch_reshape) {
    // Shape -> Gather(0) -> Unsqueeze -> Concat([N], [-1]) -> Reshape, as torch writes it.
    r.Node("Shape", {"p"}, {"s"});
    r.Int64s("zero", {}, {0});
    r.Node("Gather", {"s", "zero"}, {"n"}, Attrs({{"axis", AttrI(0)}}));
    r.Int64s("axes0", {1}, {0});
    r.Node("Unsqueeze", {"n", "axes0"}, {"n1"});
    r.Int64s("minus1", {1}, {-1});
    r.Node("Concat", {"n1", "minus1"}, {"shape"}, Attrs({{"axis", AttrI(0)}}));
    r.Node("Reshape", {"p", "shape"}, {"f"});
  } else {
    r.Node("Flatten", {"p"}, {"f"});
  }
  r.Node("Gemm", {"f", "fw", "fb"}, {"y"}, Attrs({{"transB", AttrI(1)}}));
  r.Output("y");
  return n;
}

TEST_CASE("a conv net imports: NCHW weights, pads, strides and the flatten order", "[onnx]") {
  std::mt19937 rng(2);
  for (bool torch : {false, true}) {
    ConvNet n = MakeConvNet(rng, torch);
    const T x{{2, 7, 7}, Random(98, rng)};
    // The graph's own layout (NCHW samples), then NHWC samples on request.
    ImportResult nchw = ImportOk(n.r);
    CHECK(nchw.report.Find("inputLayout")->AsString() == "nchw");
    CHECK(nchw.model->input_shape() == Shape{2, 7, 7});
    RequireClose(*nchw.model, Bytes(x.v), n.Reference(x).v);
    ImportResult nhwc = ImportOk(n.r, R"({"inputLayout": "nhwc"})");
    CHECK(nhwc.report.Find("inputLayout")->AsString() == "nhwc");
    CHECK(nhwc.model->input_shape() == Shape{7, 7, 2});
    if (torch) CHECK(nhwc.report.Find("folded")->size() == 4);
    RequireClose(*nhwc.model, Nhwc(x), n.Reference(x).v);
  }
}

TEST_CASE("a graph taking NHWC images through Transpose [0, 3, 1, 2] absorbs it", "[onnx]") {
  std::mt19937 rng(8);
  ConvNet n = MakeConvNet(rng, false);
  Json& conv = const_cast<Json&>(n.r.nodes.AsArray()[0]);
  conv.Set("inputs", [] {
    Json a = Json::MakeArray();
    for (const char* s : {"xt", "cw", "cb"}) a.Push(Json::String(s));
    return a;
  }());
  n.r.inputs = Json::MakeArray();
  n.r.Input("x", Dims({-1, 7, 7, 2}));
  n.r.Node("Transpose", {"x"}, {"xt"}, Attrs({{"perm", AttrInts({0, 3, 1, 2})}}));
  const T x{{2, 7, 7}, Random(98, rng)};
  ImportResult nhwc = ImportOk(n.r);
  CHECK(nhwc.report.Find("inputLayout")->AsString() == "nhwc");
  RequireClose(*nhwc.model, Nhwc(x), n.Reference(x).v);
  ImportResult nchw = ImportOk(n.r, R"({"inputLayout": "nchw"})");
  RequireClose(*nchw.model, Bytes(x.v), n.Reference(x).v);
}

TEST_CASE("a residual block imports as a residual layer", "[onnx]") {
  std::mt19937 rng(3);
  Record r;
  r.Input("x", Dims({1, 3, 5, 5}));
  std::vector<std::vector<float>> bn[2];
  std::vector<float> w[2];
  for (int i = 0; i < 2; i++) {
    const std::string s = std::to_string(i);
    w[i] = Random(3 * 3 * 3 * 3, rng, 0.3f);
    r.Floats("w" + s, {3, 3, 3, 3}, w[i]);
    for (const char* p : {"g", "b", "m", "v"}) {
      std::vector<float> v = Random(3, rng);
      if (p[0] == 'v')
        for (float& x : v) x = std::fabs(x) + 0.5f;
      r.Floats(std::string(p) + s, {3}, v);
      bn[i].push_back(v);
    }
  }
  const std::vector<float> fw = Random(2 * 3, rng), fb = Random(2, rng);
  r.Floats("fw", {2, 3}, fw);
  r.Floats("fb", {2}, fb);
  const Json pads = Attrs({{"pads", AttrInts({1, 1, 1, 1})}, {"kernel_shape", AttrInts({3, 3})}});
  r.Node("Relu", {"x"}, {"x0"});
  r.Node("Conv", {"x0", "w0"}, {"c0"}, pads);
  r.Node("BatchNormalization", {"c0", "g0", "b0", "m0", "v0"}, {"n0"},
         Attrs({{"epsilon", AttrF(1e-3)}}));
  r.Node("Relu", {"n0"}, {"a0"});
  r.Node("Conv", {"a0", "w1"}, {"c1"}, pads);
  r.Node("BatchNormalization", {"c1", "g1", "b1", "m1", "v1"}, {"n1"});
  r.Node("Add", {"n1", "x0"}, {"s"});
  r.Node("Relu", {"s"}, {"a"});
  r.Node("GlobalAveragePool", {"a"}, {"gap"});
  r.Node("Flatten", {"gap"}, {"f"});
  r.Node("Gemm", {"f", "fw", "fb"}, {"y"}, Attrs({{"transB", AttrI(1)}}));
  r.Output("y");
  ImportResult res = ImportOk(r, R"({"inputLayout": "nhwc"})");
  const Json layers = res.model->Describe();
  CHECK(layers.Find("layers")->AsArray()[1].Find("type")->AsString() == "residual");

  T x{{3, 5, 5}, Random(75, rng)};
  T x0 = x;
  Relu(&x0);
  T y = Conv(x0, w[0], {0, 0, 0}, 3, 3, 1, 1, 1, 1, 1, false);
  BatchNorm(&y, bn[0][0], bn[0][1], bn[0][2], bn[0][3], 1e-3f);
  Relu(&y);
  y = Conv(y, w[1], {0, 0, 0}, 3, 3, 1, 1, 1, 1, 1, false);
  BatchNorm(&y, bn[1][0], bn[1][1], bn[1][2], bn[1][3], 1e-5f);
  for (size_t i = 0; i < y.v.size(); i++) y.v[i] += x0.v[i];
  Relu(&y);
  T gap{{3}, {0, 0, 0}};
  for (size_t c = 0; c < 3; c++) {
    for (size_t i = 0; i < 25; i++) gap.v[c] += y.v[c * 25 + i] / 25;
  }
  RequireClose(*res.model, Nhwc(x), Dense(gap, fw, fb, 2, true).v);
}

TEST_CASE("a depthwise conv with Clip(0, 6) imports as depthwise_conv2d and relu6", "[onnx]") {
  std::mt19937 rng(4);
  for (int opset : {9, 13}) {
    Record r;
    r.opset = opset;
    r.Input("x", Dims({1, 4, 4, 4}));
    const std::vector<float> dw = Random(4 * 9, rng), db = Random(4, rng), fw = Random(4 * 3, rng);
    r.Floats("dw", {4, 1, 3, 3}, dw);
    r.Floats("db", {4}, db);
    r.Floats("fw", {4, 3}, fw);
    r.Floats("fb", {3}, {0.5f, -0.5f, 0.25f});
    r.Node("Conv", {"x", "dw", "db"}, {"c"},
           Attrs({{"group", AttrI(4)},
                  {"auto_pad", AttrS("SAME_UPPER")},
                  {"strides", AttrInts({2, 2})}}));
    if (opset < 11) {
      r.Node("Clip", {"c"}, {"a"}, Attrs({{"min", AttrF(0)}, {"max", AttrF(6)}}));
    } else {
      r.Floats("lo", {}, {0.0f});
      r.Floats("hi", {}, {6.0f});
      r.Node("Clip", {"c", "lo", "hi"}, {"a"});
    }
    r.Node("GlobalAveragePool", {"a"}, {"g"});
    r.Int64s("shape", {2}, {0, -1});
    r.Node("Reshape", {"g", "shape"}, {"f"});
    r.Node("MatMul", {"f", "fw"}, {"m"});
    r.Node("Add", {"m", "fb"}, {"y"});
    r.Node("Softmax", {"y"}, {"p"}, Attrs({{"axis", AttrI(1)}}), "softmax");
    r.Output("p");
    ImportResult res = ImportOk(r, R"({"inputLayout": "nhwc"})");
    const std::string described = res.model->Describe().Dump();
    CHECK(described.find("depthwise_conv2d") != std::string::npos);
    CHECK(described.find("relu6") != std::string::npos);
    const Json& dropped = *res.report.Find("dropped");
    REQUIRE(dropped.size() == 1);
    CHECK(dropped.AsArray()[0].Find("node")->AsString() == "softmax");

    T x{{4, 4, 4}, Random(64, rng)};
    // SAME_UPPER, 4 -> 2 with stride 2 and k 3: total pad 1, at the end.
    T y = Conv(x, dw, db, 4, 3, 2, 0, 0, 1, 1, true);
    Relu(&y, 6.0f);
    T gap{{4}, std::vector<float>(4)};
    for (size_t c = 0; c < 4; c++)
      for (size_t i = 0; i < 4; i++) gap.v[c] += y.v[c * 4 + i] / 4;
    RequireClose(*res.model, Nhwc(x), Dense(gap, fw, {0.5f, -0.5f, 0.25f}, 3, false).v);
  }
}

// x [2, 3, 4] -> Pad (zeros) -> ReduceMean over [2, 3] -> Gemm: nn.AvgPool2d's Pad and
// x.mean((2, 3)) as PyTorch 1.13 writes them. Real padding and other axes are refused.
Record PadMean(const std::vector<int64_t>& pads, const std::vector<int64_t>& axes,
               const std::vector<float>& w, const std::vector<float>& b) {
  Record r;
  r.Input("x", Dims({-1, 2, 3, 4}));
  r.Int64s("pads", {8}, pads);
  r.Floats("w", {2, 3}, w);
  r.Floats("b", {3}, b);
  r.Node("Pad", {"x", "pads"}, {"p"}, Json::MakeObject(), "pad");
  r.Node("ReduceMean", {"p"}, {"m"}, Attrs({{"axes", AttrInts(axes)}, {"keepdims", AttrI(0)}}),
         "mean");
  r.Node("Gemm", {"m", "w", "b"}, {"y"});
  r.Output("y");
  return r;
}

TEST_CASE("a Pad of zeros is dropped and ReduceMean over [2, 3] is the global pool", "[onnx]") {
  std::mt19937 rng(9);
  const std::vector<float> w = Random(6, rng), b = Random(3, rng), x = Random(24, rng);
  ImportResult res = ImportOk(PadMean(std::vector<int64_t>(8, 0), {2, 3}, w, b));
  CHECK(res.report.Find("dropped")->Dump().find("\"Pad\"") != std::string::npos);
  std::vector<float> mean(2, 0.0f);
  for (size_t c = 0; c < 2; c++) {
    for (size_t i = 0; i < 12; i++) mean[c] += x[c * 12 + i];
    mean[c] /= 12;
  }
  RequireClose(*res.model, Bytes(x), Dense(T{{2}, mean}, w, b, 3, false).v);
  RequireError(PadMean({0, 0, 1, 1, 0, 0, 1, 1}, {2, 3}, w, b), StatusCode::kUnimplemented,
               "node 'pad' (Pad, opset 13): pads [0, 0, 1, 1, 0, 0, 1, 1]");
  RequireError(PadMean(std::vector<int64_t>(8, 0), {1}, w, b), StatusCode::kUnimplemented,
               "node 'mean' (ReduceMean, opset 13): axes [1]");
}

TEST_CASE("the importer refuses what it cannot convert, naming it", "[onnx]") {
  std::mt19937 rng(5);
  std::vector<float> w1, b1, w2, b2;
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    r.Node("Tanh", {"y"}, {"t"}, Json::MakeObject(), "tanh_1");
    r.outputs = Json::MakeArray();
    r.Output("t");
    RequireError(r, StatusCode::kUnimplemented, "node 'tanh_1' (Tanh, opset 13)");
  }
  {
    ConvNet n = MakeConvNet(rng, false);
    Json& attrs = const_cast<Json&>(*n.r.nodes.AsArray()[0].Find("attrs"));
    attrs.Set("dilations", AttrInts({2, 2}));
    RequireError(n.r, StatusCode::kUnimplemented, "dilations");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    const_cast<Json&>(r.tensors.AsArray()[0]).Set("external", Json::Bool(true));
    RequireError(r, StatusCode::kDataLoss, "tensor 'w1'");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    const_cast<Json&>(r.tensors.AsArray()[1]).Set("length", Json::Number(28));
    RequireError(r, StatusCode::kDataLoss, "tensor 'b1': 28 bytes, but dims [8] of FLOAT need 32");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    const_cast<Json&>(r.tensors.AsArray()[1]).Set("dims", Arr({-8}));
    RequireError(r, StatusCode::kInvalidArgument, "negative dimension");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);  // a = Relu(h) and h = Relu(a): a cycle
    Json& relu = const_cast<Json&>(r.nodes.AsArray()[1]);
    relu.Set("inputs", [] {
      Json a = Json::MakeArray();
      a.Push(Json::String("z"));
      return a;
    }());
    r.Node("Relu", {"a"}, {"z"});
    RequireError(r, StatusCode::kInvalidArgument, "cycle");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    r.Input("x2", Dims({-1, 5}));
    RequireError(r, StatusCode::kInvalidArgument, "2 inputs ('x', 'x2')");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    RequireError(r, StatusCode::kInvalidArgument, "'logits' is not an output of the graph ('y')",
                 R"({"output": "logits"})");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    Json& gemm = const_cast<Json&>(r.nodes.AsArray()[0]);
    Json attrs = Json::MakeObject();
    Json bad = Json::MakeObject();
    bad.Set("g", Json::Number(1));
    attrs.Set("transB", bad);
    gemm.Set("attrs", attrs);
    RequireError(r, StatusCode::kInvalidArgument, "nodes[0].attrs.transB.g: unknown key");
    Json unsupported = Json::MakeObject();
    unsupported.Set("unsupported", Json::String("GRAPH"));
    attrs.Set("transB", unsupported);
    gemm.Set("attrs", attrs);
    RequireError(r, StatusCode::kUnimplemented, "attribute 'transB' is a GRAPH");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    r.inputs = Json::MakeArray();
    Json s = Json::MakeArray();
    s.Push(Json::String("n"));
    s.Push(Json::String("features"));
    r.Input("x", s);
    RequireError(r, StatusCode::kInvalidArgument, "only the batch dimension may be dynamic");
  }
  {
    ConvNet n = MakeConvNet(rng, false);  // MaxPool 2x2 stride 1 on 4x3: ceil_mode changes nothing
    Json& attrs = const_cast<Json&>(*n.r.nodes.AsArray()[2].Find("attrs"));
    attrs.Set("ceil_mode", AttrI(1));
    ImportOk(n.r, R"({"inputLayout": "nhwc"})");
    attrs.Set("strides", AttrInts({2, 2}));  // 4x3 -> floor 2x1, ceil 2x2
    RequireError(n.r, StatusCode::kUnimplemented, "ceil_mode 1 changes the output size");
    attrs.Set("ceil_mode", AttrI(0));
    attrs.Set("pads", AttrInts({2, 0, 0, 0}));
    RequireError(n.r, StatusCode::kUnimplemented, "as large as the window");
    Json& pool = const_cast<Json&>(n.r.nodes.AsArray()[2]);
    pool.Set("op", Json::String("AveragePool"));
    attrs.Set("pads", AttrInts({1, 0, 0, 0}));
    attrs.Set("count_include_pad", AttrI(1));
    RequireError(n.r, StatusCode::kUnimplemented, "count_include_pad 1 with pads");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);  // Softmax in the middle
    r.Node("Softmax", {"y"}, {"s"});
    r.Node("Relu", {"s"}, {"t"});
    r.outputs = Json::MakeArray();
    r.Output("t");
    RequireError(r, StatusCode::kUnimplemented, "Softmax inside the network");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);  // Add(h, a): a is Relu(h), h feeds two nodes
    r.Node("Add", {"y", "w2"}, {"z"}, Json::MakeObject(), "add_w");
    r.outputs = Json::MakeArray();
    r.Output("z");
    RequireError(r, StatusCode::kUnimplemented, "only per-channel biases");
  }
  {
    Record r = Mlp(rng, &w1, &b1, &w2, &b2);
    r.opset = 6;
    RequireError(r, StatusCode::kUnimplemented, "opset 6");
  }
}

TEST_CASE("an imported model quantizes to 4 bits and trains", "[onnx]") {
  std::mt19937 rng(6);
  ConvNet n = MakeConvNet(rng, true);
  ImportResult res = ImportOk(n.r, R"({"inputLayout": "nhwc", "weightBits": 4, "seed": 3})");
  const std::string described = res.model->Describe().Dump();
  CHECK(described.find("\"bits\":8") != std::string::npos);  // edge layers
  // The conv's steps come from its imported weights (LSQ init), not the random init.
  auto& conv = dynamic_cast<nn::Conv2D&>(res.model->net().layer(0));
  CHECK(conv.core().weight().value[0] == n.cw[0]);  // [0, 0, 0, 0] in both layouts
  train::Dataset data;
  data.sample = res.model->input_shape();
  data.input = DType::kFloat32;
  for (int i = 0; i < 32; i++) {
    const T x{{2, 7, 7}, Random(98, rng)};
    const std::vector<uint8_t> b = Nhwc(x);
    data.x.insert(data.x.end(), b.begin(), b.end());
    data.y.push_back(Label(i % 4));
  }
  train::FitOptions fit;
  fit.epochs = 1;
  fit.batch_size = 8;
  fit.lr = 0.01f;
  StatusOr<std::unique_ptr<train::Trainer>> trainer =
      train::Trainer::Create(res.model.get(), &data, fit);
  INFO(trainer.status().message());
  REQUIRE(trainer.ok());
  while (!trainer.value()->done()) {
    StatusOr<std::optional<train::EpochStats>> step = trainer.value()->Step(100);
    INFO(step.status().message());
    REQUIRE(step.ok());
    if (step.value()) CHECK(std::isfinite(step.value()->loss));
  }
}

TEST_CASE("QDQ weights keep their codes and scales", "[onnx]") {
  std::mt19937 rng(7);
  Record r;
  r.Input("x", Dims({-1, 6}));
  std::vector<int8_t> codes1(4 * 6), codes2(3 * 4);
  std::uniform_int_distribution<int> code(-127, 127);
  for (int8_t& c : codes1) c = int8_t(code(rng));
  for (int8_t& c : codes2) c = int8_t(code(rng));
  const std::vector<float> s1 = {0.01f, 0.02f, 0.03f, 0.04f};
  r.Tensor("w1q", "INT8", {4, 6}, codes1.data(), codes1.size());
  r.Floats("s1", {4}, s1);
  std::vector<int8_t> z1(4, 0);
  r.Tensor("z1", "INT8", {4}, z1.data(), 4);
  r.Tensor("w2q", "INT8", {4, 3}, codes2.data(), codes2.size());
  r.Floats("s2", {}, {0.05f});
  r.Floats("b1", {4}, Random(4, rng));
  r.Floats("xs", {}, {0.1f});
  const uint8_t zero = 0;
  r.Tensor("xz", "UINT8", {}, &zero, 1);
  // The input's pair has zero point 0: the file calibrated it from 0 (float features that
  // are never negative), which the model then declares (inputNonNegative).
  r.Floats("ins", {}, {0.004f});
  r.Node("QuantizeLinear", {"x", "ins", "xz"}, {"xq"});
  r.Node("DequantizeLinear", {"xq", "ins", "xz"}, {"xd"});
  r.Node("DequantizeLinear", {"w1q", "s1", "z1"}, {"w1"}, Attrs({{"axis", AttrI(0)}}));
  r.Node("DequantizeLinear", {"w2q", "s2"}, {"w2"});
  r.Node("Gemm", {"xd", "w1", "b1"}, {"h"}, Attrs({{"transB", AttrI(1)}}));
  r.Node("Relu", {"h"}, {"a"});
  r.Node("QuantizeLinear", {"a", "xs", "xz"}, {"aq"});
  r.Node("DequantizeLinear", {"aq", "xs", "xz"}, {"ad"});
  r.Node("MatMul", {"ad", "w2"}, {"y"});
  r.Output("y");
  ImportResult res = ImportOk(r);
  CHECK(res.report.Find("quantized")->Find("weights")->AsNumber() == 2);
  CHECK(res.report.Find("quantized")->Find("inputSteps")->AsNumber() == 2);
  CHECK(res.model->spec().input_non_negative == std::optional<bool>(true));
  auto& d1 = dynamic_cast<nn::Dense&>(res.model->net().layer(0));
  auto& d2 = dynamic_cast<nn::Dense&>(res.model->net().layer(2));
  REQUIRE(d1.quant().weight_bits == 8);
  d1.weight_quantizer().Quantize(d1.weight().value);
  d2.weight_quantizer().Quantize(d2.weight().value);
  for (size_t o = 0; o < 4; o++) {
    CHECK(d1.weight_quantizer().step(o) == s1[o]);
    for (size_t i = 0; i < 6; i++)
      CHECK(d1.weight_quantizer().codes()[i * 4 + o] == codes1[o * 6 + i]);
  }
  for (size_t i = 0; i < 12; i++) CHECK(d2.weight_quantizer().codes()[i] == codes2[i]);
  CHECK(d2.weight_quantizer().step(0) == 0.05f);
  CHECK(d2.input_quantizer().initialized());
  CHECK(d2.input_quantizer().step() == 0.1f);
  CHECK(d1.input_quantizer().initialized());
  CHECK(d1.input_quantizer().step() == 0.004f);
  CHECK(d1.input_quantizer().zero_point() == 0);
  // Said otherwise by the caller, the pair's grid is not the engine's: dropped, reported.
  ImportResult signed_input = ImportOk(r, R"({"inputNonNegative": false})");
  CHECK(signed_input.report.Find("quantized")->Find("inputSteps")->AsNumber() == 1);
  CHECK(signed_input.report.Find("dropped")->Dump().find("zero point 0") != std::string::npos);
}

TEST_CASE("the committed onnx_record seeds import through ModelHandle and predict", "[onnx]") {
  for (const char* name : {"mlp", "conv_torch_reshape", "residual_depthwise", "qdq"}) {
    INFO(name);
    const std::string path =
        std::string(QF_SOURCE_DIR) + "/fuzz/corpus/onnx_record/" + name + ".bin";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::vector<uint8_t> bytes(1 << 16);
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
    std::fclose(f);
    std::string json;
    std::vector<uint8_t> payload;
    REQUIRE(fuzz::SplitOnnxInput(bytes.data(), bytes.size(), &json, &payload));
    StatusOr<api::ModelHandle> model = api::ModelHandle::ImportOnnx(
        json, payload.data(), payload.size(), R"({"inputLayout":"nhwc"})");
    INFO(model.status().message());
    REQUIRE(model.ok());
    const StatusOr<Json> report = ParseJson(model.value().import_report());
    REQUIRE(report.ok());
    CHECK(report.value().Find("producer")->AsString() == "make_corpus");
    const std::vector<uint8_t> x = fuzz::Inputs(model.value(), 2, 1);
    CHECK(fuzz::Predict(model.value(), x).ok());
  }
  StatusOr<api::ModelHandle> bad = api::ModelHandle::ImportOnnx("{", nullptr, 0, "{}");
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qf
