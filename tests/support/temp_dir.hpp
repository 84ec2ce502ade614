// SPDX-License-Identifier: Apache-2.0
// Test fixture: a fresh directory under the system temp dir, removed with everything in it when
// the test ends (pass or fail), so tests never see each other's files.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace statepack::test {

class TempDir {
 public:
  /// `prefix` names the test in the directory's name, for whoever finds one left by a crash.
  explicit TempDir(const std::string &prefix = "statepack-test") {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::filesystem::path &path() const { return path_; }
  /// The path of `name` inside the directory.
  std::string file(const std::string &name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace statepack::test
