// SPDX-License-Identifier: Apache-2.0
// Read-only mmap of an input file. Readers hand out views into the mapping, so a multi-GB
// checkpoint costs only the pages that are touched.
//
// A file truncated by another process while mapped makes later reads fault (SIGBUS); the tools
// accept that, as every mmap-based reader does, rather than copy the whole file.
#include "statepack/tools/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <utility>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

// Closes a descriptor on every path out of open(); the mapping outlives it.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser &) = delete;
  FdCloser &operator=(const FdCloser &) = delete;

 private:
  int fd_;
};

// Every live mapping by its start address, so that the writer can find the file behind a
// tensor's bytes (and copy them file to file) whichever reader produced the tensor.
struct Registry {
  std::mutex mutex;
  std::map<uintptr_t, const MappedFile *> by_start;
};

Registry &registry() {
  static Registry instance;
  return instance;
}

[[noreturn]] void fail_errno(const std::string &path, int error) {
  if (error == ENOENT) fail_input(path, "no such file");
  if (error == EISDIR) fail_input(path, "is a directory");
  fail_input(path, std::strerror(error));
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string &path) {
  // O_NONBLOCK so that opening a FIFO by mistake fails below instead of hanging here; it has no
  // effect on regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_errno(path, errno);
  FdCloser closer(fd);

  struct stat status {};
  if (::fstat(fd, &status) != 0) fail_errno(path, errno);
  if (S_ISDIR(status.st_mode)) fail_input(path, "is a directory");
  if (!S_ISREG(status.st_mode)) fail_input(path, "is not a regular file");
  if (status.st_size < 0) fail_input(path, "has a negative size");

  const auto size = static_cast<uint64_t>(status.st_size);
  const auto device = static_cast<uint64_t>(status.st_dev);
  const auto inode = static_cast<uint64_t>(status.st_ino);
  if (size == 0) {
    return std::shared_ptr<const MappedFile>(new MappedFile(path, nullptr, 0, device, inode));
  }
  if (size > std::numeric_limits<size_t>::max()) fail_input(path, "is too large to map");

  void *address = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (address == MAP_FAILED) fail_errno(path, errno);
  MappedFile *file = nullptr;
  try {
    file = new MappedFile(path, static_cast<const uint8_t *>(address), size, device, inode);
  } catch (...) {
    ::munmap(address, static_cast<size_t>(size));
    throw;
  }
  // If the control block cannot be allocated, shared_ptr deletes `file`, which unmaps.
  return std::shared_ptr<const MappedFile>(file);
}

MappedFile::MappedFile(std::string path, const uint8_t *data, uint64_t size, uint64_t device,
                       uint64_t inode)
    : path_(std::move(path)), data_(data), size_(size), device_(device), inode_(inode) {
  if (data_ == nullptr) return;
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.by_start[reinterpret_cast<uintptr_t>(data_)] = this;
}

MappedFile::~MappedFile() {
  if (data_ == nullptr) return;
  {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.by_start.erase(reinterpret_cast<uintptr_t>(data_));
  }
  ::munmap(const_cast<uint8_t *>(data_), static_cast<size_t>(size_));
}

std::optional<MappedRange> MappedFile::locate(const void *data, uint64_t size) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  if (data == nullptr || size > UINTPTR_MAX - begin) return std::nullopt;
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.by_start.upper_bound(begin);  // the first mapping starting after `data`
  if (it == r.by_start.begin()) return std::nullopt;
  const MappedFile &file = *(--it)->second;
  const uint64_t offset = begin - it->first;
  if (offset > file.size_ || size > file.size_ - offset) return std::nullopt;
  return MappedRange{file.path_, file.device_, file.inode_, offset};
}

void MappedFile::release(const void *data, uint64_t size) {
  if (size == 0 || !locate(data, size)) return;
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  // Whole pages only: a partial page at either end may hold bytes still to be read.
  const uintptr_t from = (begin + page - 1) & ~(page - 1);
  const uintptr_t to = (begin + size) & ~(page - 1);
  if (from < to) ::madvise(reinterpret_cast<void *>(from), to - from, MADV_DONTNEED);
}

}  // namespace statepack
