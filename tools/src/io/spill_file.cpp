// SPDX-License-Identifier: Apache-2.0
// The spill file (see spill_file.hpp): one unnamed file per process, appended to at page
// boundaries, and mapped back read-only in regions of 1 GiB of address space (a piece larger
// than that gets a region of its own), so that a model of many spilled tensors needs few
// mappings. Mapping past the end of the file is allowed; only written bytes are ever read.
#include "statepack/tools/io/spill_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>
#include <vector>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

constexpr uint64_t kRegion = uint64_t{1} << 30;

// The spill file's descriptor, closed when the file and every piece of it are gone.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() { ::close(fd_); }
  Descriptor(const Descriptor &) = delete;
  Descriptor &operator=(const Descriptor &) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// One read-only mapping of the spill file; unmapped when the last view of it goes.
class Region {
 public:
  Region(const uint8_t *base, uint64_t size) : base_(base), size_(size) {}
  ~Region() { ::munmap(const_cast<uint8_t *>(base_), static_cast<size_t>(size_)); }
  Region(const Region &) = delete;
  Region &operator=(const Region &) = delete;
  const uint8_t *base() const { return base_; }

 private:
  const uint8_t *base_;
  uint64_t size_;
};

// What a view keeps alive: its region, and the disk space of its bytes, given back to the
// file system (a hole punched) when the view goes, so that a long-lived process that packs
// blob after blob (a fuzzer, a service) does not grow the file without end.
class Piece {
 public:
  Piece(std::shared_ptr<const Descriptor> fd, std::shared_ptr<const Region> region, uint64_t offset,
        uint64_t size)
      : fd_(std::move(fd)), region_(std::move(region)), offset_(offset), size_(size) {}
  ~Piece() {
#if defined(FALLOC_FL_PUNCH_HOLE) && defined(FALLOC_FL_KEEP_SIZE)
    // Best effort: a file system without holes keeps the space until the process ends.
    ::fallocate(fd_->get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset_),
                static_cast<off_t>(size_));
#endif
  }
  Piece(const Piece &) = delete;
  Piece &operator=(const Piece &) = delete;

 private:
  std::shared_ptr<const Descriptor> fd_;
  std::shared_ptr<const Region> region_;
  uint64_t offset_, size_;
};

class SpillFile {
 public:
  void set_directory(const std::string &directory) {
    std::lock_guard<std::mutex> lock(mutex_);
    directory_ = directory;
  }

  SpilledBytes keep(uint64_t size,
                    const std::function<std::pair<const uint8_t *, uint64_t>()> &next) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!fd_) create();
    const uint64_t offset = (end_ + page_ - 1) & ~(page_ - 1);
    if (!region_ || offset + size > region_offset_ + region_size_) {
      const uint64_t span = size > kRegion ? (size + page_ - 1) & ~(page_ - 1) : kRegion;
      if (span > SIZE_MAX) fail_output(where_, "a spilled tensor is too large to map");
      void *base = ::mmap(nullptr, static_cast<size_t>(span), PROT_READ, MAP_PRIVATE, fd_->get(),
                          static_cast<off_t>(offset));
      if (base == MAP_FAILED) fail_output(where_, std::string("mmap: ") + std::strerror(errno));
      region_ = std::make_shared<Region>(static_cast<const uint8_t *>(base), span);
      region_offset_ = offset;
      region_size_ = span;
    }
    for (uint64_t done = 0; done < size;) {
      const auto [data, length] = next();
      if (length == 0 || length > size - done) {
        fail_output(where_, "internal error: spilled blocks do not add up to their size");
      }
      write_at(offset + done, data, length);
      done += length;
    }
    end_ = offset + size;
    return SpilledBytes{region_->base() + (offset - region_offset_),
                        std::make_shared<Piece>(fd_, region_, offset, size)};
  }

  void write_at(uint64_t offset, const uint8_t *data, uint64_t size) {
    for (uint64_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd_->get(), data + done, static_cast<size_t>(size - done),
                                 static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fail_output(where_, std::string("cannot write the spill file: ") +
                                (n < 0 ? std::strerror(errno) : "no space written"));
      }
      done += static_cast<uint64_t>(n);
    }
  }

  // In the chosen directory, or the temporary one if the chosen one refuses.
  void create() {
    std::error_code error;
    std::string temporary = std::filesystem::temp_directory_path(error).string();
    if (error) temporary = ".";
    const std::string first = directory_.empty() ? temporary : directory_;
    int fd = open_unnamed(first);
    if (fd < 0 && first != temporary) fd = open_unnamed(temporary);
    if (fd < 0) {
      fail_output(first + " (spill file)", std::string("cannot create: ") + std::strerror(errno));
    }
    where_ = first + " (spill file)";
    fd_ = std::make_shared<Descriptor>(fd);
  }

  static int open_unnamed(const std::string &directory) {
#ifdef O_TMPFILE
    const int unnamed = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (unnamed >= 0) return unnamed;
#endif
    // No O_TMPFILE (or a file system without it): a named file, removed at once.
    std::string name = directory + "/.statepack-spill-XXXXXX";
    std::vector<char> path(name.begin(), name.end());
    path.push_back('\0');
    const int fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(path.data());
    return fd;
  }

  std::mutex mutex_;
  std::string directory_, where_;
  std::shared_ptr<const Descriptor> fd_;
  uint64_t end_ = 0;
  const uint64_t page_ = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::shared_ptr<const Region> region_;
  uint64_t region_offset_ = 0, region_size_ = 0;
};

SpillFile &spill_file() {
  static SpillFile instance;
  return instance;
}

}  // namespace

void set_spill_directory(const std::string &directory) {
  spill_file().set_directory(directory);
}

SpilledBytes spill(const uint8_t *data, uint64_t size) {
  static const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (size < page) {
    auto copy = std::make_shared<std::vector<uint8_t>>(data, data + size);
    return SpilledBytes{copy->data(), copy};
  }
  bool given = false;
  return spill_file().keep(size, [&]() -> std::pair<const uint8_t *, uint64_t> {
    if (given) return {nullptr, 0};
    given = true;
    return {data, size};
  });
}

SpilledBytes spill_blocks(uint64_t size,
                          const std::function<std::pair<const uint8_t *, uint64_t>()> &next) {
  return spill_file().keep(size, next);
}

}  // namespace statepack
