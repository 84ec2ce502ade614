// SPDX-License-Identifier: Apache-2.0
// Host access to blob files through the runtime's checks.
#include "statepack/tools/blob/blob_file.hpp"

#include <algorithm>
#include <vector>

#include "statepack/tools/blob/segment_verify.hpp"
#include "statepack/tools/core/error.hpp"

namespace statepack {

void check_status(const std::string &path, spk_status status, const std::string &context) {
  if (status == SPK_OK) return;
  fail_input(path, (context.empty() ? "" : context + ": ") + spk_status_str(status) + " (status " +
                       std::to_string(static_cast<int>(status)) + ")");
}

BlobFile BlobFile::open(const std::string &path, uint32_t flags) {
  BlobFile f;
  f.file_ = MappedFile::open(path);
  if (f.file_->size() == 0) fail_empty_file(path);
  check_status(path,
               spk_open(&f.blob_, f.file_->data(), static_cast<size_t>(f.file_->size()), flags));
  if (f.blob_.size != f.file_->size()) {
    fail_input(path, std::to_string(f.file_->size() - f.blob_.size) +
                         " unexpected bytes after the end of the blob");
  }
  return f;
}

std::vector<spk_tensor> BlobFile::tensors() const {
  std::vector<spk_tensor> out(spk_tensor_count(&blob_));
  for (uint32_t i = 0; i < out.size(); ++i) {
    check_status(path(), spk_tensor_at(&blob_, i, &out[i]));
  }
  return out;
}

std::map<std::string, MetaValue> BlobFile::metadata() const {
  std::map<std::string, MetaValue> out;
  for (uint32_t i = 0; i < spk_metadata_count(&blob_); ++i) {
    spk_meta m;
    check_status(path(), spk_metadata_at(&blob_, i, &m));
    MetaValue v;
    switch (m.kind) {
      case SPK_META_STRING:
        v = MetaValue::of_string(std::string(m.string_value, m.string_length));
        break;
      case SPK_META_INT:
        v = MetaValue::of_int(m.int_value);
        break;
      case SPK_META_FLOAT:
        v = MetaValue::of_float(m.float_value);
        break;
      case SPK_META_BOOL:
        v = MetaValue::of_bool(m.bool_value != 0);
        break;
    }
    out.emplace(std::string(m.key, m.key_length), std::move(v));
  }
  return out;
}

std::vector<std::string> BlobFile::tensors_in_segment(uint32_t segment) const {
  std::vector<std::string> names;
  for (const spk_tensor &t : tensors()) {
    if (t.segment == segment || t.quant.scale_segment == segment ||
        t.quant.zero_point_segment == segment) {
      names.emplace_back(t.name, t.name_length);
    }
  }
  return names;
}

void BlobFile::verify(unsigned threads, const ProgressCallback &progress) const {
  // spk_verify_report's checks, read rather than faulted in, and hashed on several threads.
  const SegmentVerdict verdict = verify_segments(*file_, blob_, threads, progress);
  const spk_status status = verdict.status;
  const uint32_t failed = verdict.failed_segment;
  if (status == SPK_OK) return;
  std::string context;
  if (failed != SPK_NO_SEGMENT) {
    context = "segment " + std::to_string(failed);
    const auto names = tensors_in_segment(failed);
    if (!names.empty()) {
      context += " (";
      for (size_t i = 0; i < names.size(); ++i) context += (i ? ", " : "") + names[i];
      context += ")";
    }
  }
  check_status(path(), status, context);
}

}  // namespace statepack
