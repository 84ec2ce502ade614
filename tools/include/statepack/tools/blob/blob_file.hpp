// SPDX-License-Identifier: Apache-2.0
// A blob file opened through the runtime (the host never parses blobs a second way): mapped,
// checked by spk_open, and failures turned into Errors that name the file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/io/mapped_file.hpp"

namespace statepack {

/// An open blob file. Copyable; the mapping lives as long as any copy.
class BlobFile {
 public:
  /// Maps and opens `path` with spk_open(flags). Throws an input Error "<path>: <problem>" if
  /// the file is not a valid blob, or has bytes past the blob's end.
  static BlobFile open(const std::string &path, uint32_t flags = 0);

  /// The runtime's view.
  const spk_blob &blob() const { return blob_; }
  /// The file's path.
  const std::string &path() const { return file_->path(); }
  /// The mapping; tensors viewing the blob hold it as their owner.
  const std::shared_ptr<const MappedFile> &mapping() const { return file_; }
  /// Size of the file in bytes.
  uint64_t file_size() const { return file_->size(); }
  /// Every tensor, in name order.
  std::vector<spk_tensor> tensors() const;
  /// Every metadata entry, by key.
  std::map<std::string, MetaValue> metadata() const;
  /// Names of the tensors stored in segment `segment` (for error messages).
  std::vector<std::string> tensors_in_segment(uint32_t segment) const;
  /// Runs spk_verify's checks (verify_segments: the same verdict, with a resident set of a
  /// few buffers) on up to `threads` threads (0: every core); throws an input Error naming the
  /// failed segment and its tensors. `progress` (if set) gets bytes checked so far.
  void verify(unsigned threads = 0, const ProgressCallback &progress = {}) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  spk_blob blob_{};
};

/// Throws an input Error "<path>: <spk_status_str(status)>" unless status is SPK_OK.
void check_status(const std::string &path, spk_status status, const std::string &context = "");

}  // namespace statepack
