// SPDX-License-Identifier: Apache-2.0
// The file and memory sinks of write_blob (see blob_sinks.hpp): how random-access blob writes
// map onto an AtomicOutput, which appends and rewrites, and onto a growing vector.
#include "blob_sinks.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/atomic_output.hpp"

namespace statepack {

void FileSink::write(uint64_t offset, const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  const uint64_t end = out_.position();
  if (offset < end) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(size, end - offset));
    out_.write_at(offset, bytes, n);
    bytes += n;
    size -= n;
    offset += n;
  }
  if (size > 0) {
    if (offset != out_.position()) fail_output(out_.path(), "internal error: write past the end");
    out_.write(bytes, size);
  }
}

uint64_t FileSink::copy_from_file(uint64_t offset, int fd, uint64_t file_offset, uint64_t size) {
  // Appends only: rewrites are rare and go through write().
  if (offset != out_.position()) return 0;
  return out_.copy_from(fd, file_offset, size);
}

uint64_t FileSink::size() const {
  return out_.position();
}

void FileSink::truncate(uint64_t size) {
  out_.truncate(size);
}

void VectorSink::write(uint64_t offset, const void *data, size_t size) {
  if (offset > bytes_.size()) throw Error(ErrorKind::kOutput, "internal error: write past the end");
  if (offset + size > bytes_.size()) bytes_.resize(static_cast<size_t>(offset + size));
  if (size > 0) std::memcpy(bytes_.data() + offset, data, size);
}

}  // namespace statepack
