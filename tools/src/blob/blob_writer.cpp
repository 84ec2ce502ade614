// SPDX-License-Identifier: Apache-2.0
// The blob writer. The header's size is fixed before any data is written: every value that
// the encoding decides later (stored sizes, offsets, checksums, codec and filter) sits in a
// fixed-size field that is always present, so a header built from the plan has the size of
// the final one. The writer reserves that space, streams the segments behind it in order
// (encoding chunks on a pool of threads, a bounded window ahead of the write position), and
// writes the final header and the preamble last. This file holds the checks and that order;
// the header's bytes come from header_builder, the segments' from segment_writer, and the
// destinations from blob_sinks.
#include "statepack/tools/blob/blob_writer.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "blob_sinks.hpp"
#include "header_builder.hpp"
#include "segment_writer.hpp"
#include "statepack/format.h"
#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_layout.hpp"
#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/parallel.hpp"
#include "statepack/tools/io/atomic_output.hpp"
#include "statepack/tools/io/input_pages.hpp"

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
  plan.max_chunk = options.compression.max_chunk;
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
