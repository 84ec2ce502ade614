// SPDX-License-Identifier: Apache-2.0
// Benchmark (not a test): decode every tensor of a blob through the zstd add-on
// (spk_zstd_decode into one reused buffer, one thread) and report decoded bytes per second.
// Usage: zstd_decode_bench BLOB [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_support.hpp"
#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BLOB [REPEATS]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  size_t size = 0;
  const uint8_t *data = statepack::bench::map_file(argv[1], &size);
  spk_blob blob;
  if (data == nullptr || spk_open(&blob, data, size, 0) != SPK_OK) {
    std::fprintf(stderr, "%s: cannot open\n", argv[1]);
    return 1;
  }
  uint64_t largest = 0, decoded = 0, stored = 0;
  for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
    spk_tensor t;
    spk_tensor_at(&blob, i, &t);
    largest = std::max(largest, t.decoded_size);
    decoded += t.decoded_size;
    stored += t.stored_size;
  }
  std::vector<uint8_t> workspace(spk_zstd_blob_workspace_size(&blob) + 64);
  std::vector<uint8_t> out(largest);
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
      spk_tensor t;
      spk_tensor_at(&blob, i, &t);
      const spk_status s =
          spk_zstd_decode(&t, workspace.data(), workspace.size(), out.data(), out.size());
      if (s != SPK_OK) {
        std::fprintf(stderr, "%s: %s\n", t.name, spk_status_str(s));
        return 1;
      }
    }
    best = std::min(best, statepack::bench::seconds_since(start));
  }
  std::printf(
      "add-on decode   %.3f s for %llu decoded bytes (%llu stored) = %.2f GB/s, "
      "workspace %zu bytes, best of %d\n",
      best, static_cast<unsigned long long>(decoded), static_cast<unsigned long long>(stored),
      static_cast<double>(decoded) / best / 1e9, workspace.size() - 64, repeats);
  return 0;
}
