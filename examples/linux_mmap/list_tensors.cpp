// SPDX-License-Identifier: Apache-2.0
// Edge-Linux use of the C++ API: mmap a blob (any size: only the pages touched are read), open
// and fully verify it, list its tensors, and decode one to f32 without copying the blob.
//
//   list_tensors BLOB [TENSOR]     TENSOR defaults to the first one. Exit 0 on success.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "statepack/statepack.hpp"

namespace {

// A read-only mapping of a whole file, unmapped when it goes out of scope.
class Mapping {
 public:
  explicit Mapping(const char *path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size == 0) {
      error_ = fd < 0 ? std::strerror(errno) : "empty or unreadable file";
      if (fd >= 0) ::close(fd);
      return;
    }
    void *data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);  // the mapping keeps the file
    if (data == MAP_FAILED) {
      error_ = std::strerror(errno);
      return;
    }
    data_ = data;
    size_ = static_cast<size_t>(st.st_size);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  Mapping(const Mapping &) = delete;
  Mapping &operator=(const Mapping &) = delete;

  const void *data() const { return data_; }
  size_t size() const { return size_; }
  const char *error() const { return error_; }

 private:
  void *data_ = nullptr;
  size_t size_ = 0;
  const char *error_ = nullptr;
};

const char *checksum_name(const spk_blob &blob) {
  return spk_checksum_algo(&blob) == SPK_CHECKSUM_XXH32 ? "xxh32" : "xxh64";
}

std::string shape_text(const statepack::TensorView &t) {
  std::string text = "[";
  const auto shape = t.shape();
  for (size_t d = 0; d < shape.size; ++d) {
    text += (d ? ", " : "") + std::to_string(shape[d]);
  }
  return text + "]";
}

void list(const statepack::BlobView &blob) {
  std::printf("%-28s %-8s %-16s %10s  %s\n", "tensor", "dtype", "shape", "bytes", "quantization");
  for (uint32_t i = 0; i < blob.tensor_count(); ++i) {
    const auto t = blob.at(i);
    if (!t.ok()) {
      std::printf("  tensor %u: %s\n", i, t.status().message());
      continue;
    }
    std::printf("%-28s %-8s %-16s %10llu", t->name(), spk_dtype_name(t->dtype()),
                shape_text(t.value()).c_str(), static_cast<unsigned long long>(t->bytes().size));
    if (t->raw().quant.scheme != SPK_QUANT_NONE) {
      std::printf("  scheme %d, SQNR %.1f dB", static_cast<int>(t->raw().quant.scheme),
                  static_cast<double>(t->raw().quant.sqnr_db));
    }
    std::printf("\n");
  }
}

// Decodes one tensor (quantized or not) to f32 and summarises it.
int read_one(const statepack::BlobView &blob, const char *name) {
  const auto t = name != nullptr ? blob.find(name) : blob.at(0);
  if (!t.ok()) {
    std::fprintf(stderr, "%s: %s\n", name != nullptr ? name : "first tensor", t.status().message());
    return 1;
  }
  std::vector<float> values(static_cast<size_t>(t->element_count()));
  const statepack::Status s = t->dequantize(values.data(), values.size());
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", t->name(), s.message());
    return 1;
  }
  std::printf("\n%s %s as f32 (stored bytes at %p, inside the mapping: nothing was copied):\n",
              t->name(), shape_text(t.value()).c_str(), static_cast<const void *>(t->bytes().data));
  if (values.empty()) {
    std::printf("  (no elements)\n");
    return 0;
  }
  double sum = 0;
  for (const float v : values) sum += static_cast<double>(v);
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  std::printf("  first:");
  for (size_t i = 0; i < std::min<size_t>(values.size(), 6); ++i) {
    std::printf(" %+.6f", static_cast<double>(values[i]));
  }
  std::printf("\n  min %+.6f  max %+.6f  mean %+.6f\n", static_cast<double>(*low),
              static_cast<double>(*high), sum / static_cast<double>(values.size()));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s BLOB [TENSOR]\n", argv[0]);
    return 2;
  }
  const Mapping file(argv[1]);
  if (file.data() == nullptr) {
    std::fprintf(stderr, "%s: %s\n", argv[1], file.error());
    return 1;
  }
  const auto blob = statepack::BlobView::open(file.data(), file.size());
  const statepack::Status verified = blob.ok() ? blob->verify() : blob.status();
  if (!verified.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], verified.message());
    return 1;
  }
  std::printf("%s: %u tensors, %zu bytes, %s, verified\n\n", argv[1], blob->tensor_count(),
              file.size(), checksum_name(blob->raw()));
  list(blob.value());
  if (blob->tensor_count() == 0) return 0;
  return read_one(blob.value(), argc == 3 ? argv[2] : nullptr);
}
