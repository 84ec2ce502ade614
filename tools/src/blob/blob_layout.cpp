// SPDX-License-Identifier: Apache-2.0
// Segment planning: deterministic order and deduplication of identical tensor bytes. Only byte
// ranges that could have a twin are hashed here (on several threads): those whose size,
// encoding and sampled bytes match another's. Every other range cannot be a duplicate, and its
// checksum is left to the writer, which computes it while it writes (so that hashing overlaps
// writing instead of delaying it). Everything that decides the layout runs on one thread, in
// name order, so the plan never depends on the thread count.
#include "statepack/tools/blob/blob_layout.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/parallel.hpp"
#include "statepack/tools/io/input_pages.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {
namespace {

// A byte range to place, and how it would be encoded.
struct Candidate {
  const uint8_t *data;
  uint64_t size;
  SegmentEncoding encoding;
  uint64_t content = 0;   // XXH64, the dedup key (only when `hashed`)
  uint64_t checksum = 0;  // in the blob's algorithm (only when `hashed`)
  bool hashed = false;
};

// Identical byte ranges have identical samples, so ranges whose size, encoding and samples
// differ from every other's have no twin, and need no hash to be placed.
uint64_t sample_key(const Candidate &c) {
  constexpr uint64_t kSample = 4096;
  uint64_t key = checksum(ChecksumAlgo::kXxh64, &c.size, sizeof c.size);
  key ^= static_cast<uint64_t>(c.encoding.compress) * 0x9E3779B97F4A7C15ull;
  key ^= static_cast<uint64_t>(c.encoding.filter) * 0xC2B2AE3D27D4EB4Full;
  if (c.size <= 3 * kSample) {
    return key ^ checksum(ChecksumAlgo::kXxh64, c.data, static_cast<size_t>(c.size)) * 3;
  }
  const uint64_t middle = (c.size / 2) & ~(kSample - 1);
  for (const uint64_t at : {uint64_t{0}, middle, c.size - kSample}) {
    key = key * 0x100000001B3ull ^ checksum(ChecksumAlgo::kXxh64, c.data + at, kSample);
  }
  return key;
}

// Marks the candidates that share their sample key with another: only those are hashed.
// Reading a sample can map a whole large folio of the input (megabytes), so the candidate's
// pages are released again at once.
void mark_possible_twins(std::vector<Candidate> &candidates, const InputPages *pages,
                         std::vector<size_t> &to_hash) {
  std::unordered_map<uint64_t, size_t> first_with_key;
  std::vector<bool> marked(candidates.size(), false);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const uint64_t key = sample_key(candidates[i]);
    if (pages != nullptr) pages->release(candidates[i].data, candidates[i].size);
    const auto [it, inserted] = first_with_key.emplace(key, i);
    if (inserted) continue;
    for (const size_t j : {it->second, i}) {
      if (!marked[j]) to_hash.push_back(j);
      marked[j] = true;
    }
  }
  std::sort(to_hash.begin(), to_hash.end());
}

// Hashes in slices, releasing each slice's input pages as soon as it has been read.
uint64_t hash_range(ChecksumAlgo algo, const uint8_t *data, uint64_t size,
                    const InputPages *pages) {
  constexpr uint64_t kSlice = uint64_t{8} << 20;
  if (size <= kSlice) {
    const uint64_t h = checksum(algo, data, static_cast<size_t>(size));
    if (pages != nullptr) pages->release(data, size);
    return h;
  }
  Hasher hasher(algo);
  for (uint64_t done = 0; done < size; done += kSlice) {
    const uint64_t n = std::min(kSlice, size - done);
    hasher.update(data + done, static_cast<size_t>(n));
    if (pages != nullptr) pages->release(data + done, n);
  }
  return hasher.digest();
}

// memcmp in slices, releasing each slice's input pages once compared: a model with many
// identical tensors (zero-initialised buffers) would otherwise keep all of them resident.
bool same_bytes(const uint8_t *a, const uint8_t *b, uint64_t size, const InputPages *pages) {
  constexpr uint64_t kSlice = uint64_t{8} << 20;
  for (uint64_t done = 0; done < size; done += kSlice) {
    const uint64_t n = std::min(kSlice, size - done);
    const bool same = std::memcmp(a + done, b + done, static_cast<size_t>(n)) == 0;
    if (pages != nullptr) {
      pages->release(a + done, n);
      pages->release(b + done, n);
    }
    if (!same) return false;
  }
  return true;
}

void hash_candidates(std::vector<Candidate> &candidates, const std::vector<size_t> &to_hash,
                     const PlanOptions &options) {
  parallel_for(to_hash.size(), options.threads, [&](uint64_t k) {
    Candidate &c = candidates[to_hash[k]];
    c.hashed = true;
    c.content = hash_range(ChecksumAlgo::kXxh64, c.data, c.size, options.pages);
    // XXH32 blobs need a second hash; it is cheap next to writing the bytes.
    c.checksum = options.checksum == ChecksumAlgo::kXxh64
                     ? c.content
                     : hash_range(options.checksum, c.data, c.size, options.pages);
  });
}

}  // namespace

std::vector<uint64_t> hash_unknown_checksums(const std::vector<ByteRange> &ranges,
                                             ChecksumAlgo algo, const InputPages *pages,
                                             const std::atomic<bool> &stop) {
  std::vector<uint64_t> checksums;
  for (const ByteRange &r : ranges) {
    if (stop) break;
    checksums.push_back(hash_range(algo, r.data, r.size, pages));
  }
  return checksums;
}

BlobLayout plan_segments(const Checkpoint &checkpoint, const PlanOptions &options) {
  BlobLayout layout;
  for (const Tensor &t : checkpoint.tensors) layout.tensors.push_back(&t);
  std::sort(layout.tensors.begin(), layout.tensors.end(),
            [](const Tensor *a, const Tensor *b) { return a->name < b->name; });
  for (size_t i = 1; i < layout.tensors.size(); ++i) {
    if (layout.tensors[i - 1]->name == layout.tensors[i]->name) {
      throw Error(ErrorKind::kInput, "two tensors are named \"" + layout.tensors[i]->name + "\"");
    }
  }

  // Every byte range in name order: data, then scales and zero points (which stay raw: they
  // are small and the device reads them in place).
  std::vector<Candidate> candidates;
  for (const Tensor *t : layout.tensors) {
    SegmentEncoding data_encoding;
    if (options.compress && t->size > 0) {
      data_encoding = encoding_for(t->dtype, options.max_chunk);
      data_encoding.chunk_size = chunk_size_for(t->data, t->size, data_encoding, options.max_chunk);
    }
    candidates.push_back({t->data, t->size, data_encoding});
    if (t->quant) {
      const QuantizedTensor &q = *t->quant;
      if (!q.scales.empty()) candidates.push_back({q.scales.data(), q.scales.size(), {}});
      if (!q.zero_points.empty()) {
        candidates.push_back({q.zero_points.data(), q.zero_points.size(), {}});
      }
    }
  }
  std::vector<size_t> to_hash;
  mark_possible_twins(candidates, options.pages, to_hash);
  hash_candidates(candidates, to_hash, options);

  // Key by content hash, confirm with memcmp: a hash collision never merges different bytes.
  std::unordered_multimap<uint64_t, uint32_t> by_content;
  size_t next = 0;
  auto segment_for = [&]() {
    const Candidate &c = candidates[next++];
    const auto range = c.hashed ? by_content.equal_range(c.content)
                                : std::make_pair(by_content.end(), by_content.end());
    for (auto it = range.first; it != range.second; ++it) {
      const PlannedSegment &s = layout.segments[it->second];
      if (s.size == c.size && s.encoding == c.encoding &&
          same_bytes(s.data, c.data, c.size, options.pages)) {
        return it->second;
      }
    }
    const auto index = static_cast<uint32_t>(layout.segments.size());
    PlannedSegment segment;
    segment.data = c.data;
    segment.size = c.size;
    segment.raw_checksum = c.checksum;
    segment.raw_checksum_known = c.hashed;
    segment.encoding = c.encoding;
    segment.stored_size = c.size;
    segment.checksum = c.checksum;
    layout.segments.push_back(segment);
    if (c.hashed) by_content.emplace(c.content, index);
    return index;
  };
  for (const Tensor *t : layout.tensors) {
    TensorSegments segments;
    segments.data = segment_for();
    if (t->quant) {
      if (!t->quant->scales.empty()) segments.scales = segment_for();
      if (!t->quant->zero_points.empty()) segments.zero_points = segment_for();
    }
    layout.tensor_segments.push_back(segments);
  }
  return layout;
}

}  // namespace statepack
