// SPDX-License-Identifier: Apache-2.0
// Output path classification (see output_target.hpp).
#include "output_target.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

// As the kernel's own limit on links followed in one lookup.
constexpr int kMaxLinks = 40;

std::string directory_part(const std::string &path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return path.substr(0, slash + 1);
}

const char *kind_name(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISSOCK(mode)) return "is a socket";
  return "is not a file, device or FIFO";
}

}  // namespace

std::string resolve_output_links(const std::string &path) {
  std::string current = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    if (hops == kMaxLinks) fail_output(path, "too many levels of symbolic links");
    std::vector<char> target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
    const ssize_t n = ::readlink(current.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<size_t>(n) >= target.size()) {
      fail_output(path, std::string("cannot read the symbolic link ") + current + ": " +
                            (n < 0 ? std::strerror(errno) : "it changed while being read"));
    }
    const std::string link(target.data(), static_cast<size_t>(n));
    // A relative link is relative to the directory holding the link, not to ours.
    current = link.front() == '/' ? link : directory_part(current) + link;
  }
}

OutputTarget open_output_target(const std::string &path) {
  OutputTarget target;
  if (path == "-") {
    target.kind = TargetKind::kStream;
    target.fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (target.fd < 0 || ::fstat(target.fd, &target.st) != 0) {
      fail_output("standard output", std::string("cannot use it: ") + std::strerror(errno));
    }
    return target;
  }
  target.path = resolve_output_links(path);
  if (::stat(target.path.c_str(), &target.st) != 0) {
    if (errno != ENOENT) fail_output(path, std::strerror(errno));
    target.kind = TargetKind::kNewFile;
    return target;
  }
  const mode_t mode = target.st.st_mode;
  if (S_ISREG(mode)) {
    target.kind = TargetKind::kExistingFile;
    return target;
  }
  if (!S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISFIFO(mode)) {
    fail_output(path, std::string(kind_name(mode)) +
                          "; statepack writes regular files, devices, FIFOs and standard output");
  }
  // No O_CREAT and no O_TRUNC: the node exists, and a device's size is not ours to change.
  target.fd = ::open(target.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (target.fd < 0) fail_output(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat opened {};
  if (::fstat(target.fd, &opened) != 0 || opened.st_rdev != target.st.st_rdev ||
      (opened.st_mode & S_IFMT) != (mode & S_IFMT)) {
    ::close(target.fd);
    fail_output(path, "changed while being opened");
  }
  const bool seekable = !S_ISFIFO(mode) && ::lseek(target.fd, 0, SEEK_SET) == 0;
  target.kind = seekable ? TargetKind::kDevice : TargetKind::kStream;
  return target;
}

}  // namespace statepack
