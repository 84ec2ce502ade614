// SPDX-License-Identifier: Apache-2.0
// The regression driver: replays corpus files through a fuzz target's LLVMFuzzerTestOneInput
// without libFuzzer, so every build (gcc release, debug with sanitizers) runs the corpora under
// plain ctest. Arguments are files or directories (every regular file inside, in name order).
// A target that finds a problem aborts, which fails the test; the file being replayed is
// printed first so the failure names its input.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

bool replay(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
  // A fresh exact-size copy, as libFuzzer passes it, so a read past the end is caught by ASan.
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  static const uint8_t empty = 0;
  LLVMFuzzerTestOneInput(copy.empty() ? &empty : copy.data(), copy.size());
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg)) {
      for (const auto &entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(arg);
    }
    for (const auto &file : files) {
      if (!replay(file)) return 1;
      ++count;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "no corpus files found\n");
    return 1;
  }
  std::printf("%zu inputs replayed without a finding\n", count);
  return 0;
}
