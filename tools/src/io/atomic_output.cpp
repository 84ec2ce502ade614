// SPDX-License-Identifier: Apache-2.0
// Crash-safe output, so an interrupted write never replaces or truncates the user's file.
//
// The bytes go to an unnamed file (O_TMPFILE) in the target's directory, which gets a name only
// when it is complete: fsync, link it under a unique temporary name, rename that over the target,
// fsync the directory. A run killed at any moment before the link (SIGKILL, power loss) leaves
// nothing at all behind: the kernel frees an unnamed file with its last descriptor. Only the
// microseconds between the link and the rename can leave a named temporary, and then a complete
// one.
//
// Where O_TMPFILE is not supported (some network and FUSE filesystems, old kernels), the file is
// a named temporary from the start ("<target>.tmp-XXXXXX", mkstemp). A killed run leaves it, so
// every AtomicOutput first removes the temporaries of earlier runs for the same target: those no
// live writer holds (each writer keeps an flock on its file while it works) and that nobody has
// written for a minute. A temporary never carries the target's name, so a reader of the target
// sees the old file or the new one, never a part of either.
//
// Only regular files are replaced (output_target.hpp decides what a path names): a symlink's
// final target is, beside which the temporary goes; devices, FIFOs and standard output get
// their bytes directly, because renaming over a device node would replace the node itself
// (`-o /dev/null` as root once left a regular file there).
#include "statepack/tools/io/atomic_output.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <system_error>
#include <vector>

#include "output_target.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/parallel.hpp"

namespace statepack {
namespace {

constexpr char kTempSuffix[] = ".tmp-";
constexpr size_t kTempRandomChars = 6;  // as mkstemp's XXXXXX
// A temporary nobody has written for this long, and that no process holds, is abandoned.
constexpr time_t kStaleSeconds = 60;
// Written bytes are handed to the disk in batches of this size while writing goes on, so the
// fsync in commit() finds little left to do instead of the whole file.
constexpr uint64_t kWritebackBatch = uint64_t{8} << 20;

std::string directory_of(const std::string &path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string &path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string errno_text() {
  return std::strerror(errno);
}

// Removes "<target>.tmp-XXXXXX" files left by killed runs (see the file comment). Best effort:
// anything unexpected leaves the file alone.
void remove_stale_temporaries(const std::string &path) {
  const std::string directory = directory_of(path);
  const std::string prefix = base_of(path) + kTempSuffix;
  DIR *dir = ::opendir(directory.c_str());
  if (dir == nullptr) return;
  const time_t now = ::time(nullptr);
  while (const dirent *entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.size() != prefix.size() + kTempRandomChars ||
        name.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const std::string full = directory + "/" + name;
    const int fd = ::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime + kStaleSeconds < now &&
        ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      ::unlink(full.c_str());
    }
    ::close(fd);
  }
  ::closedir(dir);
}

// Six characters for a temporary name, from the kernel's random source.
std::string random_chars() {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint8_t bytes[kTempRandomChars] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // No entropy source: the pid and the clock still make collisions rare, and linkat's EEXIST
    // makes them harmless.
    uint64_t x = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^
                 static_cast<uint64_t>(::clock());
    for (auto &b : bytes) {
      b = static_cast<uint8_t>(x);
      x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
  }
  std::string out;
  for (uint8_t b : bytes) out.push_back(alphabet[b % (sizeof(alphabet) - 1)]);
  return out;
}

}  // namespace

// Hands written bytes to the disk (sync_file_range) on a thread of its own while writing goes
// on. Without it the whole file is written back inside commit's fsync, after all the copying;
// started from the writing thread instead, the submission costs that thread about a third of
// the copying time (measured on ext4). commit's fsync still makes everything durable.
class AtomicOutput::Writeback {
 public:
  explicit Writeback(int fd)
      : fd_(fd), task_([this](const std::atomic<bool> &) { return run(); }) {}
  ~Writeback() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    // task_, the last member, goes first: it joins the thread before the members it uses go.
  }
  Writeback(const Writeback &) = delete;
  Writeback &operator=(const Writeback &) = delete;

  /// Asks for the bytes before `end` to be written back (those not asked for before).
  void request(uint64_t end) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requested_ = std::max(requested_, end);
    }
    wake_.notify_one();
  }

 private:
  // Serves requests until stopped; returns the bytes it asked to be written back.
  uint64_t run() {
    uint64_t started = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || requested_ > started; });
      if (stop_) return started;
      const uint64_t end = requested_;
      lock.unlock();
      // Best effort: a failure only means these bytes reach the disk in commit's fsync.
      ::sync_file_range(fd_, static_cast<off64_t>(started), static_cast<off64_t>(end - started),
                        SYNC_FILE_RANGE_WRITE);
      started = end;
      lock.lock();
    }
  }

  const int fd_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t requested_ = 0;
  bool stop_ = false;
  BackgroundTask<uint64_t> task_;  // last: started once the members it uses exist
};

AtomicOutput::AtomicOutput(std::string path, CopyRangeCall copy_range, OutputAccess access)
    : path_(path == "-" ? "standard output" : path), copy_range_(copy_range) {
  // A failed write to a pipe, a full disk or a file-size limit (RLIMIT_FSIZE) must become an
  // error message, not a signal that kills the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
  const OutputTarget target = open_output_target(path);
  if (target.kind == TargetKind::kDevice) {
    fd_ = target.fd;
    device_ = true;
    return;
  }
  if (target.kind == TargetKind::kStream) {
    if (access == OutputAccess::kSequential) {
      fd_ = target.fd;
      streaming_ = true;
      return;
    }
    // Bytes already written may change until commit(): build the whole output first.
    const char *tmpdir = std::getenv("TMPDIR");
    try {
      open_temporary(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp", false);
    } catch (...) {
      ::close(target.fd);  // no destructor runs for a constructor that throws
      throw;
    }
    stream_fd_ = target.fd;
    return;
  }
  file_ = true;
  target_ = target.path;
  remove_stale_temporaries(target_);
  open_temporary(directory_of(target_), true);
  if (target.kind == TargetKind::kExistingFile) {
    // The replacement is the same file to its users: same mode, and the same owner and group
    // where this process may give them (root; or the group, for a member). Owner first, since
    // chown clears the set-id bits that the chmod restores.
    if (::fchown(fd_, target.st.st_uid, target.st.st_gid) != 0) {
      [[maybe_unused]] const int ignored = ::fchown(fd_, static_cast<uid_t>(-1), target.st.st_gid);
    }
    ::fchmod(fd_, target.st.st_mode & 07777);
  }
}

// An unnamed file in `directory` (O_TMPFILE). Where that is not supported: a named one, kept
// under its "<target>.tmp-XXXXXX" name for a file target (`named_fallback`), or unlinked at
// once for the temporary of a stream, which never gets a name.
void AtomicOutput::open_temporary(const std::string &directory, bool named_fallback) {
  fd_ = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    std::string pattern = named_fallback ? target_ + kTempSuffix + "XXXXXX"
                                         : directory + "/statepack-stream" + kTempSuffix + "XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0) {
      fail_output(path_, "cannot create a temporary file in " + directory + ": " + errno_text());
    }
    if (named_fallback) {
      temp_path_.assign(name.data());
    } else {
      ::unlink(name.data());
    }
    // mkstemp creates 0600; give the file the permissions a new file would get.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd_, 0666 & ~mask);
  }
  // Marks the file as in use for remove_stale_temporaries of concurrent runs; released by the
  // kernel when this process ends, however it ends.
  ::flock(fd_, LOCK_EX | LOCK_NB);
}

AtomicOutput::~AtomicOutput() {
  writeback_.reset();  // before the descriptor it writes back goes
  if (fd_ >= 0) ::close(fd_);
  if (stream_fd_ >= 0) ::close(stream_fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicOutput::write_fully(uint64_t offset, const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  while (size > 0) {
    const ssize_t n = streaming_ ? ::write(fd_, bytes, size)
                                 : ::pwrite(fd_, bytes, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EFBIG) fail_output(path_, "write failed: the file size limit was reached");
      fail_output(path_, "write failed: " + errno_text());
    }
    if (n == 0) fail_output(path_, "write failed: no progress");
    bytes += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void AtomicOutput::write(const void *data, size_t size) {
  write_fully(position_, data, size);
  position_ += size;
  start_writeback();
}

uint64_t AtomicOutput::copy_from(int in_fd, uint64_t in_offset, uint64_t size) {
  if (streaming_) return 0;  // no copy_file_range into a pipe: the caller writes
  uint64_t copied = 0;
  while (copied < size) {
    auto from = static_cast<off64_t>(in_offset + copied);
    auto to = static_cast<off64_t>(position_);
    // At most 1 GiB per call: the kernel caps a call near 2 GiB anyway.
    const auto n = static_cast<size_t>(std::min<uint64_t>(size - copied, uint64_t{1} << 30));
    const ssize_t done = copy_range_(in_fd, &from, fd_, &to, n, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      // The kernel cannot copy between these files (or not these ranges): the caller writes.
      if (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
          errno == EPERM) {
        break;
      }
      if (errno == EFBIG) fail_output(path_, "write failed: the file size limit was reached");
      fail_output(path_, "write failed: " + errno_text());
    }
    if (done == 0) break;  // the input ended early; the caller's own read will say why
    copied += static_cast<uint64_t>(done);
    position_ += static_cast<uint64_t>(done);
    start_writeback();
  }
  return copied;
}

void AtomicOutput::start_writeback() {
  // Only a file that will stay needs its bytes on the disk early.
  if (!file_) return;
  if (position_ - writeback_requested_ < kWritebackBatch) return;
  if (!writeback_) {
    try {
      writeback_ = std::make_unique<Writeback>(fd_);
    } catch (const std::system_error &) {
      return;  // no thread to spare: commit's fsync writes everything, only later
    }
  }
  writeback_->request(position_);
  writeback_requested_ = position_;
}

void AtomicOutput::write_zeros(uint64_t count) {
  static const uint8_t zeros[4096] = {};
  while (count > 0) {
    const size_t n = count < sizeof(zeros) ? static_cast<size_t>(count) : sizeof(zeros);
    write(zeros, n);
    count -= n;
  }
}

void AtomicOutput::write_at(uint64_t offset, const void *data, size_t size) {
  if (streaming_) fail_output(path_, "internal error: write_at on a sequential output");
  if (offset + size > position_) fail_output(path_, "internal error: write_at past the end");
  write_fully(offset, data, size);
}

void AtomicOutput::truncate(uint64_t size) {
  if (size > position_) fail_output(path_, "internal error: truncate past the end");
  if (streaming_ && size != position_) {
    fail_output(path_, "internal error: truncate on a sequential output");
  }
  if (!streaming_ && !device_ && ::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    fail_output(path_, "truncate failed: " + errno_text());
  }
  position_ = size;
  writeback_requested_ = std::min(writeback_requested_, size);
}

void AtomicOutput::commit() {
  writeback_.reset();
  if (!file_) {
    if (stream_fd_ >= 0) copy_spool_to_stream();
    // A block device's cache is flushed like a file's; character devices and pipes have none
    // (EINVAL, EROFS).
    if (device_ && ::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
      fail_output(path_, "fsync failed: " + errno_text());
    }
    committed_ = true;
    ::close(fd_);
    fd_ = -1;
    return;
  }
  if (::fsync(fd_) != 0) fail_output(path_, "fsync failed: " + errno_text());
  if (temp_path_.empty()) {
    // The unnamed file gets a unique temporary name (linkat cannot replace an existing file),
    // which the rename below moves over the target.
    const std::string proc_path = "/proc/self/fd/" + std::to_string(fd_);
    for (int attempt = 0; temp_path_.empty(); ++attempt) {
      const std::string name = target_ + kTempSuffix + random_chars();
      if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        temp_path_ = name;
      } else if (errno != EEXIST || attempt == 100) {
        fail_output(path_, "cannot name the finished file: " + errno_text());
      }
    }
  }
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    fail_output(path_, "cannot replace the file: " + errno_text());
  }
  committed_ = true;
  // The data is on disk (fsync above); closing now can no longer lose it.
  ::close(fd_);
  fd_ = -1;
  // Make the rename itself durable; failure here cannot lose data, so it is not an error.
  const int dir = ::open(directory_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

// Sends the finished temporary file to the stream, in order: inside the kernel (sendfile takes
// any output since Linux 2.6.33), else through a buffer.
void AtomicOutput::copy_spool_to_stream() {
  off_t sent = 0;
  const auto size = static_cast<off_t>(position_);
  while (sent < size) {
    const auto n = static_cast<size_t>(std::min<off_t>(size - sent, off_t{1} << 30));
    const ssize_t done = ::sendfile(stream_fd_, fd_, &sent, n);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0 && (errno == EINVAL || errno == ENOSYS)) break;
    if (done < 0) fail_output(path_, "write failed: " + errno_text());
    if (done == 0) fail_output(path_, "write failed: no progress");
  }
  std::vector<uint8_t> buffer(sent < size ? size_t{1} << 20 : 0);
  while (sent < size) {
    const ssize_t got = ::pread(fd_, buffer.data(),
                                static_cast<size_t>(std::min<off_t>(size - sent, 1 << 20)), sent);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail_output(path_, "cannot read back the temporary file: " + errno_text());
    for (ssize_t at = 0; at < got;) {
      const ssize_t put = ::write(stream_fd_, buffer.data() + at, static_cast<size_t>(got - at));
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) fail_output(path_, "write failed: " + errno_text());
      at += put;
    }
    sent += got;
  }
  ::close(stream_fd_);
  stream_fd_ = -1;
}

}  // namespace statepack
