// Read-only memory mapping of an input file, so readers hand out views instead of copies and
// multi-GB checkpoints need no more RAM than the pages being touched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace statepack {

/// A whole file mapped read-only. Empty files are valid (data() is then nullptr).
class MappedFile {
 public:
  /// Maps `path`; throws an input Error naming the file if it is missing, a directory or
  /// unreadable.
  static std::shared_ptr<const MappedFile> open(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t *data, uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t *data_;
  uint64_t size_;
};

}  // namespace statepack
