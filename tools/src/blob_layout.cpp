// Segment planning: deterministic order and deduplication of identical tensor bytes.
#include "statepack/tools/blob_layout.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "statepack/tools/error.hpp"

namespace statepack {

BlobLayout plan_segments(const Checkpoint &checkpoint, ChecksumAlgo algo) {
  BlobLayout layout;
  for (const Tensor &t : checkpoint.tensors) layout.tensors.push_back(&t);
  std::sort(layout.tensors.begin(), layout.tensors.end(),
            [](const Tensor *a, const Tensor *b) { return a->name < b->name; });
  for (size_t i = 1; i < layout.tensors.size(); ++i) {
    if (layout.tensors[i - 1]->name == layout.tensors[i]->name) {
      throw Error(ErrorKind::kInput, "two tensors are named \"" + layout.tensors[i]->name + "\"");
    }
  }

  // Key by content hash, confirm with memcmp: a hash collision never merges different bytes.
  std::unordered_multimap<uint64_t, uint32_t> by_content;
  for (const Tensor *t : layout.tensors) {
    const uint64_t content = checksum(ChecksumAlgo::kXxh64, t->data, t->size);
    uint32_t found = UINT32_MAX;
    const auto range = by_content.equal_range(content);
    for (auto it = range.first; it != range.second; ++it) {
      const PlannedSegment &s = layout.segments[it->second];
      if (s.size == t->size && (t->size == 0 || std::memcmp(s.data, t->data, t->size) == 0)) {
        found = it->second;
        break;
      }
    }
    if (found == UINT32_MAX) {
      found = static_cast<uint32_t>(layout.segments.size());
      PlannedSegment segment;
      segment.data = t->data;
      segment.size = t->size;
      segment.checksum = algo == ChecksumAlgo::kXxh64 ? content : checksum(algo, t->data, t->size);
      layout.segments.push_back(segment);
      by_content.emplace(content, found);
    }
    layout.tensor_segment.push_back(found);
  }
  return layout;
}

uint64_t place_segments(BlobLayout &layout, uint64_t data_start, uint32_t alignment) {
  uint64_t end = data_start;
  for (PlannedSegment &segment : layout.segments) {
    segment.offset = align_up(end, alignment);
    end = segment.offset + segment.size;
  }
  return end;
}

}  // namespace statepack
