// JSON: valid documents of every kind, exact round trips (text and doubles), every class of
// syntax error with its line/column message, limits, typed accessors with key paths, and
// truncation / garbage / mutation sweeps that must fail cleanly.
#include "core/json.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>

#include "io/io_test_util.h"
#include "test_util.h"

namespace qf {
namespace {

// A model description as the engine will read it (no trailing whitespace: every proper
// prefix is invalid).
const char kModel[] = R"({
  "arch": "custom",
  "input": [28, 28, 1],
  "weight_bits": 4,
  "layers": [
    {"type": "conv2d", "filters": 16, "kernel": [3, 3], "stride": 1, "padding": "same"},
    {"type": "batchnorm", "momentum": 0.9, "eps": 1e-5},
    {"type": "relu"},
    {"type": "maxpool", "pool": [2, 2]},
    {"type": "dense", "units": 10, "use_bias": true, "name": "logits \u00e9\ud83d\ude00"}
  ],
  "notes": null
})";

Json MustParse(std::string_view text) {
  StatusOr<Json> j = ParseJson(text);
  INFO("text: " << text << "\nerror: " << (j.ok() ? "" : j.status().message()));
  REQUIRE(j.ok());
  return j.value();
}

TEST_CASE("json parses documents of every kind", "[io][json]") {
  CHECK(MustParse("null").is_null());
  CHECK(MustParse("true").AsBool());
  CHECK_FALSE(MustParse(" \t\r\nfalse \n").AsBool());
  CHECK(MustParse("0").AsNumber() == 0);
  CHECK(std::signbit(MustParse("-0").AsNumber()));
  CHECK(MustParse("-12.5e-1").AsNumber() == -1.25);
  CHECK(MustParse("\"\"").AsString().empty());
  CHECK(MustParse("[]").AsArray().empty());
  CHECK(MustParse("{}").AsObject().empty());
  CHECK(MustParse("[[],{},[[]]]").size() == 3);

  const Json m = MustParse(kModel);
  REQUIRE(m.is_object());
  CHECK(m.size() == 5);
  const char* keys[] = {"arch", "input", "weight_bits", "layers", "notes"};
  for (size_t i = 0; i < 5; i++) CHECK(m.AsObject()[i].first == keys[i]);  // insertion order
  CHECK(m.Find("arch")->AsString() == "custom");
  CHECK(m.Find("notes")->is_null());
  CHECK(m.Find("absent") == nullptr);
  const Json::Array& layers = m.Find("layers")->AsArray();
  REQUIRE(layers.size() == 5);
  CHECK(layers[0].Find("kernel")->AsArray()[1].AsNumber() == 3);
  CHECK(layers[1].Find("eps")->AsNumber() == 1e-5);
  CHECK(layers[4].Find("use_bias")->AsBool());
  CHECK(layers[4].Find("name")->AsString() == "logits \xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("json string escapes", "[io][json]") {
  CHECK(MustParse(R"("\"\\\/\b\f\n\r\t")").AsString() == "\"\\/\b\f\n\r\t");
  CHECK(MustParse(R"("\u0041\u00e9\u20AC\uD83D\uDE00")").AsString() ==
        "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  CHECK(MustParse(R"("\u0000")").AsString() == std::string(1, '\0'));
  CHECK(MustParse(R"("\uDBFF\uDFFF")").AsString() == "\xF4\x8F\xBF\xBF");  // U+10FFFF
  CHECK(MustParse("\"raw \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"").AsString() ==
        "raw \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(MustParse("\"\x7F\"").AsString() == "\x7F");  // DEL needs no escape
}

TEST_CASE("json numbers follow the grammar", "[io][json]") {
  const std::pair<const char*, double> good[] = {{"0", 0},
                                                 {"-0", -0.0},
                                                 {"1", 1},
                                                 {"-1", -1},
                                                 {"10", 10},
                                                 {"1.0", 1},
                                                 {"1e5", 1e5},
                                                 {"1E+5", 1e5},
                                                 {"1e-5", 1e-5},
                                                 {"0.5", 0.5},
                                                 {"-0.0e0", -0.0},
                                                 {"1e-400", 0},
                                                 {"5e-324", 5e-324},
                                                 {"1.7976931348623157e308", DBL_MAX},
                                                 {"123456789012345678", 123456789012345678.0}};
  for (auto [text, value] : good) {
    INFO(text);
    CHECK(MustParse(text).AsNumber() == value);
  }
  const char* bad[] = {"01",    "-01",    "00",   "+1",    ".5",       "1.",  "1e",
                       "1e+",   "-",      "0x10", "1.5.2", "Infinity", "NaN", "-Infinity",
                       "1e400", "-1e400", "1ee5", "--1",   "1_000"};
  for (const char* text : bad) {
    INFO(text);
    CHECK(ParseJson(text).status().code() == StatusCode::kInvalidArgument);
  }
  QF_REQUIRE_ERROR(ParseJson("[01]"), StatusCode::kInvalidArgument,
                   "line 1 column 2: leading zeros are not allowed");
  QF_REQUIRE_ERROR(ParseJson("1e400"), StatusCode::kInvalidArgument,
                   "number 1e400 is out of the range of a double");
  QF_REQUIRE_ERROR(ParseJson("1."), StatusCode::kInvalidArgument,
                   "line 1 column 3: expected a digit after the decimal point, found end of input");
  QF_REQUIRE_ERROR(ParseJson("-x"), StatusCode::kInvalidArgument, "expected a digit, found 'x'");
  QF_REQUIRE_ERROR(ParseJson("2e+"), StatusCode::kInvalidArgument,
                   "expected a digit in the exponent");
}

TEST_CASE("json dump is compact and deterministic", "[io][json]") {
  const std::string canonical =
      R"({"a":[1,-2,0.5,1e-05,1e+300,true,false,null],"b":{"c":"x\"y\\z\n\u0001"},"":{}})";
  CHECK(MustParse(canonical).Dump() == canonical);
  const Json m = MustParse(kModel);
  CHECK(MustParse(m.Dump()) == m);
  CHECK(MustParse(m.Dump()).Dump() == m.Dump());

  const std::pair<double, const char*> numbers[] = {
      {3, "3"},
      {-7, "-7"},
      {-0.0, "-0"},
      {0.5, "0.5"},
      {0.1, "0.1"},
      {1e20, "1e+20"},
      {9007199254740992.0, "9007199254740992"},
      {-9007199254740992.0, "-9007199254740992"},
      {18014398509481984.0, "18014398509481984"},  // 2^54: 17 digits, no exponent
      {1e21, "1e+21"},
      {1.0 / 3, "0.3333333333333333"},
      {5e-324, "4.94065645841247e-324"}};
  for (auto [value, text] : numbers) {
    INFO(text);
    CHECK(Json::Number(value).Dump() == text);
  }

  // Every ASCII byte survives; only '"', '\\' and control characters are escaped.
  std::string ascii;
  for (int c = 0; c < 128; c++) ascii.push_back(char(c));
  CHECK(MustParse(Json::String(ascii).Dump()).AsString() == ascii);
  CHECK(Json::String("\b\f\n\r\t\"\\/\x01\x1f").Dump() == R"("\b\f\n\r\t\"\\/\u0001\u001f")");

  Json obj = Json::MakeObject();
  obj.Set("z", Json::Number(1));
  obj.Set("a", Json::String("tab\there"));
  obj.Set("z", Json::Bool(false));  // replaced in place: order stays
  Json list = Json::MakeArray();
  list.Push(Json::Null());
  list.Push(Json::String("\x1f"));
  obj.Set("list", list);
  CHECK(obj.Dump() == R"({"z":false,"a":"tab\there","list":[null,"\u001f"]})");
}

TEST_CASE("json doubles round-trip exactly", "[io][json]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::vector<double> values = {0.1,
                                1.0 / 3,
                                1e-300,
                                5e-324,
                                DBL_MAX,
                                -DBL_MAX,
                                DBL_MIN,
                                2e-308,
                                9007199254740993.0,
                                123456789.123,
                                1e23,
                                -0.0,
                                4503599627370495.5};
  for (int i = 0; i < 20000; i++) {
    const uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) values.push_back(v);
    values.push_back(std::ldexp(double(rng() % 1000000), int(rng() % 80) - 40));
  }
  for (double v : values) {
    const std::string text = Json::Number(v).Dump();
    StatusOr<Json> back = ParseJson(text);
    INFO(text);
    REQUIRE(back.ok());
    const double w = back.value().AsNumber();
    CHECK(std::memcmp(&v, &w, sizeof v) == 0);  // bit-exact, sign of zero included
  }
}

TEST_CASE("json non-finite numbers are refused, never written", "[io][json]") {
  QF_REQUIRE_ERROR(Json::FiniteNumber(std::nan(""), "layers[1].eps"), StatusCode::kInvalidArgument,
                   "layers[1].eps: NaN cannot be stored in JSON");
  QF_REQUIRE_ERROR(Json::FiniteNumber(-HUGE_VAL, "scale"), StatusCode::kInvalidArgument,
                   "scale: an infinity");
  StatusOr<Json> ok = Json::FiniteNumber(2.5, "x");
  REQUIRE(ok.ok());
  CHECK(ok.value().Dump() == "2.5");
}

TEST_CASE("json strings dump to valid UTF-8 JSON", "[io][json]") {
  const std::string weird =
      std::string("a\0b", 3) + "\x7f\x80 \xC3\xA9 \xED\xA0\x80 \xF4\x90\x80\x80 \xC3";
  const std::string dumped = Json::String(weird).Dump();
  StatusOr<Json> back = ParseJson(dumped);
  REQUIRE(back.ok());
  // Valid sequences survive; every invalid byte became U+FFFD.
  CHECK(back.value().AsString() ==
        std::string("a\0b", 3) +
            "\x7f\xEF\xBF\xBD \xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD");
  CHECK(dumped.find(std::string("\\u0000")) != std::string::npos);
}

TEST_CASE("json syntax errors name line, column and what was expected", "[io][json]") {
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"", "line 1 column 1: expected a value, found end of input"},
      {"   ", "line 1 column 4: expected a value, found end of input"},
      {"[1,2,]", "line 1 column 6: expected a value, found ']'"},
      {R"({"a":1,})", "line 1 column 8: expected a string key, found '}'"},
      {"// comment\n1", "line 1 column 1: expected a value, found '/'"},
      {"[1 /* c */]", "line 1 column 4: expected ',' or ']' after an array element, found '/'"},
      {"[1 2]", "line 1 column 4: expected ',' or ']' after an array element, found '2'"},
      {R"({"a" 1})", "line 1 column 6: expected ':' after an object key, found '1'"},
      {R"({"a":1 "b":2})", "line 1 column 8: expected ',' or '}' after an object member"},
      {"{'a':1}", "line 1 column 2: expected a string key, found '''"},
      {"{a:1}", "line 1 column 2: expected a string key, found 'a'"},
      {"1 2", "line 1 column 3: expected end of input after the JSON value, found '2'"},
      {"nul", "line 1 column 1: expected 'null', found 'n'"},
      {"True", "line 1 column 1: expected a value, found 'T'"},
      {"\"abc", "line 1 column 5: expected '\"' to close the string, found end of input"},
      {"\"a\tb\"", "line 1 column 3: control character byte 0x09 in a string"},
      {"\"a\nb\"", "line 1 column 3: control character byte 0x0A"},
      {R"("\x")", "line 1 column 2: invalid escape '\\x'"},
      {"\"\\", "line 1 column 3: expected an escape character after '\\', found end of input"},
      {R"("\u12G4")", "line 1 column 6: expected 4 hex digits after \\u, found 'G'"},
      {R"("\ud83d")",
       "line 1 column 2: high surrogate \\ud83d not followed by a \\u low surrogate"},
      {R"("\ud83d\u0041")", "line 1 column 8: expected a low surrogate (\\uDC00..\\uDFFF)"},
      {R"("\ude00")", "line 1 column 2: unpaired low surrogate \\ude00"},
      {"\"\xff\"", "line 1 column 2: invalid UTF-8 in a string at byte 0xFF"},
      {"\"\xc0\xaf\"", "invalid UTF-8"},          // overlong '/'
      {"\"\xed\xa0\x80\"", "invalid UTF-8"},      // an encoded surrogate
      {"\"\xf4\x90\x80\x80\"", "invalid UTF-8"},  // past U+10FFFF
      {"\"\xe2\x82\"", "invalid UTF-8"},          // cut short
      {"\xEF\xBB\xBF{}", "line 1 column 1: expected a value, found byte 0xEF"},  // no BOM
      {R"({"a":1,"b":2,"a":3})", "line 1 column 14: duplicate key \"a\""},
      {"{\n  \"a\": 1,\n  \"b\": tru\n}", "line 3 column 8: expected 'true', found 't'"},
      {"[\n\n   ]]", "line 3 column 5: expected end of input after the JSON value, found ']'"},
  };
  for (const Case& c : cases) {
    INFO("text: " << c.text);
    QF_REQUIRE_ERROR(ParseJson(c.text), StatusCode::kInvalidArgument, c.message);
  }

  // Duplicate detection past the small-object fast path.
  std::string big = "{";
  for (int i = 0; i < 40; i++) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  CHECK(ParseJson(big + "\"k40\":0}").ok());
  QF_REQUIRE_ERROR(ParseJson(big + "\"k7\":0}"), StatusCode::kInvalidArgument,
                   "duplicate key \"k7\"");
}

// Inputs that RapidJSON 1.1.0 (Debian's rapidjson-dev) gets wrong on its own: what a
// parser of this file must do with them.
TEST_CASE("json edge cases a general-purpose reader gets wrong", "[io][json]") {
  CHECK(std::signbit(MustParse("[-0]").AsArray()[0].AsNumber()));  // not the integer 0
  CHECK(MustParse("{\"k\":-0}").Dump() == "{\"k\":-0}");
  // CVE-2024-38517's input: an exponent sum that overflowed RapidJSON's int (a crash).
  CHECK(MustParse("128.74836467836484838364836483643636483648e-336").AsNumber() == 0);
  CHECK(MustParse("0.1e309").AsNumber() == 1e308);
  CHECK(MustParse("0e400").AsNumber() == 0);  // RapidJSON refuses the exponent alone
  QF_REQUIRE_ERROR(ParseJson("[1.8e308]"), StatusCode::kInvalidArgument,
                   "line 1 column 2: number 1.8e308 is out of the range of a double");
  QF_REQUIRE_ERROR(ParseJson(std::string("1\0", 2)), StatusCode::kInvalidArgument,
                   "line 1 column 2: expected end of input after the JSON value, found byte 0x00");
  QF_REQUIRE_ERROR(ParseJson(std::string("[\"a\0\"]", 6)), StatusCode::kInvalidArgument,
                   "line 1 column 4: control character byte 0x00 in a string");
  QF_REQUIRE_ERROR(ParseJson(R"({"a":1,"\udc00":2})"), StatusCode::kInvalidArgument,
                   "line 1 column 9: unpaired low surrogate \\udc00");
  QF_REQUIRE_ERROR(ParseJson(R"(["\\\ud83d\ude00 \\udc00 \\\/ \uDFFF"])"),
                   StatusCode::kInvalidArgument,
                   "line 1 column 31: unpaired low surrogate \\uDFFF");
  QF_REQUIRE_ERROR(ParseJson(R"(["\ud83d\u12G4"])"), StatusCode::kInvalidArgument,
                   "line 1 column 13: expected 4 hex digits after \\u, found 'G'");
  QF_REQUIRE_ERROR(ParseJson("{\"a\":[-01]}"), StatusCode::kInvalidArgument,
                   "line 1 column 7: leading zeros are not allowed in numbers");
  QF_REQUIRE_ERROR(ParseJson("[fals]"), StatusCode::kInvalidArgument,
                   "line 1 column 2: expected 'false', found 'f'");
}

TEST_CASE("json limits depth and size", "[io][json]") {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(ParseJson(nested(64)).ok());
  QF_REQUIRE_ERROR(ParseJson(nested(65)), StatusCode::kInvalidArgument,
                   "line 1 column 65: nesting deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 70; i++) objects += "{\"a\":";
  QF_REQUIRE_ERROR(ParseJson(objects), StatusCode::kInvalidArgument, "nesting deeper than 64");
  // Hostile depth fails fast, without recursing a million levels.
  QF_REQUIRE_ERROR(ParseJson(std::string(1000000, '[')), StatusCode::kInvalidArgument,
                   "nesting deeper");

  JsonLimits limits;
  limits.max_depth = 3;
  limits.max_bytes = 20;
  CHECK(ParseJson("[[[1]]]", limits).ok());
  QF_REQUIRE_ERROR(ParseJson("[[[[1]]]]", limits), StatusCode::kInvalidArgument,
                   "nesting deeper than 3 levels");
  QF_REQUIRE_ERROR(ParseJson(std::string(21, ' ') + "1", limits), StatusCode::kInvalidArgument,
                   "JSON text of 22 bytes exceeds the limit of 20");
}

TEST_CASE("json every prefix of a document is an error", "[io][json]") {
  const std::string text = kModel;
  const std::string compact = MustParse(text).Dump();
  for (const std::string& doc : {text, compact}) {
    for (size_t n = 0; n < doc.size(); n++) {
      StatusOr<Json> j = ParseJson(std::string_view(doc).substr(0, n));
      INFO("prefix " << n << ": " << doc.substr(0, n));
      REQUIRE_FALSE(j.ok());
      CHECK(j.status().code() == StatusCode::kInvalidArgument);
      CHECK_THAT(j.status().message(), Catch::StartsWith("line "));
    }
  }
}

TEST_CASE("json garbage and mutations never crash", "[io][json]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  // Whatever parses must dump to text that parses back to the same value.
  auto check = [](std::string_view text) {
    StatusOr<Json> j = ParseJson(text);
    if (!j.ok()) {
      CHECK_THAT(j.status().message(), Catch::StartsWith("line "));
      return;
    }
    StatusOr<Json> again = ParseJson(j.value().Dump());
    REQUIRE(again.ok());
    CHECK(again.value() == j.value());
  };
  for (int i = 0; i < 2000; i++) {
    const std::vector<uint8_t> bytes = test::RandomInts<uint8_t>(rng, rng() % 64, 0, 255);
    check(std::string(bytes.begin(), bytes.end()));
  }
  static const char kAlphabet[] = "{}[]\",:0123456789-+.eE truefalsnu\\/\t\n";
  for (int i = 0; i < 20000; i++) {
    std::string s;
    const size_t n = rng() % 40;
    for (size_t k = 0; k < n; k++) s += kAlphabet[rng() % (sizeof kAlphabet - 1)];
    check(s);
  }
  const std::string model = kModel;
  for (int i = 0; i < 5000; i++) {
    std::string s = model;
    for (int edits = 1 + int(rng() % 3); edits > 0; edits--) {
      const size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[at] = char(rng() % 256);
          break;
        case 1:
          s.erase(at, 1);
          break;
        default:
          s.insert(at, 1, kAlphabet[rng() % (sizeof kAlphabet - 1)]);
      }
    }
    check(s);
  }
}

TEST_CASE("json typed accessors name the key path", "[io][json]") {
  const Json m = MustParse(kModel);
  StatusOr<const Json::Array*> layers = GetArray(m, "layers");
  REQUIRE(layers.ok());
  const Json& conv = (*layers.value())[0];
  const std::string where = JsonPath("layers", size_t(0));
  CHECK(where == "layers[0]");
  CHECK(GetString(conv, "type", where).value() == "conv2d");
  CHECK(GetInt(conv, "filters", where).value() == 16);
  CHECK(GetIntInRange(conv, "filters", 1, 4096, where).value() == 16);
  CHECK(GetIntOr(conv, "stride", 7, where).value() == 1);
  CHECK(GetIntOr(conv, "dilation", 1, where).value() == 1);
  CHECK(GetStringOr(conv, "padding", "valid", where).value() == "same");
  CHECK(GetBoolOr(conv, "use_bias", false, where).value() == false);
  CHECK(GetNumberOr(conv, "momentum", 0.99, where).value() == 0.99);
  CHECK(GetNumber((*layers.value())[1], "eps").value() == 1e-5);
  CHECK(GetBool((*layers.value())[4], "use_bias").value());
  StatusOr<const Json::Array*> kernel = GetArray(conv, "kernel", where);
  REQUIRE(kernel.ok());
  for (size_t i = 0; i < kernel.value()->size(); i++) {
    CHECK(ToInt((*kernel.value())[i], JsonPath(JsonPath(where, "kernel"), i)).value() == 3);
  }
  const Json outer = MustParse(R"({"o":{"k":1}})");
  StatusOr<const Json*> self = GetObject(outer, "o");
  REQUIRE(self.ok());
  CHECK(self.value()->Find("k")->AsNumber() == 1);

  const Json bad = MustParse(
      R"({"f": 1.5, "big": 1e300, "s": "16", "n": null, "arr": [1], "obj": {}, "b": 1,
          "max": 9007199254740992, "over": 9007199254740994, "min": -9007199254740992})");
  QF_REQUIRE_ERROR(GetInt(bad, "f", "layers[0]"), StatusCode::kInvalidArgument,
                   "layers[0].f: expected an integer, found number 1.5");
  QF_REQUIRE_ERROR(GetInt(bad, "big"), StatusCode::kInvalidArgument,
                   "big: integer 1e+300 is outside the exactly representable range");
  QF_REQUIRE_ERROR(GetInt(bad, "s", "x.y"), StatusCode::kInvalidArgument,
                   "x.y.s: expected an integer, found string \"16\"");
  QF_REQUIRE_ERROR(GetInt(bad, "missing", "layers[3]"), StatusCode::kInvalidArgument,
                   "layers[3].missing: required key is missing");
  QF_REQUIRE_ERROR(GetIntOr(bad, "s", 1), StatusCode::kInvalidArgument,
                   "s: expected an integer, found string");
  QF_REQUIRE_ERROR(GetIntOr(bad, "n", 1), StatusCode::kInvalidArgument,
                   "n: expected an integer, found null");
  QF_REQUIRE_ERROR(GetStringOr(bad, "b", "x"), StatusCode::kInvalidArgument,
                   "b: expected a string, found number 1");
  QF_REQUIRE_ERROR(GetBoolOr(bad, "b", true), StatusCode::kInvalidArgument,
                   "b: expected true or false, found number 1");
  QF_REQUIRE_ERROR(GetNumberOr(bad, "s", 1), StatusCode::kInvalidArgument,
                   "s: expected a number, found string \"16\"");
  QF_REQUIRE_ERROR(GetNumber(bad, "arr"), StatusCode::kInvalidArgument,
                   "arr: expected a number, found array");
  QF_REQUIRE_ERROR(GetArray(bad, "obj"), StatusCode::kInvalidArgument,
                   "obj: expected an array, found object");
  QF_REQUIRE_ERROR(GetObject(bad, "arr", "cfg"), StatusCode::kInvalidArgument,
                   "cfg.arr: expected an object, found array");
  QF_REQUIRE_ERROR(GetString(*bad.Find("arr"), "k", "layers"), StatusCode::kInvalidArgument,
                   "layers: expected an object, found array");
  QF_REQUIRE_ERROR(GetIntOr(Json::Number(3), "k", 0), StatusCode::kInvalidArgument,
                   "(root): expected an object, found number 3");
  QF_REQUIRE_ERROR(GetIntInRange(bad, "b", 2, 8, "layers[1]"), StatusCode::kInvalidArgument,
                   "layers[1].b: 1 is outside the allowed range 2..8");
  CHECK(GetInt(bad, "max").value() == 9007199254740992LL);
  CHECK(GetInt(bad, "min").value() == -9007199254740992LL);
  QF_REQUIRE_ERROR(GetInt(bad, "over"), StatusCode::kInvalidArgument, "outside the exactly");
  QF_REQUIRE_ERROR(ToBool(Json::String(std::string(100, 'x')), "p"), StatusCode::kInvalidArgument,
                   "found string \"xxxxx");
  CHECK(ToBool(Json::String(std::string(100, 'x')), "p").status().message().size() < 100);
}

}  // namespace
}  // namespace qf
