// SPDX-License-Identifier: Apache-2.0
// Host-side segment verification (see segment_verify.hpp). Segments are handed out one at a
// time to the threads in index order; a failure stops work on every higher segment, and the
// lowest failed index wins, so the verdict does not depend on the thread count.
#include "statepack/tools/blob/segment_verify.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "statepack/tools/codec/chunk_pool.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/core/parallel.hpp"

namespace statepack {
namespace {

// Small enough to stay in L2 between the copy and the hash; large enough that the syscalls
// cost nothing next to the hashing.
constexpr size_t kBuffer = size_t{256} << 10;

struct SegmentRecord {
  uint64_t offset, size, checksum;
};

// spk_blob::segments is the header offset of the segment vector's first 24-byte record
// (offset, stored size, checksum, little-endian), which spk_open has bounds-checked.
SegmentRecord segment_at(const spk_blob &blob, uint32_t index) {
  const uint8_t *record = blob.header + blob.segments + uint64_t{24} * index;
  return SegmentRecord{load_le64(record), load_le64(record + 8), load_le64(record + 16)};
}

bool all_zero(const uint8_t *bytes, size_t count) {
  uint64_t any = 0;
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    any |= word;
  }
  for (; i < count; ++i) any |= bytes[i];
  return any == 0;
}

// The bytes of the blob, read through a descriptor of the mapped file, or (when the file can
// no longer be opened as the one mapped) copied from the mapping, whose pages are then dropped.
class BlobReader {
 public:
  BlobReader(const MappedFile &file) : file_(file) {
    const std::optional<MappedRange> range = MappedFile::locate(file.data(), file.size());
    if (!range) return;
    const int fd = ::open(range->path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return;
    struct stat status {};
    if (::fstat(fd, &status) != 0 || static_cast<uint64_t>(status.st_dev) != range->device ||
        static_cast<uint64_t>(status.st_ino) != range->inode ||
        static_cast<uint64_t>(status.st_size) != file.size()) {
      ::close(fd);
      return;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    fd_ = fd;
  }
  ~BlobReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  BlobReader(const BlobReader &) = delete;
  BlobReader &operator=(const BlobReader &) = delete;

  /// Fills buffer[0, size) with the bytes at `offset` (inside the blob, as spk_open proved).
  void read(uint64_t offset, uint8_t *buffer, size_t size) const {
    if (fd_ < 0) {
      std::memcpy(buffer, file_.data() + offset, size);
      release(offset, size);
      return;
    }
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd_, buffer + done, size - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_input(file_.path(), std::string("read failed: ") + std::strerror(errno));
      if (n == 0) fail_input(file_.path(), "truncated while being verified");
      done += static_cast<size_t>(n);
    }
  }

 private:
  // Whole pages of the mapping inside [offset, offset + size); the mapping is page-aligned.
  void release(uint64_t offset, size_t size) const {
    static const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t from = (offset + page - 1) & ~(page - 1);
    const uint64_t to = (offset + size) & ~(page - 1);
    if (from < to) {
      ::madvise(const_cast<uint8_t *>(file_.data()) + from, static_cast<size_t>(to - from),
                MADV_DONTNEED);
    }
  }

  const MappedFile &file_;
  int fd_ = -1;
};

}  // namespace

SegmentVerdict verify_segments(const MappedFile &file, const spk_blob &blob, unsigned threads,
                               const ProgressCallback &progress) {
  const auto algo = static_cast<ChecksumAlgo>(blob.checksum);
  const uint32_t count = blob.segment_count;
  const uint64_t header_end = static_cast<uint64_t>(blob.header - blob.data) + blob.header_size;
  const BlobReader reader(file);

  std::atomic<uint32_t> next{0};
  std::atomic<uint32_t> first_failed{SPK_NO_SEGMENT};
  std::vector<spk_status> statuses(count, SPK_OK);
  // Bytes checked so far; whichever thread gets the lock reports them (the callback draws on a
  // terminal and need not be thread-safe), the others go on hashing.
  std::atomic<uint64_t> checked{0};
  std::mutex progress_mutex;
  const uint64_t total = blob.size;
  auto advance = [&](uint64_t n) {
    const uint64_t now = checked += n;
    if (!progress) return;
    std::unique_lock<std::mutex> lock(progress_mutex, std::try_to_lock);
    if (lock.owns_lock()) progress(now, total);
  };

  auto check = [&](uint32_t index, uint8_t *buffer) {
    const SegmentRecord segment = segment_at(blob, index);
    // spk_open proved the segments tile the blob in order: the gap before each is its padding.
    uint64_t at = index == 0 ? header_end : [&] {
      const SegmentRecord previous = segment_at(blob, index - 1);
      return previous.offset + previous.size;
    }();
    while (at < segment.offset) {
      const auto n = static_cast<size_t>(std::min<uint64_t>(kBuffer, segment.offset - at));
      reader.read(at, buffer, n);
      if (!all_zero(buffer, n)) return SPK_ERR_PADDING_NOT_ZERO;
      at += n;
      advance(n);
    }
    Hasher hasher(algo);
    for (uint64_t done = 0; done < segment.size; done += kBuffer) {
      // A lower segment already failed: this one's verdict no longer matters.
      if (first_failed.load(std::memory_order_relaxed) < index) return SPK_OK;
      const auto n = static_cast<size_t>(std::min<uint64_t>(kBuffer, segment.size - done));
      reader.read(segment.offset + done, buffer, n);
      hasher.update(buffer, n);
      advance(n);
    }
    return hasher.digest() == segment.checksum ? SPK_OK : SPK_ERR_SEGMENT_CHECKSUM;
  };
  const unsigned team = std::max(1u, std::min<unsigned>(resolve_threads(threads), count));
  run_workers(team, [&](const std::atomic<bool> &stop) {
    const std::unique_ptr<uint8_t[]> buffer(new uint8_t[kBuffer]);
    for (uint32_t i = next++; i < count && !stop; i = next++) {
      if (first_failed.load(std::memory_order_relaxed) < i) break;
      const spk_status status = check(i, buffer.get());
      if (status == SPK_OK) continue;
      statuses[i] = status;
      uint32_t seen = first_failed.load();
      while (i < seen && !first_failed.compare_exchange_weak(seen, i)) {
      }
    }
  });
  if (progress && first_failed.load() == SPK_NO_SEGMENT) progress(total, total);
  SegmentVerdict verdict;
  verdict.failed_segment = first_failed.load();
  if (verdict.failed_segment != SPK_NO_SEGMENT) verdict.status = statuses[verdict.failed_segment];
  return verdict;
}

}  // namespace statepack
