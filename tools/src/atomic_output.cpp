// Temp file + fsync + rename, so an interrupted write never replaces the user's file.
#include "statepack/tools/atomic_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "statepack/tools/error.hpp"

namespace statepack {
namespace {

std::string directory_of(const std::string &path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

AtomicOutput::AtomicOutput(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    fail_output(path_, "is a directory");
  }
  // A failed write to a pipe or a full disk must become an error, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<char> name(path_.begin(), path_.end());
  const char suffix[] = ".tmp-XXXXXX";
  name.insert(name.end(), suffix, suffix + sizeof(suffix));  // includes the NUL
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) {
    fail_output(path_,
                "cannot create a temporary file in " + directory_of(path_) + ": " + errno_text());
  }
  temp_path_.assign(name.data());
  // mkstemp creates 0600; give the blob the permissions a normal file would get.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

AtomicOutput::~AtomicOutput() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicOutput::write_fully(uint64_t offset, const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd_, bytes, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
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
  if (offset + size > position_) fail_output(path_, "internal error: write_at past the end");
  write_fully(offset, data, size);
}

void AtomicOutput::commit() {
  if (::fsync(fd_) != 0) fail_output(path_, "fsync failed: " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail_output(path_, "close failed: " + errno_text());
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    fail_output(path_, "cannot replace the file: " + errno_text());
  }
  committed_ = true;
  // Make the rename itself durable; failure here cannot lose data, so it is not an error.
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace statepack
