// SPDX-License-Identifier: Apache-2.0
// What the big-endian program must find, generated on the host (big_endian_expectations.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

struct XxhAnswer {
  size_t length;
  uint32_t seed;
  uint32_t xxh32;
  uint64_t xxh64;
};

struct ExpectedTensor {
  const char *name;
  int dtype;
  int scheme;
  uint32_t rank;
  uint64_t shape[8];
  int dequantize_status;
  uint64_t values_xxh64;  // XXH64 of the f32 values as little-endian bytes
  // The zstd add-on: the codec, and what spk_zstd_decode (the stored bytes) and
  // spk_zstd_dequantize (f32 values, as above) give; both also work on raw tensors.
  int codec;
  uint64_t decoded_xxh64;
  int zstd_status;
  uint64_t zstd_values_xxh64;
};

struct ExpectedBlob {
  const char *label;
  const unsigned char *bytes;
  size_t size;
  const ExpectedTensor *tensors;
  uint32_t tensor_count;
  uint32_t metadata_count;
};

extern const unsigned char *const kXxhPattern;
extern const XxhAnswer kXxhAnswers[];
extern const int kXxhAnswerCount;
extern const ExpectedBlob kBlobs[];
extern const int kBlobCount;
