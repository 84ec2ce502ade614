// Atomic output: the target name only ever holds a complete file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

#include "statepack/tools/atomic_output.hpp"
#include "statepack/tools/error.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    path = fs::temp_directory_path() /
           ("spk-atomic-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
  static inline int counter = 0;
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
  const fs::path target = dir.path / "out.bin";
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
  CHECK(entries(dir.path) == 1);  // no temporary left behind
}

TEST_CASE("an abandoned write leaves the old file intact and no temporary") {
  TempDir dir;
  const fs::path target = dir.path / "out.bin";
  std::ofstream(target) << "previous";
  {
    statepack::AtomicOutput out(target.string());
    out.write("partial", 7);
  }  // destroyed without commit, as when an exception unwinds
  CHECK(read_all(target) == "previous");
  CHECK(entries(dir.path) == 1);
}

TEST_CASE("a missing directory or a directory as target is an output error") {
  TempDir dir;
  const std::string missing = (dir.path / "no-such-dir" / "x.spk").string();
  CHECK_THROWS_AS(statepack::AtomicOutput{missing}, statepack::Error);
  try {
    statepack::AtomicOutput out(dir.path.string());
    FAIL("a directory was accepted as output");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kOutput);
    CHECK(std::string(e.what()).find("is a directory") != std::string::npos);
  }
}

TEST_CASE("write_at past what was written is refused") {
  TempDir dir;
  statepack::AtomicOutput out((dir.path / "x").string());
  out.write("ab", 2);
  CHECK_THROWS_AS(out.write_at(1, "xy", 2), statepack::Error);
}
