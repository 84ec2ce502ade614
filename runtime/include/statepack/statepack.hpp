// SPDX-License-Identifier: Apache-2.0
// Thin C++ layer over the C API: the same checks and no allocation, with types that carry
// their status (Result) and views (Span) instead of out-parameters. Header-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "statepack/statepack.h"

namespace statepack {

/// A runtime status; converts to true when it is SPK_OK.
class Status {
 public:
  constexpr Status(spk_status code = SPK_OK) : code_(code) {}  // NOLINT: implicit by design
  /// True for SPK_OK.
  constexpr bool ok() const { return code_ == SPK_OK; }
  constexpr explicit operator bool() const { return ok(); }
  /// The stable numeric code.
  constexpr spk_status code() const { return code_; }
  /// A constant description (spk_status_str).
  const char *message() const { return spk_status_str(code_); }

 private:
  spk_status code_;
};

/// A value or the status that prevented it. value() on a failed Result returns a zeroed T.
template <typename T>
class Result {
 public:
  Result(const T &value) : value_(value), status_(SPK_OK) {}  // NOLINT: implicit by design
  Result(spk_status status) : value_(), status_(status) {}    // NOLINT: implicit by design
  /// True when a value is present.
  bool ok() const { return status_.ok(); }
  /// Why there is no value (SPK_OK when there is one).
  Status status() const { return status_; }
  /// The value; meaningful only when ok().
  const T &value() const { return value_; }
  const T *operator->() const { return &value_; }

 private:
  T value_;
  Status status_;
};

/// A non-owning view of `size` contiguous elements.
template <typename T>
struct Span {
  const T *data = nullptr;
  size_t size = 0;
  const T *begin() const { return data; }
  const T *end() const { return data + size; }
  const T &operator[](size_t i) const { return data[i]; }
};

/// A view of one tensor inside an open blob.
class TensorView {
 public:
  TensorView() { std::memset(&raw_, 0, sizeof(raw_)); }
  explicit TensorView(const spk_tensor &raw) : raw_(raw) {}
  /// NUL-terminated name inside the blob.
  const char *name() const { return raw_.name; }
  /// Element type of the stored data.
  spk_dtype dtype() const { return static_cast<spk_dtype>(raw_.dtype); }
  /// Dimensions (empty for a scalar).
  Span<uint64_t> shape() const { return Span<uint64_t>{raw_.shape, raw_.rank}; }
  /// Number of elements (1 for a scalar).
  uint64_t element_count() const { return raw_.element_count; }
  /// The stored bytes, in the blob (encoded when the codec is not raw).
  Span<uint8_t> bytes() const {
    return Span<uint8_t>{static_cast<const uint8_t *>(raw_.data),
                         static_cast<size_t>(raw_.stored_size)};
  }
  /// Writes the values as f32 into out[0, count); see spk_dequantize.
  Status dequantize(float *out, size_t count) const { return spk_dequantize(&raw_, out, count); }
  /// The underlying C view.
  const spk_tensor &raw() const { return raw_; }

 private:
  spk_tensor raw_;
};

/// An opened blob: a small value (copyable) pointing into bytes the caller keeps alive.
class BlobView {
 public:
  BlobView() { std::memset(&raw_, 0, sizeof(raw_)); }
  /// Checks and opens the blob in data[0, size); see spk_open.
  static Result<BlobView> open(const void *data, size_t size, uint32_t flags = 0) {
    BlobView blob;
    const spk_status status = spk_open(&blob.raw_, data, size, flags);
    if (status != SPK_OK) return Result<BlobView>(status);
    return Result<BlobView>(blob);
  }
  /// Number of tensors.
  uint32_t tensor_count() const { return spk_tensor_count(&raw_); }
  /// Tensor `index` in name order.
  Result<TensorView> at(uint32_t index) const {
    spk_tensor t;
    return wrap(spk_tensor_at(&raw_, index, &t), t);
  }
  /// Tensor by NUL-terminated name (binary search).
  Result<TensorView> find(const char *name) const {
    spk_tensor t;
    return wrap(spk_find(&raw_, name, &t), t);
  }
  /// Tensor by name of `length` bytes.
  Result<TensorView> find(const char *name, size_t length) const {
    spk_tensor t;
    return wrap(spk_find_n(&raw_, name, length, &t), t);
  }
  /// Every segment checksum and all padding; see spk_verify.
  Status verify() const { return spk_verify(&raw_); }
  /// The underlying C struct.
  const spk_blob &raw() const { return raw_; }

 private:
  static Result<TensorView> wrap(spk_status status, const spk_tensor &t) {
    if (status != SPK_OK) return Result<TensorView>(status);
    return Result<TensorView>(TensorView(t));
  }

  spk_blob raw_;
};

}  // namespace statepack
