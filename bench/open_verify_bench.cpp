// SPDX-License-Identifier: Apache-2.0
// Benchmark (not a test): time spk_open and spk_verify on a blob file, and report throughput.
// Usage: open_verify_bench BLOB [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_support.hpp"
#include "statepack/statepack.h"

using statepack::bench::seconds_since;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BLOB [REPEATS]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  size_t size = 0;
  const uint8_t *data = statepack::bench::map_file(argv[1], &size);
  if (data == nullptr) {
    std::perror(argv[1]);
    return 1;
  }

  // spk_open is cheap (header only): time many opens for a stable figure.
  spk_blob blob;
  const int opens = 1000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < opens; ++i) {
    if (spk_open(&blob, data, size, 0) != SPK_OK) {
      std::fprintf(stderr, "%s: %s\n", argv[1], spk_status_str(spk_open(&blob, data, size, 0)));
      return 1;
    }
  }
  const double open_us = seconds_since(start) / opens * 1e6;

  std::vector<double> verify_s;
  for (int r = 0; r < repeats; ++r) {
    start = std::chrono::steady_clock::now();
    if (spk_verify(&blob) != SPK_OK) return 1;
    verify_s.push_back(seconds_since(start));
  }
  std::sort(verify_s.begin(), verify_s.end());
  const double best = verify_s.front();
  const double median = verify_s[verify_s.size() / 2];
  std::printf("blob            %s (%zu bytes, %u tensors, %u segments, %s)\n", argv[1], size,
              spk_tensor_count(&blob), blob.segment_count,
              spk_checksum_algo(&blob) == SPK_CHECKSUM_XXH64 ? "xxh64" : "xxh32");
  std::printf("spk_open        %.1f us (header %u bytes)\n", open_us, blob.header_size);
  std::printf("spk_verify      best %.2f ms = %.2f GB/s, median %.2f ms = %.2f GB/s (%d runs)\n",
              best * 1e3, static_cast<double>(size) / best / 1e9, median * 1e3,
              static_cast<double>(size) / median / 1e9, repeats);
  return 0;
}
