// Parse time of two JSON parsers in one process, rounds interleaved (the machine is noisy:
// read the ratio, not the absolute times): the hand-written one of commit 76c4aa6
// (namespace qfold) and the tree's RapidJSON-based one (qf). Documents: the headers of
// the model files given, a fit() options object, and 2000 layer-like objects.
// Built and run by bench/json_parser/compare.sh; not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#define qf qfold
#include "old/core/json.h"
#undef qf

template <typename F>
double NsPerCall(F f, int n) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i++) f();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
         n;
}
int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> docs;
  for (int a = 1; a < argc; a++) {  // model files: the header is bytes [16, 16 + u32 at 12)
    std::ifstream in(argv[a], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string b = ss.str();
    uint32_t h;
    std::memcpy(&h, b.data() + 12, 4);
    docs.push_back({std::string("header ") + argv[a], b.substr(16, h)});
  }
  docs.push_back(
      {"fit options",
       R"({"epochs":3,"batchSize":64,"learningRate":0.01,"optimizer":"sgd","momentum":0.9,"nesterov":true,"weightDecay":0.0005,"schedule":{"name":"step","stepEpochs":2,"gamma":0.5},"seed":7,"shuffle":true})"});
  std::string big = "[";  // a larger document: 2000 layer-like objects (~150 KB)
  for (int i = 0; i < 2000; i++)
    big += std::string(i ? "," : "") + R"({"type":"conv2d","filters":)" + std::to_string(i) +
           R"(,"kernel":[3,3],"eps":1e-5,"name":"layer \u00e9)" + std::to_string(i) + "\"}";
  big += "]";
  docs.push_back({"2000 objects", big});
  for (auto& [name, text] : docs) {
    volatile size_t sink = 0;
    const int n = std::max(20, int(4000000 / (text.size() + 200)));
    std::vector<double> old_ns, new_ns, ratio;
    for (int round = 0; round < 9; round++) {
      const double o = NsPerCall([&] { sink = sink + qfold::ParseJson(text).value().size(); }, n);
      const double r = NsPerCall([&] { sink = sink + qf::ParseJson(text).value().size(); }, n);
      old_ns.push_back(o);
      new_ns.push_back(r);
      ratio.push_back(r / o);
    }
    std::sort(old_ns.begin(), old_ns.end());
    std::sort(new_ns.begin(), new_ns.end());
    std::sort(ratio.begin(), ratio.end());
    std::printf(
        "%-48s %7zu bytes  hand %9.2f us  rapidjson %9.2f us  ratio rapidjson/hand %.2f (rounds "
        "%.2f..%.2f)\n",
        name.c_str(), text.size(), old_ns[4] / 1e3, new_ns[4] / 1e3, ratio[4], ratio[0], ratio[8]);
  }
}
