// The blob writer. The header's size is fixed before any data is written: every value that
// the encoding decides later (stored sizes, offsets, checksums, codec and filter) sits in a
// fixed-size field that is always present, so a header built from the plan has the size of
// the final one. The writer reserves that space, streams the segments behind it in order
// (encoding chunks on a pool of threads, a bounded window ahead of the write position), and
// writes the final header and the preamble last.
#include "statepack/tools/blob/blob_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <future>
#include <optional>
#include <utility>

#include "statepack/format.h"
#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/io/atomic_output.hpp"
#include "statepack/tools/blob/blob_layout.hpp"
#include "statepack/tools/codec/chunk_pool.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/input_pages.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "statepack_generated.h"

namespace statepack {

void check_blob_options(const BlobOptions &options) {
  const uint32_t a = options.alignment;
  if (a < 8 || a > SPK_MAX_ALIGNMENT || (a & (a - 1)) != 0) {
    fail_usage("--align must be a power of two from 8 to 65536, got " + std::to_string(a));
  }
  if (options.checksum != ChecksumAlgo::kXxh64 && options.checksum != ChecksumAlgo::kXxh32) {
    fail_usage("unknown checksum algorithm");
  }
  if (options.compression.zstd &&
      (options.compression.level < 1 || options.compression.level > 22)) {
    fail_usage("the zstd level must be 1 to 22, got " + std::to_string(options.compression.level));
  }
}

namespace {

// Refuses what the format cannot describe, before anything is written.
void check_tensor(const Tensor &t) {
  const std::string where = "tensor \"" + t.name + "\"";
  if (t.name.empty()) throw Error(ErrorKind::kInput, "a tensor has an empty name");
  if (t.name.size() > SPK_MAX_NAME_LENGTH) {
    throw Error(ErrorKind::kInput, where.substr(0, 80) + "...: name longer than 65535 bytes");
  }
  if (t.shape.size() > SPK_MAX_RANK) {
    throw Error(ErrorKind::kInput, where + ": rank " + std::to_string(t.shape.size()) +
                                       " exceeds the format's limit of 8");
  }
  uint64_t count = 1;
  for (uint64_t d : t.shape) {
    if (__builtin_mul_overflow(count, d, &count)) {
      throw Error(ErrorKind::kInput, where + ": element count overflows 64 bits");
    }
  }
  // Packed sub-byte data (int4) rounds up to whole bytes; input formats demand exact bytes.
  std::optional<uint64_t> bytes = byte_size(t.dtype, count);
  if (!bytes && t.quant && count <= UINT64_MAX / 8) bytes = (count * dtype_bits(t.dtype) + 7) / 8;
  if (!bytes || *bytes != t.size) {
    throw Error(ErrorKind::kInput, where + ": " + std::to_string(t.size) +
                                       " bytes do not match its shape and dtype " +
                                       std::string(dtype_name(t.dtype)));
  }
}

flatbuffers::Offset<fb::MetaEntry> build_meta(flatbuffers::FlatBufferBuilder &b,
                                              const std::string &key, const MetaValue &v) {
  const auto key_offset = b.CreateString(key);
  const auto text = v.kind == MetaValue::Kind::kString ? b.CreateString(v.string_value) : 0;
  fb::MetaEntryBuilder entry(b);
  entry.add_key(key_offset);
  entry.add_kind(static_cast<fb::MetaKind>(v.kind));
  switch (v.kind) {
    case MetaValue::Kind::kString:
      entry.add_string_value(text);
      break;
    case MetaValue::Kind::kInt:
      entry.add_int_value(v.int_value);
      break;
    case MetaValue::Kind::kFloat:
      entry.add_float_value(v.float_value);
      break;
    case MetaValue::Kind::kBool:
      entry.add_bool_value(v.bool_value);
      break;
  }
  return entry.Finish();
}

flatbuffers::Offset<fb::Quantization> build_quant(flatbuffers::FlatBufferBuilder &b,
                                                  const QuantizedTensor &q,
                                                  const TensorSegments &segments) {
  fb::QuantizationBuilder qb(b);
  qb.add_scheme(static_cast<fb::QuantScheme>(q.spec.scheme));
  qb.add_axis(q.axis);
  qb.add_group_size(q.spec.group_size);
  if (segments.scales != kNoSegment) {
    qb.add_scale_dtype(static_cast<fb::DType>(q.scale_dtype));
    qb.add_scale_segment(segments.scales);
  }
  if (segments.zero_points != kNoSegment) {
    qb.add_zero_point_dtype(static_cast<fb::DType>(q.zero_point_dtype));
    qb.add_zero_point_segment(segments.zero_points);
  }
  qb.add_sqnr_db(static_cast<float>(q.sqnr_db));
  qb.add_max_abs_error(static_cast<float>(q.max_abs_error));
  qb.add_overflow_count(q.overflow_count);
  return qb.Finish();
}

// `explicit_codec`: write codec and filter even when they equal their defaults, so the
// header's size cannot depend on which segments end up compressed.
std::vector<uint8_t> build_header(const std::map<std::string, MetaValue> &metadata_entries,
                                  const BlobLayout &layout, uint32_t alignment,
                                  bool explicit_codec) {
  flatbuffers::FlatBufferBuilder b(1024);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  tensors.reserve(layout.tensors.size());
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const Tensor &t = *layout.tensors[i];
    const TensorSegments &segments = layout.tensor_segments[i];
    const PlannedSegment &data = layout.segments[segments.data];
    const auto name = b.CreateString(t.name);
    const auto shape = b.CreateVector(t.shape);
    const auto quant = t.quant ? build_quant(b, *t.quant, segments) : 0;
    fb::TensorBuilder tb(b);
    tb.add_name(name);
    tb.add_dtype(static_cast<fb::DType>(t.dtype));
    tb.add_shape(shape);
    tb.add_data_segment(segments.data);
    tb.add_stored_size(data.stored_size);
    tb.add_decoded_size(t.size);
    b.ForceDefaults(explicit_codec);
    tb.add_codec(data.compressed ? fb::Codec::Zstd : fb::Codec::Raw);
    tb.add_filter(data.compressed ? static_cast<fb::Filter>(data.encoding.filter)
                                  : fb::Filter::None);
    b.ForceDefaults(false);
    const DType source = t.source_dtype == DType::kUnknown ? t.dtype : t.source_dtype;
    tb.add_source_dtype(static_cast<fb::DType>(source));
    if (t.quant) tb.add_quant(quant);
    tensors.push_back(tb.Finish());
  }
  std::vector<fb::Segment> segments;
  segments.reserve(layout.segments.size());
  for (const PlannedSegment &s : layout.segments) {
    segments.emplace_back(s.offset, s.stored_size, s.checksum);
  }
  std::vector<flatbuffers::Offset<fb::MetaEntry>> metadata;
  for (const auto &[key, value] : metadata_entries) metadata.push_back(build_meta(b, key, value));

  const auto tensor_vector = b.CreateVector(tensors);
  const auto segment_vector = b.CreateVectorOfStructs(segments);
  const auto meta_vector = b.CreateVector(metadata);
  fb::HeaderBuilder header(b);
  header.add_tensors(tensor_vector);
  header.add_segments(segment_vector);
  header.add_metadata(meta_vector);
  header.add_alignment(alignment);
  b.Finish(header.Finish(), SPK_FILE_IDENTIFIER);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// The checkpoint's metadata plus the pending entries: their placeholders while the layout is
// planned, their values (which must have the placeholders' sizes) for the final header.
std::map<std::string, MetaValue> header_metadata(const Checkpoint &checkpoint,
                                                 const PendingMetadata &pending, bool final) {
  std::map<std::string, MetaValue> entries = checkpoint.metadata;
  for (const auto &[key, placeholder] : pending.placeholders) entries[key] = placeholder;
  if (!final || pending.values == nullptr) return entries;
  const std::map<std::string, MetaValue> &values = pending.values->get();
  for (const auto &[key, value] : values) {
    const auto it = pending.placeholders.find(key);
    if (it == pending.placeholders.end() || it->second.kind != value.kind ||
        it->second.string_value.size() != value.string_value.size()) {
      throw Error(ErrorKind::kOutput,
                  "internal error: metadata \"" + key + "\" does not match its placeholder");
    }
    entries[key] = value;
  }
  return entries;
}

std::vector<uint8_t> build_preamble(ChecksumAlgo algo, uint64_t blob_size,
                                    const std::vector<uint8_t> &header) {
  std::vector<uint8_t> p(SPK_PREAMBLE_SIZE_V1, 0);
  const uint8_t magic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                            SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
  std::memcpy(p.data() + SPK_PRE_MAGIC, magic, sizeof(magic));
  store_le16(p.data() + SPK_PRE_FORMAT_MAJOR, SPK_FORMAT_MAJOR);
  store_le16(p.data() + SPK_PRE_FORMAT_MINOR, SPK_FORMAT_MINOR);
  store_le32(p.data() + SPK_PRE_PREAMBLE_SIZE, SPK_PREAMBLE_SIZE_V1);
  store_le64(p.data() + SPK_PRE_BLOB_SIZE, blob_size);
  store_le64(p.data() + SPK_PRE_HEADER_OFFSET, SPK_PREAMBLE_SIZE_V1);
  store_le64(p.data() + SPK_PRE_HEADER_SIZE, header.size());
  p[SPK_PRE_CHECKSUM_ALGO] = static_cast<uint8_t>(algo);
  store_le64(p.data() + SPK_PRE_HEADER_CHECKSUM, checksum(algo, header.data(), header.size()));
  const size_t covered = SPK_PREAMBLE_SIZE_V1 - 8;
  store_le64(p.data() + covered, checksum(algo, p.data(), covered));
  return p;
}

// A descriptor of the input file that holds a tensor's bytes, for copying them file to file.
// The file is reopened by path and used only while it is still the one that was mapped (same
// device and inode): a renamed or replaced input falls back to the mapped bytes. One file is
// open at a time (a sharded checkpoint may have thousands).
class SourceFile {
 public:
  SourceFile() = default;
  ~SourceFile() { close(); }
  SourceFile(const SourceFile &) = delete;
  SourceFile &operator=(const SourceFile &) = delete;

  /// The descriptor and the offset of `data` in its file, or nullopt (memory that is not a
  /// mapped file, or a file that cannot be reopened as it was).
  std::optional<std::pair<int, uint64_t>> find(const uint8_t *data, uint64_t size) {
    const std::optional<MappedRange> range = MappedFile::locate(data, size);
    if (!range) return std::nullopt;
    if (fd_ < 0 || device_ != range->device || inode_ != range->inode) reopen(*range);
    if (fd_ < 0) return std::nullopt;
    return std::make_pair(fd_, range->offset);
  }

 private:
  void reopen(const MappedRange &range) {
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

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
  uint64_t device_ = 0, inode_ = 0;
};

// Hashes the raw segments whose checksum planning left unknown, on a thread of its own, while
// the writer writes them (without reading them, when the kernel copies them file to file).
// Segments to be compressed are left out: their checksum is that of the stored chunks, which
// the writer hashes as it writes them, and the raw bytes' hash is needed only in the rare case
// that a segment does not shrink, when the writer hashes them itself (write_raw). Hashing them
// here would read every input page one more time, only to throw the result away.
class BackgroundChecksums {
 public:
  BackgroundChecksums(const BlobLayout &layout, ChecksumAlgo algo, const InputPages &pages) {
    std::vector<ByteRange> ranges;
    for (uint32_t i = 0; i < layout.segments.size(); ++i) {
      const PlannedSegment &s = layout.segments[i];
      if (s.raw_checksum_known || s.encoding.compress) continue;
      indices_.push_back(i);
      ranges.push_back({s.data, s.size});
    }
    if (ranges.empty()) return;
    checksums_ = std::async(std::launch::async, [ranges = std::move(ranges), algo, &pages, this] {
      return hash_unknown_checksums(ranges, algo, &pages, stop_);
    });
  }
  // A write that failed does not wait for hashing it no longer needs.
  ~BackgroundChecksums() { stop_ = true; }
  BackgroundChecksums(const BackgroundChecksums &) = delete;
  BackgroundChecksums &operator=(const BackgroundChecksums &) = delete;

  /// Waits for the checksums and records them: the raw checksum of each segment, and its
  /// checksum if it was stored raw.
  void fill_in(BlobLayout &layout) {
    if (indices_.empty()) return;
    const std::vector<uint64_t> checksums = checksums_.get();
    for (size_t k = 0; k < indices_.size(); ++k) {
      PlannedSegment &s = layout.segments[indices_[k]];
      s.raw_checksum = checksums.at(k);
      s.raw_checksum_known = true;
      if (!s.compressed) s.checksum = s.raw_checksum;
    }
  }

 private:
  std::vector<uint32_t> indices_;
  std::atomic<bool> stop_{false};
  std::future<std::vector<uint64_t>> checksums_;  // last: waited for before the flag goes
};

// Writes the segments in order behind the reserved header space.
class SegmentWriter {
 public:
  SegmentWriter(BlobSink &sink, const BlobOptions &options, const InputPages &pages,
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

  /// Writes every segment from `position` on; returns the end of the last one.
  uint64_t write_all(uint64_t position) {
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

 private:
  static constexpr uint64_t kSlice = uint64_t{8} << 20;  // raw bytes written (and released) at once
  // Compressed chunks (tens of KiB each, ending anywhere in a page) are gathered and written in
  // batches that end on a page boundary of the file: measured on ext4, writing 450 MB in
  // 54 KiB pieces at unaligned offsets costs 1.7 times the kernel time of 256 KiB pieces that
  // start and end on page boundaries (a page written in two parts is prepared twice), more than
  // the copy into the batch costs. 256 KiB gains nearly all of it (1 MiB gains no more).
  static constexpr size_t kBatch = size_t{256} << 10;
  static constexpr uint64_t kPage = 4096;  // a page boundary of any larger page size is one too

  // Adds bytes that continue the batch (or starts a new one where they go); writes the batch
  // once it is full. Pieces of a batch's size or more (the footer of a huge segment) are
  // written as they are: the batch would gain nothing and grow to hold them.
  void put(uint64_t offset, const void *data, size_t size) {
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
  void flush(bool all) {
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

  void write_zeros(uint64_t offset, uint64_t count) {
    static const uint8_t zeros[4096] = {};
    while (count > 0) {
      const size_t n = count < sizeof(zeros) ? static_cast<size_t>(count) : sizeof(zeros);
      put(offset, zeros, n);
      offset += n;
      count -= n;
    }
  }

  void advance(uint64_t bytes) {
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
  void write_raw(PlannedSegment &s, bool counted = false) {
    flush(true);  // the kernel copies only at the end of what is written
    const auto source = counted ? std::nullopt : source_.find(s.data, s.size);
    std::optional<Hasher> hasher;
    if (!s.raw_checksum_known) hasher.emplace(options_.checksum);
    for (uint64_t done = 0; done < s.size; done += kSlice) {
      const uint64_t n = std::min(kSlice, s.size - done);
      const uint64_t copied =
          source ? sink_.copy_from_file(s.offset + done, source->first, source->second + done, n)
                 : 0;
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
  void submit_ahead() {
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
      pool_->submit(job);
      submit_offset_ += job.length;
    }
  }

  // Takes the next chunk's result into `r`, whose old buffer goes back to the pool for reuse.
  void next_result(ChunkResult &r) {
    submit_ahead();
    pool_->take(r);
  }

  // Writes chunk results from `offset` on, hashing them; returns the bytes written.
  uint64_t write_chunk(PlannedSegment &s, uint64_t at, uint64_t chunk_offset, size_t length,
                       const ChunkResult &r, Hasher &hasher, std::vector<uint32_t> &sizes) {
    const uint8_t *bytes = r.compressed ? r.frame.data() : s.data + chunk_offset;
    const size_t size = r.compressed ? r.frame.size() : length;
    put(at, bytes, size);
    hasher.update(bytes, size);
    sizes.push_back(static_cast<uint32_t>(size) | (r.compressed ? 0u : SPK_ZSTD_RAW_CHUNK));
    return size;
  }

  // A chunk sequence with its footer, or the raw bytes when that is not smaller. Segments of at
  // most a window of chunks are decided before anything is written; longer ones are streamed
  // and, in the rare case they did not shrink, written again raw over the same place.
  void write_compressed(PlannedSegment &s) {
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
    s.stored_size = stored + footer.size();
    s.checksum = hasher.digest();
  }

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

// A BlobSink over an AtomicOutput.
class FileSink : public BlobSink {
 public:
  explicit FileSink(AtomicOutput &out) : out_(out) {}
  void write(uint64_t offset, const void *data, size_t size) override {
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
  uint64_t copy_from_file(uint64_t offset, int fd, uint64_t file_offset, uint64_t size) override {
    // Appends only: rewrites are rare and go through write().
    if (offset != out_.position()) return 0;
    return out_.copy_from(fd, file_offset, size);
  }
  uint64_t size() const override { return out_.position(); }
  void truncate(uint64_t size) override { out_.truncate(size); }

 private:
  AtomicOutput &out_;
};

// A BlobSink into memory.
class VectorSink : public BlobSink {
 public:
  explicit VectorSink(std::vector<uint8_t> &bytes) : bytes_(bytes) {}
  void write(uint64_t offset, const void *data, size_t size) override {
    if (offset > bytes_.size())
      throw Error(ErrorKind::kOutput, "internal error: write past the end");
    if (offset + size > bytes_.size()) bytes_.resize(static_cast<size_t>(offset + size));
    if (size > 0) std::memcpy(bytes_.data() + offset, data, size);
  }
  uint64_t size() const override { return bytes_.size(); }
  void truncate(uint64_t size) override { bytes_.resize(static_cast<size_t>(size)); }

 private:
  std::vector<uint8_t> &bytes_;
};

}  // namespace

uint64_t write_blob(const Checkpoint &checkpoint, const BlobOptions &options, BlobSink &sink) {
  check_blob_options(options);
  // The runtime's limits are the format's: a blob the runtime would refuse is never written.
  if (checkpoint.tensors.size() > SPK_MAX_TENSORS) {
    throw Error(ErrorKind::kInput, std::to_string(checkpoint.tensors.size()) +
                                       " tensors exceed the format's limit of " +
                                       std::to_string(SPK_MAX_TENSORS));
  }
  const std::map<std::string, MetaValue> planned_metadata =
      header_metadata(checkpoint, options.pending, false);
  if (planned_metadata.size() > SPK_MAX_METADATA) {
    throw Error(ErrorKind::kInput, std::to_string(planned_metadata.size()) +
                                       " metadata entries exceed the format's limit of " +
                                       std::to_string(SPK_MAX_METADATA));
  }
  for (const auto &entry : planned_metadata) {
    if (entry.first.empty() || entry.first.size() > SPK_MAX_NAME_LENGTH) {
      throw Error(ErrorKind::kInput, "metadata key \"" + entry.first.substr(0, 80) +
                                         "\" is empty or longer than 65535 bytes");
    }
  }
  for (const Tensor &t : checkpoint.tensors) check_tensor(t);

  // Inputs up to the budget stay mapped (a page may be read by two passes: hashing, and
  // writing when it cannot be copied file to file); beyond it, pages are dropped as soon as a
  // pass is done with them, so the resident set stays near the budget whatever the model's size.
  // 64 MiB: small models lose nothing, and the whole process stays well within the 300 MiB
  // that the README promises (tensors being quantized or decoded come on top).
  constexpr uint64_t kResidentBudget = uint64_t{64} << 20;
  uint64_t input_bytes = 0;
  for (const Tensor &t : checkpoint.tensors) input_bytes += t.size;
  const InputPages pages(input_bytes > kResidentBudget);
  PlanOptions plan;
  plan.checksum = options.checksum;
  plan.compress = options.compression.zstd;
  plan.threads = resolve_threads(options.threads);
  plan.pages = &pages;
  BlobLayout layout = plan_segments(checkpoint, plan);

  const bool explicit_codec = options.compression.zstd;
  const size_t header_size =
      build_header(planned_metadata, layout, options.alignment, explicit_codec).size();
  if (header_size > SPK_MAX_HEADER_SIZE) {
    throw Error(ErrorKind::kInput, "the header would exceed 2 GiB");
  }
  const uint64_t header_end = SPK_PREAMBLE_SIZE_V1 + header_size;
  // Reserve the preamble and header (zeros until the end), then the segments behind them.
  {
    static const uint8_t zeros[4096] = {};
    for (uint64_t at = 0; at < header_end; at += sizeof(zeros)) {
      sink.write(at, zeros,
                 static_cast<size_t>(std::min<uint64_t>(sizeof(zeros), header_end - at)));
    }
  }
  BackgroundChecksums checksums(layout, options.checksum, pages);
  SegmentWriter writer(sink, options, pages, layout);
  const uint64_t blob_size = writer.write_all(header_end);
  checksums.fill_in(layout);

  const std::vector<uint8_t> header =
      build_header(header_metadata(checkpoint, options.pending, true), layout, options.alignment,
                   explicit_codec);
  if (header.size() != header_size) {
    throw Error(ErrorKind::kOutput, "internal error: header size changed between builds");
  }
  const std::vector<uint8_t> preamble = build_preamble(options.checksum, blob_size, header);
  check_header_with_runtime(preamble, header);
  sink.write(0, preamble.data(), preamble.size());
  sink.write(SPK_PREAMBLE_SIZE_V1, header.data(), header.size());
  // A last segment rewritten raw leaves its longer first attempt behind it.
  if (sink.size() > blob_size) sink.truncate(blob_size);
  return blob_size;
}

void check_header_with_runtime(const std::vector<uint8_t> &preamble,
                               const std::vector<uint8_t> &header) {
  std::vector<uint8_t> copy(header.size());
  spk_stream stream;
  spk_status status = spk_stream_begin(&stream, copy.data(), copy.size());
  if (status == SPK_OK) status = spk_stream_feed(&stream, preamble.data(), preamble.size());
  if (status == SPK_OK) status = spk_stream_feed(&stream, header.data(), header.size());
  if (status != SPK_OK) {
    throw Error(ErrorKind::kOutput,
                std::string("internal error: the runtime refuses the header of the blob being "
                            "written (") +
                    spk_status_str(status) + ", status " + std::to_string(status) +
                    "); nothing was written");
  }
}

uint64_t write_blob_file(const std::string &path, const Checkpoint &checkpoint,
                         const BlobOptions &options) {
  AtomicOutput out(path);
  FileSink sink(out);
  const uint64_t size = write_blob(checkpoint, options, sink);
  out.commit();
  return size;
}

std::vector<uint8_t> build_blob(const Checkpoint &checkpoint, const BlobOptions &options) {
  std::vector<uint8_t> bytes;
  VectorSink sink(bytes);
  write_blob(checkpoint, options, sink);
  return bytes;
}

}  // namespace statepack
