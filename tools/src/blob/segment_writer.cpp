// SPDX-License-Identifier: Apache-2.0
// Streams a blob's segments into its sink (see segment_writer.hpp for the parts and why they
// are here): raw segments copied file to file or written from memory in slices, compressed
// segments as chunk sequences from a pool of threads, batched to page boundaries.
#include "segment_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "statepack/statepack_zstd.h"
#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/parallel.hpp"
#include "statepack/tools/io/mapped_file.hpp"

namespace statepack {

SourceFile::~SourceFile() {
  close();
}

std::optional<std::pair<int, uint64_t>> SourceFile::find(const uint8_t *data, uint64_t size) {
  const std::optional<MappedRange> range = MappedFile::locate(data, size);
  if (!range) return std::nullopt;
  if (fd_ < 0 || device_ != range->device || inode_ != range->inode) reopen(*range);
  if (fd_ < 0) return std::nullopt;
  return std::make_pair(fd_, range->offset);
}

void SourceFile::reopen(const MappedRange &range) {
  close();
  const int fd = ::open(range.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  struct stat status {};
  if (::fstat(fd, &status) != 0 || static_cast<uint64_t>(status.st_dev) != range.device ||
      static_cast<uint64_t>(status.st_ino) != range.inode) {
    ::close(fd);
    return;
  }
  fd_ = fd;
  device_ = range.device;
  inode_ = range.inode;
}

void SourceFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

BackgroundChecksums::BackgroundChecksums(const BlobLayout &layout, ChecksumAlgo algo,
                                         const InputPages &pages) {
  std::vector<ByteRange> ranges;
  for (uint32_t i = 0; i < layout.segments.size(); ++i) {
    const PlannedSegment &s = layout.segments[i];
    if (s.raw_checksum_known || s.encoding.compress) continue;
    indices_.push_back(i);
    ranges.push_back({s.data, s.size});
  }
  if (ranges.empty()) return;
  checksums_ = std::make_unique<BackgroundTask<std::vector<uint64_t>>>(
      [ranges = std::move(ranges), algo, &pages](const std::atomic<bool> &stop) {
        return hash_unknown_checksums(ranges, algo, &pages, stop);
      });
}
void BackgroundChecksums::fill_in(BlobLayout &layout) {
  if (indices_.empty()) return;
  const std::vector<uint64_t> &checksums = checksums_->get();
  for (size_t k = 0; k < indices_.size(); ++k) {
    PlannedSegment &s = layout.segments[indices_[k]];
    s.raw_checksum = checksums.at(k);
    s.raw_checksum_known = true;
    if (!s.compressed) s.checksum = s.raw_checksum;
  }
}

SegmentWriter::SegmentWriter(BlobSink &sink, const BlobOptions &options, const InputPages &pages,
                             BlobLayout &layout)
    : sink_(sink), options_(options), pages_(pages), layout_(layout) {
  for (const PlannedSegment &s : layout_.segments) {
    total_ += s.size;
    compressing_ = compressing_ || s.encoding.compress;
  }
  if (compressing_) {
    const unsigned threads = resolve_threads(options.threads);
    // A few chunks per thread keep every worker busy while the writer catches up.
    window_ = std::max<size_t>(16, size_t{4} * threads);
    pool_.emplace(threads, window_, options.compression.level);
  }
}

uint64_t SegmentWriter::write_all(uint64_t position) {
  for (PlannedSegment &segment : layout_.segments) {
    segment.offset = align_up(position, options_.alignment);
    write_zeros(position, segment.offset - position);
    if (segment.encoding.compress) {
      write_compressed(segment);
    } else {
      write_raw(segment);
    }
    position = segment.offset + segment.stored_size;
  }
  flush(true);
  return position;
}

// Adds bytes that continue the batch (or starts a new one where they go); writes the batch
// once it is full. Pieces of a batch's size or more (the footer of a huge segment) are
// written as they are: the batch would gain nothing and grow to hold them.
void SegmentWriter::put(uint64_t offset, const void *data, size_t size) {
  if (!batch_.empty() && offset != batch_offset_ + batch_.size()) flush(true);
  if (size >= kBatch) {
    flush(true);
    sink_.write(offset, data, size);
    return;
  }
  if (batch_.empty()) batch_offset_ = offset;
  const auto *bytes = static_cast<const uint8_t *>(data);
  batch_.insert(batch_.end(), bytes, bytes + size);
  if (batch_.size() >= kBatch) flush(false);
}

// Writes the batch: all of it, or (`all` false) up to the last page boundary it crosses, the
// rest staying for the next write to continue.
void SegmentWriter::flush(bool all) {
  if (batch_.empty()) return;
  size_t n = batch_.size();
  if (!all) {
    const uint64_t boundary = (batch_offset_ + batch_.size()) & ~(kPage - 1);
    if (boundary <= batch_offset_) return;
    n = static_cast<size_t>(boundary - batch_offset_);
  }
  sink_.write(batch_offset_, batch_.data(), n);
  batch_.erase(batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(n));
  batch_offset_ += n;
}

void SegmentWriter::write_zeros(uint64_t offset, uint64_t count) {
  static const uint8_t zeros[4096] = {};
  while (count > 0) {
    const size_t n = count < sizeof(zeros) ? static_cast<size_t>(count) : sizeof(zeros);
    put(offset, zeros, n);
    offset += n;
    count -= n;
  }
}

void SegmentWriter::advance(uint64_t bytes) {
  done_ += bytes;
  if (options_.progress) options_.progress(done_, total_);
}

// Stored as it is, in slices. Bytes that lie in an input file are copied file to file by the
// kernel: no page faults on the input mapping and no copy through this process, which makes
// this the fastest path. The rest (owned buffers, a rewrite over a failed compression, what
// the kernel cannot copy) is written from memory, each slice's input pages released once
// written. Both paths store the bytes that planning or BackgroundChecksums hash through the
// mapping of that same file, so the segment's checksum is that of the bytes written. A
// segment meant for compression that did not shrink has no raw checksum yet (see
// BackgroundChecksums): it is hashed here, slice by slice, from those same bytes.
void SegmentWriter::write_raw(PlannedSegment &s, bool counted) {
  flush(true);  // the kernel copies only at the end of what is written
  const auto source = counted ? std::nullopt : source_.find(s.data, s.size);
  std::optional<Hasher> hasher;
  if (!s.raw_checksum_known) hasher.emplace(options_.checksum);
  for (uint64_t done = 0; done < s.size; done += kSlice) {
    const uint64_t n = std::min(kSlice, s.size - done);
    const uint64_t copied =
        source ? sink_.copy_from_file(s.offset + done, source->first, source->second + done, n) : 0;
    if (copied < n) {
      sink_.write(s.offset + done + copied, s.data + done + copied,
                  static_cast<size_t>(n - copied));
    }
    if (hasher) hasher->update(s.data + done, static_cast<size_t>(n));
    pages_.release(s.data + done, n);
    if (!counted) advance(n);
  }
  if (hasher) {
    s.raw_checksum = hasher->digest();
    s.raw_checksum_known = true;
  }
  s.compressed = false;
  s.stored_size = s.size;
  s.checksum = s.raw_checksum;
}

// Keeps the pool's window full: chunks of this and later segments, in blob order.
void SegmentWriter::submit_ahead() {
  while (pool_->has_room()) {
    while (submit_segment_ < layout_.segments.size() &&
           (!layout_.segments[submit_segment_].encoding.compress ||
            submit_offset_ >= layout_.segments[submit_segment_].size)) {
      ++submit_segment_;
      submit_offset_ = 0;
    }
    if (submit_segment_ >= layout_.segments.size()) return;
    const PlannedSegment &s = layout_.segments[submit_segment_];
    ChunkJob job;
    job.data = s.data + submit_offset_;
    job.length =
        static_cast<size_t>(std::min<uint64_t>(s.encoding.chunk_size, s.size - submit_offset_));
    job.encoding = s.encoding;
    if (submit_offset_ != 0) {
      job.previous = s.data + submit_offset_ - s.encoding.chunk_size;
      job.previous_length = s.encoding.chunk_size;
    }
    pool_->submit(job);
    submit_offset_ += job.length;
  }
}

// Takes the next chunk's result into `r`, whose old buffer goes back to the pool for reuse.
void SegmentWriter::next_result(ChunkResult &r) {
  submit_ahead();
  pool_->take(r);
}

// Writes chunk results from `offset` on, hashing them; returns the bytes written.
uint64_t SegmentWriter::write_chunk(PlannedSegment &s, uint64_t at, uint64_t chunk_offset,
                                    size_t length, const ChunkResult &r, Hasher &hasher,
                                    std::vector<uint32_t> &sizes) {
  const uint8_t *bytes = r.compressed ? r.frame.data() : s.data + chunk_offset;
  const size_t size = r.compressed ? r.frame.size() : length;
  put(at, bytes, size);
  hasher.update(bytes, size);
  const uint32_t kind = static_cast<uint32_t>(r.kind) << SPK_ZSTD_KIND_SHIFT;
  sizes.push_back(static_cast<uint32_t>(size) | (r.compressed ? kind : SPK_ZSTD_RAW_CHUNK));
  return size;
}

// A chunk sequence with its footer, or the raw bytes when that is not smaller. Segments of at
// most a window of chunks are decided before anything is written; longer ones are streamed
// and, in the rare case they did not shrink, written again raw over the same place.
void SegmentWriter::write_compressed(PlannedSegment &s) {
  const uint64_t chunk = s.encoding.chunk_size;
  const uint64_t chunks = (s.size + chunk - 1) / chunk;
  Hasher hasher(options_.checksum);
  std::vector<uint32_t> sizes;
  uint64_t stored = 0;
  if (chunks <= window_) {
    // results_ only grows (to at most a window), so its buffers serve segment after segment.
    if (results_.size() < chunks) results_.resize(static_cast<size_t>(chunks));
    const std::vector<ChunkResult> &results = results_;
    uint64_t total = SPK_ZSTD_FOOTER_SIZE + 4 * chunks;
    for (uint64_t i = 0; i < chunks; ++i) {
      ChunkResult &r = results_[static_cast<size_t>(i)];
      next_result(r);
      total += r.compressed ? r.frame.size() : std::min(chunk, s.size - i * chunk);
    }
    if (total >= s.size) {
      write_raw(s);
      return;
    }
    for (uint64_t i = 0; i < chunks; ++i) {
      const uint64_t offset = i * chunk;
      const auto length = static_cast<size_t>(std::min(chunk, s.size - offset));
      stored += write_chunk(s, s.offset + stored, offset, length, results[i], hasher, sizes);
      advance(length);
    }
    pages_.release(s.data, s.size);
  } else {
    uint64_t released = 0;
    for (uint64_t i = 0; i < chunks; ++i) {
      const uint64_t offset = i * chunk;
      const auto length = static_cast<size_t>(std::min(chunk, s.size - offset));
      next_result(current_);
      stored += write_chunk(s, s.offset + stored, offset, length, current_, hasher, sizes);
      advance(length);
      if (offset + length - released >= kSlice || i + 1 == chunks) {
        pages_.release(s.data + released, offset + length - released);
        released = offset + length;
      }
    }
    if (stored + SPK_ZSTD_FOOTER_SIZE + 4 * chunks >= s.size) {
      write_raw(s, true);
      return;
    }
  }
  const std::vector<uint8_t> footer = chunk_footer(sizes, s.encoding.chunk_size);
  put(s.offset + stored, footer.data(), footer.size());
  hasher.update(footer.data(), footer.size());
  s.compressed = true;
  s.chunk_kinds = std::any_of(sizes.begin(), sizes.end(), [](uint32_t size) {
    return (size & SPK_ZSTD_RAW_CHUNK) == 0 && (size & SPK_ZSTD_KIND_MASK) != 0;
  });
  s.stored_size = stored + footer.size();
  s.checksum = hasher.digest();
}

}  // namespace statepack
