// SPDX-License-Identifier: Apache-2.0
// Benchmark (not a test): how long until a program can reach tensor bytes by name. For a blob,
// spk_open (preamble, header checksum, structure and semantic checks) then spk_find of every
// name; for the same tensors as safetensors, parsing its JSON header (nlohmann::json, as the
// packer's own reader does) then a lookup of every name. Both files are mapped and warm.
// Usage: open_find_bench BLOB SAFETENSORS [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "statepack/statepack.h"

namespace {

using statepack::bench::map_file;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BLOB SAFETENSORS [REPEATS]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 20;
  size_t blob_size = 0, st_size = 0;
  const uint8_t *blob_data = map_file(argv[1], &blob_size);
  const uint8_t *st_data = map_file(argv[2], &st_size);
  if (blob_data == nullptr || st_data == nullptr) {
    std::fprintf(stderr, "cannot map the inputs\n");
    return 1;
  }
  spk_blob blob;
  if (spk_open(&blob, blob_data, blob_size, 0) != SPK_OK) return 1;
  std::vector<std::string> names;
  for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
    spk_tensor t;
    spk_tensor_at(&blob, i, &t);
    names.emplace_back(t.name, t.name_length);
  }
  double spk_open_best = 1e30, spk_find_best = 1e30, st_parse_best = 1e30, st_find_best = 1e30;
  uint64_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    double t0 = now();
    if (spk_open(&blob, blob_data, blob_size, 0) != SPK_OK) return 1;
    double t1 = now();
    for (const std::string &name : names) {
      spk_tensor t;
      if (spk_find(&blob, name.c_str(), &t) != SPK_OK) return 1;
      sink += t.stored_size;
    }
    double t2 = now();
    spk_open_best = std::min(spk_open_best, t1 - t0);
    spk_find_best = std::min(spk_find_best, t2 - t1);

    t0 = now();
    uint64_t header_size = 0;
    std::memcpy(&header_size, st_data, 8);
    const auto header = nlohmann::json::parse(st_data + 8, st_data + 8 + header_size);
    t1 = now();
    for (const std::string &name : names) {
      const auto it = header.find(name);
      if (it == header.end()) return 1;
      sink += (*it)["data_offsets"][1].get<uint64_t>();
    }
    t2 = now();
    st_parse_best = std::min(st_parse_best, t1 - t0);
    st_find_best = std::min(st_find_best, t2 - t1);
  }
  const double n = static_cast<double>(names.size());
  std::printf("tensors         %zu (blob header %u bytes, safetensors header %llu bytes)\n",
              names.size(), blob.header_size,
              static_cast<unsigned long long>(*reinterpret_cast<const uint64_t *>(st_data)));
  std::printf("statepack       spk_open %.1f us, spk_find %.3f us each (all %zu: %.1f us)\n",
              spk_open_best * 1e6, spk_find_best / n * 1e6, names.size(), spk_find_best * 1e6);
  std::printf("safetensors     JSON header parse %.1f us, lookup %.3f us each (all: %.1f us)\n",
              st_parse_best * 1e6, st_find_best / n * 1e6, st_find_best * 1e6);
  std::printf("open + 1 find   statepack %.1f us vs safetensors %.1f us (best of %d)%s\n",
              (spk_open_best + spk_find_best / n) * 1e6, (st_parse_best + st_find_best / n) * 1e6,
              repeats, sink == 0 ? " " : "");
  return 0;
}
