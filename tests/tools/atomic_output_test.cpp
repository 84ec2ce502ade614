// Atomic output: the target name only ever holds a complete file.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "statepack/tools/atomic_output.hpp"
#include "statepack/tools/error.hpp"
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
