// SPDX-License-Identifier: Apache-2.0
// The machinery that streams a blob's segments into its sink, behind the space reserved for
// the header: copying raw tensor bytes file to file where the kernel can, compressing chunks on
// a pool of threads a bounded window ahead of the write position, and hashing on a thread of
// its own what planning left unhashed. Kept apart from write_blob, which only orders the
// steps (plan, reserve, write segments, write header). Not installed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "statepack/tools/blob/blob_layout.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/codec/chunk_pool.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/parallel.hpp"
#include "statepack/tools/io/input_pages.hpp"

namespace statepack {

struct MappedRange;

/// A descriptor of the input file that holds a tensor's bytes, for copying them file to file.
/// The file is reopened by path and used only while it is still the one that was mapped (same
/// device and inode): a renamed or replaced input falls back to the mapped bytes. One file is
/// open at a time (a sharded checkpoint may have thousands).
class SourceFile {
 public:
  SourceFile() = default;
  /// Closes the file, if one is open.
  ~SourceFile();
  SourceFile(const SourceFile &) = delete;
  SourceFile &operator=(const SourceFile &) = delete;

  /// The descriptor and the offset of `data` in its file, or nullopt (memory that is not a
  /// mapped file, or a file that cannot be reopened as it was).
  std::optional<std::pair<int, uint64_t>> find(const uint8_t *data, uint64_t size);

 private:
  /// Opens the file of `range` if it is still the one that was mapped; else none stays open.
  void reopen(const MappedRange &range);
  /// Closes the open file, if any.
  void close();

  int fd_ = -1;
  uint64_t device_ = 0, inode_ = 0;
};

/// Hashes the raw segments whose checksum planning left unknown, on a thread of its own, while
/// the writer writes them (without reading them, when the kernel copies them file to file).
/// Segments to be compressed are left out: their checksum is that of the stored chunks, which
/// the writer hashes as it writes them, and the raw bytes' hash is needed only in the rare case
/// that a segment does not shrink, when the writer hashes them itself (write_raw). Hashing them
/// here would read every input page one more time, only to throw the result away.
class BackgroundChecksums {
 public:
  /// Starts hashing the segments of `layout` that need it with `algo`, releasing `pages`.
  BackgroundChecksums(const BlobLayout &layout, ChecksumAlgo algo, const InputPages &pages);
  /// A write that failed does not wait for hashing it no longer needs: the task is told to
  /// stop when it goes.
  BackgroundChecksums(const BackgroundChecksums &) = delete;
  BackgroundChecksums &operator=(const BackgroundChecksums &) = delete;

  /// Waits for the checksums and records them: the raw checksum of each segment, and its
  /// checksum if it was stored raw.
  void fill_in(BlobLayout &layout);

 private:
  std::vector<uint32_t> indices_;
  std::unique_ptr<BackgroundTask<std::vector<uint64_t>>> checksums_;  // null: nothing to hash
};

/// Writes the segments in order behind the reserved header space, filling in each segment's
/// offset, stored size, checksum and whether it ended up compressed.
class SegmentWriter {
 public:
  /// A writer of `layout`'s segments into `sink` with `options`' alignment, checksum,
  /// compression level, threads and progress; releases `pages` as it is done with them.
  SegmentWriter(BlobSink &sink, const BlobOptions &options, const InputPages &pages,
                BlobLayout &layout);

  /// Writes every segment from `position` on; returns the end of the last one.
  uint64_t write_all(uint64_t position);

 private:
  static constexpr uint64_t kSlice = uint64_t{8} << 20;  // raw bytes written (and released) at once
  // Compressed chunks (tens of KiB each, ending anywhere in a page) are gathered and written in
  // batches that end on a page boundary of the file: measured on ext4, writing 450 MB in
  // 54 KiB pieces at unaligned offsets costs 1.7 times the kernel time of 256 KiB pieces that
  // start and end on page boundaries (a page written in two parts is prepared twice), more than
  // the copy into the batch costs. 256 KiB gains nearly all of it (1 MiB gains no more).
  static constexpr size_t kBatch = size_t{256} << 10;
  static constexpr uint64_t kPage = 4096;  // a page boundary of any larger page size is one too

  /// Adds bytes at `offset` to the batch (see kBatch), writing it once it is full.
  void put(uint64_t offset, const void *data, size_t size);
  /// Writes the batch: all of it, or up to the last page boundary it crosses.
  void flush(bool all);
  /// Puts `count` zero bytes at `offset` (the padding before an aligned segment).
  void write_zeros(uint64_t offset, uint64_t count);
  /// Counts `bytes` of tensor data as done and reports progress.
  void advance(uint64_t bytes);
  /// Stores `s` raw at its offset; `counted`: its bytes were already reported as done.
  void write_raw(PlannedSegment &s, bool counted = false);
  /// Keeps the pool's window full with chunks of the segments still to write.
  void submit_ahead();
  /// Takes the next chunk's result into `r`.
  void next_result(ChunkResult &r);
  /// Writes one chunk of `s` (its result `r`) at `at`, hashing it and recording its size;
  /// returns the bytes written.
  uint64_t write_chunk(PlannedSegment &s, uint64_t at, uint64_t chunk_offset, size_t length,
                       const ChunkResult &r, Hasher &hasher, std::vector<uint32_t> &sizes);
  /// Stores `s` as a chunk sequence with its footer, or raw when that is not smaller.
  void write_compressed(PlannedSegment &s);

  BlobSink &sink_;
  const BlobOptions &options_;
  const InputPages &pages_;
  BlobLayout &layout_;
  SourceFile source_;
  uint64_t total_ = 0, done_ = 0;
  bool compressing_ = false;
  size_t window_ = 0;
  std::optional<ChunkPool> pool_;
  std::vector<ChunkResult> results_;  // a short segment's results, decided on before writing
  ChunkResult current_;               // the chunk being written of a long segment
  std::vector<uint8_t> batch_;        // bytes to write at batch_offset_ (see put())
  uint64_t batch_offset_ = 0;
  size_t submit_segment_ = 0;
  uint64_t submit_offset_ = 0;
};

}  // namespace statepack
