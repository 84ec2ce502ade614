// SPDX-License-Identifier: Apache-2.0
// Atomic output: the target name only ever holds a complete file.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/atomic_output.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// Every test's files go to a fresh directory named after this file.
struct TempDir : statepack::test::TempDir {
  TempDir() : statepack::test::TempDir("spk-atomic") {}
};

std::string read_all(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t entries(const fs::path &dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("commit publishes the whole file") {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  {
    statepack::AtomicOutput out(target.string());
    out.write("hello ", 6);
    out.write_zeros(2);
    out.write("world", 5);
    out.write_at(0, "J", 1);
    CHECK(out.position() == 13);
    CHECK_FALSE(fs::exists(target));  // nothing under the name until commit
    out.commit();
  }
  CHECK(read_all(target) == std::string("Jello \0\0world", 13));
  CHECK(entries(dir.path()) == 1);  // no temporary left behind
}

TEST_CASE("an abandoned write leaves the old file intact and no temporary") {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  std::ofstream(target) << "previous";
  {
    statepack::AtomicOutput out(target.string());
    out.write("partial", 7);
  }  // destroyed without commit, as when an exception unwinds
  CHECK(read_all(target) == "previous");
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("a missing directory or a directory as target is an output error") {
  TempDir dir;
  const std::string missing = (dir.path() / "no-such-dir" / "x.spk").string();
  CHECK_THROWS_AS(statepack::AtomicOutput{missing}, statepack::Error);
  try {
    statepack::AtomicOutput out(dir.path().string());
    FAIL("a directory was accepted as output");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kOutput);
    CHECK(std::string(e.what()).find("is a directory") != std::string::npos);
  }
}

TEST_CASE("write_at past what was written is refused") {
  TempDir dir;
  statepack::AtomicOutput out((dir.path() / "x").string());
  out.write("ab", 2);
  CHECK_THROWS_AS(out.write_at(1, "xy", 2), statepack::Error);
}

TEST_CASE("nothing appears in the directory while the file is being written") {
  // The data lives in an unnamed O_TMPFILE file until commit, so a SIGKILL leaves no trace.
  TempDir dir;
  statepack::AtomicOutput out((dir.path() / "out.bin").string());
  out.write("data", 4);
  CHECK(entries(dir.path()) == 0);
  out.commit();
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("temporaries of killed runs are removed once stale, never while fresh or held") {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  const fs::path stale = dir.path() / "out.bin.tmp-Stale1";
  const fs::path fresh = dir.path() / "out.bin.tmp-Fresh1";
  const fs::path other = dir.path() / "other.bin.tmp-Stale2";
  for (const fs::path &p : {stale, fresh, other}) std::ofstream(p) << "left by a killed run";
  const auto old = fs::file_time_type::clock::now() - std::chrono::minutes(10);
  fs::last_write_time(stale, old);
  fs::last_write_time(other, old);
  {
    statepack::AtomicOutput out(target.string());
    out.write("x", 1);
    out.commit();
  }
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(fresh));
  CHECK(fs::exists(other));  // another target's temporaries are not ours to judge
  CHECK(read_all(target) == "x");
}

TEST_CASE("a file-size limit is an output error, not a SIGXFSZ death") {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  std::ofstream(target) << "previous";
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit small = saved;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool failed = false;
  try {
    statepack::AtomicOutput out(target.string());
    const std::string block(1000, 'x');
    for (int i = 0; i < 10; ++i) out.write(block.data(), block.size());
    out.commit();
  } catch (const statepack::Error &e) {
    failed = true;
    CHECK(e.kind() == statepack::ErrorKind::kOutput);
    CHECK(std::string(e.what()).find("file size limit") != std::string::npos);
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  CHECK(failed);
  CHECK(read_all(target) == "previous");
  CHECK(entries(dir.path()) == 1);
}

namespace {

// A file of `size` patterned bytes in `dir`, open for reading.
struct SourceFile {
  SourceFile(const fs::path &dir, size_t size) : path(dir / "source.bin") {
    for (size_t i = 0; i < size; ++i) bytes.push_back(static_cast<char>(i * 131 + (i >> 9)));
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
  }
  ~SourceFile() { ::close(fd); }
  fs::path path;
  std::string bytes;
  int fd = -1;
};

// Stand-ins for copy_file_range: one that copies half of what it is asked for in its first
// call, then fails the way a kernel without support between two filesystems does; one that
// fails with an I/O error.
ssize_t copy_half_then_exdev(int in, off64_t *in_offset, int out, off64_t *out_offset, size_t size,
                             unsigned flags) {
  static bool copied = false;
  if (copied) {
    errno = EXDEV;
    return -1;
  }
  copied = true;
  return ::copy_file_range(in, in_offset, out, out_offset, size / 2, flags);
}

ssize_t copy_eio(int, off64_t *, int, off64_t *, size_t, unsigned) {
  errno = EIO;
  return -1;
}

}  // namespace

TEST_CASE("copy_from appends a file's bytes copied by the kernel") {
  TempDir dir;
  SourceFile source(dir.path(), 3 * 1024 * 1024 + 77);
  const fs::path target = dir.path() / "out.bin";
  {
    statepack::AtomicOutput out(target.string());
    out.write("head", 4);
    CHECK(out.copy_from(source.fd, 100, source.bytes.size() - 100) == source.bytes.size() - 100);
    CHECK(out.position() == 4 + source.bytes.size() - 100);
    out.write("tail", 4);
    out.commit();
  }
  CHECK(read_all(target) == "head" + source.bytes.substr(100) + "tail");
}

TEST_CASE("copy_from stops where the kernel cannot copy, and the caller writes the rest") {
  TempDir dir;
  SourceFile source(dir.path(), 1 << 20);
  const fs::path target = dir.path() / "out.bin";
  {
    statepack::AtomicOutput out(target.string(), &copy_half_then_exdev);
    const uint64_t copied = out.copy_from(source.fd, 0, source.bytes.size());
    CHECK(copied == source.bytes.size() / 2);
    CHECK(out.position() == copied);
    out.write(source.bytes.data() + copied, source.bytes.size() - copied);
    out.commit();
  }
  CHECK(read_all(target) == source.bytes);
}

TEST_CASE("a copy that fails for another reason is an output error") {
  TempDir dir;
  SourceFile source(dir.path(), 4096);
  statepack::AtomicOutput out((dir.path() / "out.bin").string(), &copy_eio);
  try {
    out.copy_from(source.fd, 0, source.bytes.size());
    FAIL("no error");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kOutput);
    CHECK(std::string(e.what()).find("Input/output error") != std::string::npos);
  }
}

TEST_CASE("a file written in many batches (written back while writing) is complete") {
  TempDir dir;
  SourceFile source(dir.path(), 20 * 1024 * 1024 + 5);
  const fs::path target = dir.path() / "out.bin";
  {
    statepack::AtomicOutput out(target.string());
    const size_t half = source.bytes.size() / 2;
    out.write(source.bytes.data(), half);
    CHECK(out.copy_from(source.fd, half, source.bytes.size() - half) == source.bytes.size() - half);
    out.commit();
  }
  CHECK(read_all(target) == source.bytes);
}

// Targets that are not plain new files (`-o /dev/null` as root once replaced the node).
namespace {

struct stat status_of(const fs::path &p, bool follow = true) {
  struct stat st {};
  REQUIRE((follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) == 0);
  return st;
}

// Writes "header" + "body" through an output that rewrites its first bytes last, as the blob
// writer does.
void write_rewritten(statepack::AtomicOutput &out) {
  out.write_zeros(6);
  out.write("body", 4);
  out.write_at(0, "header", 6);
  out.commit();
}

// Reads everything from a FIFO on a thread of its own, as the other end of a pipeline would.
struct FifoReader {
  explicit FifoReader(const fs::path &fifo) : thread([this, fifo] { bytes = read_all(fifo); }) {}
  std::string join() {
    thread.join();
    return bytes;
  }
  std::string bytes;
  std::thread thread;
};

// Points descriptor 1 at `path` while alive, so "-" can be tested without the runner's stdout.
struct StdoutTo {
  explicit StdoutTo(const fs::path &path) : saved(::dup(STDOUT_FILENO)) {
    std::fflush(stdout);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    ::dup2(fd, STDOUT_FILENO);
    ::close(fd);
  }
  ~StdoutTo() {
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
  }
  int saved;
};

}  // namespace

TEST_CASE("a character device is written into, never replaced") {
  TempDir dir;
  const fs::path node = dir.path() / "null";
  // The null device's numbers, in a directory of our own: writing into it is harmless.
  REQUIRE(::mknod(node.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) == 0);
  for (const auto access :
       {statepack::OutputAccess::kRandom, statepack::OutputAccess::kSequential}) {
    statepack::AtomicOutput out(node.string(), &::copy_file_range, access);
    CHECK_FALSE(out.is_file());
    out.write("bytes", 5);
    if (access == statepack::OutputAccess::kRandom) {
      out.write_at(0, "B", 1);
      out.truncate(2);
    }
    out.commit();
  }
  const struct stat st = status_of(node);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == ::makedev(1, 3));
  CHECK(entries(dir.path()) == 1);  // no temporary beside it
}

TEST_CASE("a FIFO gets the bytes, written straight or once complete, and stays a FIFO") {
  TempDir dir;
  const fs::path fifo = dir.path() / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  {
    FifoReader reader(fifo);
    statepack::AtomicOutput out(fifo.string(), statepack::OutputAccess::kSequential);
    out.write("streamed", 8);
    out.commit();
    CHECK(reader.join() == "streamed");
  }
  {
    // A writer that goes back needs the whole output before the first byte is sent.
    FifoReader reader(fifo);
    statepack::AtomicOutput out(fifo.string());
    write_rewritten(out);
    CHECK(reader.join() == "headerbody");
  }
  CHECK(S_ISFIFO(status_of(fifo).st_mode));
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("a sequential stream refuses to go back") {
  TempDir dir;
  const fs::path fifo = dir.path() / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  FifoReader reader(fifo);
  {
    statepack::AtomicOutput out(fifo.string(), statepack::OutputAccess::kSequential);
    out.write("ab", 2);
    CHECK_THROWS_AS(out.write_at(0, "x", 1), statepack::Error);
    CHECK_THROWS_AS(out.truncate(1), statepack::Error);
  }
  CHECK(reader.join() == "ab");
}

TEST_CASE("\"-\" is standard output, never a file named -") {
  TempDir dir;
  const fs::path captured = dir.path() / "captured";
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  {
    StdoutTo redirect(captured);
    statepack::AtomicOutput sequential("-", statepack::OutputAccess::kSequential);
    CHECK(sequential.path() == "standard output");
    sequential.write("one,", 4);
    sequential.commit();
    statepack::AtomicOutput random("-");
    write_rewritten(random);
  }
  fs::current_path(cwd);
  CHECK(read_all(captured) == "one,headerbody");
  CHECK_FALSE(fs::exists(dir.path() / "-"));
  CHECK(::fcntl(STDOUT_FILENO, F_GETFD) >= 0);  // descriptor 1 itself was not closed
}

TEST_CASE("a symlink chain is followed: the final file is replaced, the links stay links") {
  TempDir dir;
  fs::create_directories(dir.path() / "real");
  const fs::path file = dir.path() / "real" / "model.spk";
  std::ofstream(file) << "old";
  ::chmod(file.c_str(), 0640);
  // link2 -> link1 -> real/model.spk, the second one relative to its own directory.
  fs::create_directory_symlink("real", dir.path() / "alias");
  fs::create_symlink("model.spk", dir.path() / "real" / "link1");
  fs::create_symlink("alias/link1", dir.path() / "link2");
  statepack::AtomicOutput out((dir.path() / "link2").string());
  out.write("new", 3);
  out.commit();
  CHECK(read_all(file) == "new");
  CHECK(fs::is_symlink(dir.path() / "link2"));
  CHECK(fs::is_symlink(dir.path() / "real" / "link1"));
  CHECK((status_of(file).st_mode & 07777) == 0640);
  CHECK(entries(dir.path() / "real") == 2);  // the file and link1: no temporary left
}

TEST_CASE("a dangling symlink gets the file it points to") {
  TempDir dir;
  fs::create_directories(dir.path() / "sub");
  fs::create_symlink("sub/new.spk", dir.path() / "link");
  statepack::AtomicOutput out((dir.path() / "link").string());
  out.write("x", 1);
  out.commit();
  CHECK(fs::is_symlink(dir.path() / "link"));
  CHECK(read_all(dir.path() / "sub" / "new.spk") == "x");
}

TEST_CASE("a symlink loop is an output error") {
  TempDir dir;
  fs::create_symlink("b", dir.path() / "a");
  fs::create_symlink("a", dir.path() / "b");
  try {
    statepack::AtomicOutput out((dir.path() / "a").string());
    FAIL("a symlink loop was accepted");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kOutput);
    CHECK(std::string(e.what()).find("symbolic links") != std::string::npos);
  }
}

TEST_CASE("an existing file's replacement keeps its mode, and its owner where allowed") {
  TempDir dir;
  const fs::path file = dir.path() / "out.bin";
  std::ofstream(file) << "old";
  REQUIRE(::chmod(file.c_str(), 0444) == 0);
  // As root the file belongs to someone else (nobody); otherwise it stays ours.
  const bool root = ::geteuid() == 0;
  if (root) REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
  const struct stat before = status_of(file);
  statepack::AtomicOutput out(file.string());
  out.write("new", 3);
  out.commit();
  const struct stat after = status_of(file);
  CHECK(read_all(file) == "new");
  CHECK(after.st_ino != before.st_ino);  // replaced, not written into
  CHECK((after.st_mode & 07777) == 0444);
  CHECK(after.st_uid == before.st_uid);
  CHECK(after.st_gid == before.st_gid);
}

TEST_CASE("a new file gets 0666 minus the umask") {
  TempDir dir;
  for (const mode_t mask : {mode_t{022}, mode_t{027}, mode_t{0}}) {
    const mode_t saved = ::umask(mask);
    const fs::path file = dir.path() / ("new-" + std::to_string(mask));
    statepack::AtomicOutput out(file.string());
    out.write("x", 1);
    out.commit();
    ::umask(saved);
    CHECK((status_of(file).st_mode & 07777) == (0666 & ~mask));
  }
}

TEST_CASE("a socket is an output error that says what it is") {
  TempDir dir;
  const fs::path socket_path = dir.path() / "sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
  try {
    statepack::AtomicOutput out(socket_path.string());
    FAIL("a socket was accepted");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kOutput);
    CHECK(std::string(e.what()).find("is a socket") != std::string::npos);
  }
  ::close(fd);
  CHECK(fs::is_socket(socket_path));
}
