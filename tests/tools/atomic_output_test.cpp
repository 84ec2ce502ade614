// Atomic output: the target name only ever holds a complete file.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

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
