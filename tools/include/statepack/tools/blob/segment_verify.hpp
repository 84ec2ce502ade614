// SPDX-License-Identifier: Apache-2.0
// The checks of spk_verify_report (every segment's checksum, zero padding before each segment)
// for the host, at the speed of the file system: the file is read with pread() into a small
// buffer per thread rather than faulted in through the mapping, so the resident set stays at a
// few buffers whatever the blob's size, and segments are hashed with libxxhash (vectorised)
// on several threads. The segment table is the one spk_open checked (spk_blob::segments).
#pragma once

#include <cstdint>

#include "statepack/statepack.h"
#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/io/mapped_file.hpp"

namespace statepack {

/// The outcome of verify_segments: SPK_OK, SPK_ERR_SEGMENT_CHECKSUM or
/// SPK_ERR_PADDING_NOT_ZERO, and the failed segment (the lowest-numbered one that fails, as
/// spk_verify_report reports it), SPK_NO_SEGMENT when all pass.
struct SegmentVerdict {
  spk_status status = SPK_OK;
  uint32_t failed_segment = SPK_NO_SEGMENT;
};

/// Verifies the segments of `blob`, opened by spk_open over the whole of `file`'s mapping, on
/// up to `threads` threads (0: every core). Reads the file behind the mapping when it is still
/// the one mapped, else the mapping itself (releasing its pages as it goes). The verdict equals
/// spk_verify_report's on every blob. `progress` (if set) gets bytes checked so far, from one
/// thread at a time.
SegmentVerdict verify_segments(const MappedFile &file, const spk_blob &blob, unsigned threads,
                               const ProgressCallback &progress = {});

}  // namespace statepack
