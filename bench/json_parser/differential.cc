// Differential check of two JSON parsers in one process: the hand-written one of commit
// 76c4aa6 (compiled as namespace qfold) against the tree's RapidJSON-based one (qf), over
// edge cases, random bytes, random JSON-alphabet strings, random string bodies, and
// mutations of the files in the folders given. Prints the first differences and a count.
// Built and run by bench/json_parser/compare.sh; not a test.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "core/json.h"
#define qf qfold
#include "old/core/json.h"
#undef qf

static int n_cases = 0, n_diff = 0, n_printed = 0;
static void Compare(const std::string& label, const std::string& text, bool print) {
  n_cases++;
  auto a = qfold::ParseJson(text);
  auto b = qf::ParseJson(text);
  std::string ra = a.ok() ? "OK " + a.value().Dump() : "ERR " + a.status().message();
  std::string rb = b.ok() ? "OK " + b.value().Dump() : "ERR " + b.status().message();
  if (ra != rb) {
    n_diff++;
    if (print || n_printed++ < 80) {
      std::string shown;
      for (unsigned char c : text.substr(0, 80)) {
        if (c >= 0x20 && c < 0x7f)
          shown += char(c);
        else {
          char buf[8];
          std::snprintf(buf, 8, "\\x%02X", c);
          shown += buf;
        }
      }
      std::printf("[%s] %s\n  old: %s\n  new: %s\n", label.c_str(), shown.c_str(),
                  ra.substr(0, 160).c_str(), rb.substr(0, 160).c_str());
    }
  }
}
int main(int argc, char** argv) {
  std::mt19937_64 rng(12345);
  auto cmp = [&](const std::string& label, const std::string& t) { Compare(label, t, false); };
  const std::vector<std::string> edge = {"-0",
                                         "[-0]",
                                         "1e400",
                                         "-1e400",
                                         "1.8e308",
                                         "1e309",
                                         "0.1e309",
                                         "123456789012345678901234567890",
                                         "18446744073709551616",
                                         "9007199254740993",
                                         "1e-400",
                                         "5e-324",
                                         "2.4703282292062328e-324",
                                         "128.74836467836484838364836483643636483648e-336",
                                         "1" + std::string(400, '0'),
                                         "0." + std::string(400, '0') + "1",
                                         std::string("1\0", 2),
                                         std::string("\"a\0b\"", 5),
                                         std::string("[1,\0]", 5),
                                         std::string("\0", 1),
                                         "{\"a\":1,\"a\":2}",
                                         "\"\\ude00\"",
                                         "\"\\ud83d\\ude00\\udc00\"",
                                         "{\"\\udc00\":1}",
                                         "\"\\\\ude00\"",
                                         "\"\\u0000\"",
                                         "\"\xed\xa0\x80\"",
                                         "\"\xc0\xaf\"",
                                         "\"\xf4\x90\x80\x80\"",
                                         "\"\xe2\x82\"",
                                         "[01]",
                                         "-01",
                                         "{\"a\":01}",
                                         "[-0 1]",
                                         "[0,01]",
                                         "nul",
                                         "[tru]",
                                         "fals",
                                         "nulll",
                                         "[1,]",
                                         "{,}",
                                         "\"\\u12G4\"",
                                         "\"\\ud83d\\u12G4\"",
                                         "\"\\ud83d\"",
                                         "\"\\ud83dx\"",
                                         "\"\\ud83d\\u0041\"",
                                         "\"\\",
                                         "\"\\x\"",
                                         "\"\t\"",
                                         "[1 2]",
                                         "NaN",
                                         "Infinity",
                                         "-Infinity",
                                         "[-Infinity]",
                                         "1e",
                                         "1e+",
                                         "1.",
                                         "-",
                                         "--1",
                                         "+1",
                                         std::string(65, '[') + std::string(65, ']'),
                                         std::string(64, '[') + std::string(64, ']'),
                                         "{\"a\":{\"a\":{\"a\":",
                                         "\xEF\xBB\xBF{}",
                                         "[\"\x7f\"]",
                                         "1.7976931348623157e308",
                                         "1.7976931348623158e308",
                                         "1.7976931348623159e308",
                                         "4.9406564584124654e-324",
                                         "[1e01]",
                                         "1E400",
                                         "0e400",
                                         "0e-400",
                                         "-0e0",
                                         "[1.5e+400]"};
  for (const auto& t : edge) Compare("edge", t, true);
  for (int i = 0; i < 200000; i++) {
    std::string s;
    size_t n = rng() % 64;
    for (size_t k = 0; k < n; k++) s += char(rng() % 256);
    cmp("bytes", s);
  }
  static const char kAlphabet[] = "{}[]\",:0123456789-+.eE truefalsnu\\/\t\n";
  for (int i = 0; i < 1000000; i++) {
    std::string s;
    size_t n = rng() % 40;
    for (size_t k = 0; k < n; k++) s += kAlphabet[rng() % (sizeof kAlphabet - 1)];
    cmp("alphabet", s);
  }
  static const char kStr[] =
      "\"\\u0123456789abcdefABCDEFdD\xed\xa0\xc3\xa9\x80\xbf\xf0\x9f\x98\x80 nt/";
  for (int i = 0; i < 300000; i++) {
    std::string s = "\"";
    size_t n = rng() % 24;
    for (size_t k = 0; k < n; k++) s += kStr[rng() % (sizeof kStr - 1)];
    if (rng() % 4) s += "\"";
    cmp("strings", s);
  }
  for (int a = 1; a < argc; a++) {
    std::vector<std::string> files;
    for (auto& e : std::filesystem::directory_iterator(argv[a])) files.push_back(e.path());
    for (auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string doc = ss.str();
      cmp("corpus", doc);
      for (int i = 0; i < 300 && !doc.empty(); i++) {
        std::string s = doc;
        for (int edits = 1 + int(rng() % 3); edits > 0; edits--) {
          size_t at = rng() % s.size();
          switch (rng() % 3) {
            case 0:
              s[at] = char(rng() % 256);
              break;
            case 1:
              s.erase(at, 1);
              if (s.empty()) s = "x";
              break;
            default:
              s.insert(at, 1, kAlphabet[rng() % (sizeof kAlphabet - 1)]);
          }
        }
        cmp("mutated", s);
      }
    }
  }
  std::printf("%d cases, %d differ\n", n_cases, n_diff);
}
