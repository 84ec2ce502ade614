// SPDX-License-Identifier: Apache-2.0
// `statepack embed`'s generator: symbols derived from output names, the names it refuses, and
// sources that carry exactly the blob's bytes at its alignment, deterministically. (That the
// output compiles as C99 and C++17 and opens in place is tests/cli/embed_test.sh's job.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "statepack/tools/blob/blob_embed.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "support/sample_checkpoint.hpp"

namespace fs = std::filesystem;
using statepack::embed_symbol_for;

namespace {

// The sample checkpoint as a blob file in a fresh directory, removed afterwards.
struct BlobOnDisk {
  explicit BlobOnDisk(uint32_t alignment) {
    dir = fs::temp_directory_path() /
          ("spk-embed-" + std::to_string(::getpid()) + "-" + std::to_string(alignment));
    fs::create_directories(dir);
    statepack::BlobOptions options;
    options.alignment = alignment;
    path = (dir / "sample.spk").string();
    statepack::write_blob_file(path, statepack::test::sample_checkpoint(), options);
  }
  ~BlobOnDisk() { fs::remove_all(dir); }
  fs::path dir;
  std::string path;
};

// The bytes of the array initializer in generated C source ("0x89, 0x53, ...").
std::vector<uint8_t> parse_array(const std::string &source) {
  std::vector<uint8_t> bytes;
  const size_t begin = source.find("] = {\n");
  const size_t end = source.find("};", begin);
  REQUIRE(begin != std::string::npos);
  for (size_t at = source.find("0x", begin); at < end; at = source.find("0x", at + 4)) {
    bytes.push_back(static_cast<uint8_t>(std::stoul(source.substr(at + 2, 2), nullptr, 16)));
  }
  return bytes;
}

bool usage_error(void (*check)(const std::string &), const std::string &value) {
  try {
    check(value);
  } catch (const statepack::Error &e) {
    return e.kind() == statepack::ErrorKind::kUsage;
  }
  return false;
}

}  // namespace

TEST_CASE("the default symbol is the output's file name made a C identifier") {
  CHECK(embed_symbol_for("model.c") == "model");
  CHECK(embed_symbol_for("out/dir.x/tiny-mlp.v2.c") == "tiny_mlp_v2");
  CHECK(embed_symbol_for("3d.c") == "blob_3d");
  CHECK(embed_symbol_for("int.c") == "blob_int");
  CHECK(embed_symbol_for("class.c") == "blob_class");
  CHECK(embed_symbol_for("main.c") == "blob_main");
  CHECK(embed_symbol_for("__weights.c") == "weights");  // no reserved leading underscores
  CHECK(embed_symbol_for("___.c") == "blob_");
  CHECK(embed_symbol_for("out/weights.S") == "weights");          // the incbin form's output
  CHECK(embed_symbol_for("/models/tiny-mlp.spk") == "tiny_mlp");  // an input, for -o -
  CHECK(embed_symbol_for("model.spk.c") == "model_spk");          // one suffix only
  for (const char *path : {"model.c", "3d.c", "int.c", "__weights.c", "a b+c.c"}) {
    CAPTURE(path);
    statepack::check_embed_symbol(embed_symbol_for(path));  // every derived symbol is valid
  }
}

TEST_CASE("symbols and sections that would not compile are usage errors") {
  for (const char *bad : {"", "9lives", "has-dash", "has space", "int", "typename", "main", "__x",
                          "_Upper", "dollar$"}) {
    CAPTURE(bad);
    CHECK(usage_error(statepack::check_embed_symbol, bad));
  }
  for (const char *good : {"model", "_lower", "Model_2", "x"}) {
    CAPTURE(good);
    CHECK_FALSE(usage_error(statepack::check_embed_symbol, good));
  }
  for (const char *bad : {"", "a b", "a\"b", "a\\b", "a\nb"}) {
    CHECK(usage_error(statepack::check_embed_section, bad));
  }
  CHECK_FALSE(usage_error(statepack::check_embed_section, ".rodata.model$1"));
}

TEST_CASE("the source holds exactly the blob's bytes, aligned as the blob says") {
  for (const uint32_t alignment : {8u, 64u, 4096u}) {
    CAPTURE(alignment);
    const BlobOnDisk blob(alignment);
    const statepack::BlobFile file = statepack::BlobFile::open(blob.path);
    const auto sources = statepack::render_embed(file, "weights", "", "weights.h");
    const std::vector<uint8_t> expected(file.blob().data, file.blob().data + file.blob().size);
    CHECK(parse_array(sources.source) == expected);
    const std::string a = std::to_string(alignment);
    CHECK(sources.source.find("__attribute__((aligned(" + a + ")))") != std::string::npos);
    CHECK(sources.source.find("_Alignas(" + a + ")") != std::string::npos);
    CHECK(sources.source.find("const size_t weights_size = " + std::to_string(expected.size()) +
                              "u;") != std::string::npos);
    CHECK(sources.header.find("alignas(" + a + ") extern const unsigned char weights[") !=
          std::string::npos);
    CHECK(sources.header.find("extern \"C\" {") != std::string::npos);
    CHECK(sources.source.find("section(") == std::string::npos);
  }
}

TEST_CASE("a section places the array; there is no C11 fallback for it") {
  const BlobOnDisk blob(64);
  const statepack::BlobFile file = statepack::BlobFile::open(blob.path);
  const auto sources = statepack::render_embed(file, "weights", ".flash_blob", "weights.h");
  CHECK(sources.source.find("__attribute__((aligned(64), section(\".flash_blob\")))") !=
        std::string::npos);
  CHECK(sources.source.find("_Alignas") == std::string::npos);
}

TEST_CASE("write_embed is deterministic and refuses a damaged blob without writing") {
  const BlobOnDisk blob(64);
  const std::string first = (blob.dir / "first.c").string();
  const std::string again = (blob.dir / "first_again.c").string();
  CHECK(statepack::write_embed(blob.path, first, {}) == "first");
  statepack::EmbedOptions options;
  options.symbol = "first";
  CHECK(statepack::write_embed(blob.path, again, options) == "first");
  auto read = [](const fs::path &p) {
    std::string s(fs::file_size(p), '\0');
    std::FILE *f = std::fopen(p.c_str(), "rb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fread(s.data(), 1, s.size(), f) == s.size());
    std::fclose(f);
    return s;
  };
  // Only the #include line names the output; everything else is the same.
  std::string a = read(blob.dir / "first.c"), b = read(blob.dir / "first_again.c");
  a.replace(a.find("first.h"), 7, "X");
  b.replace(b.find("first_again.h"), 13, "X");
  CHECK(a == b);
  CHECK(read(blob.dir / "first.h") == read(blob.dir / "first_again.h"));

  // A flipped byte in a segment: refused (input error), nothing written.
  std::vector<char> bytes(fs::file_size(blob.path));
  std::FILE *f = std::fopen(blob.path.c_str(), "r+b");
  REQUIRE(f != nullptr);
  REQUIRE(std::fread(bytes.data(), 1, bytes.size(), f) == bytes.size());
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  std::rewind(f);
  REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
  const std::string damaged = (blob.dir / "damaged.c").string();
  CHECK_THROWS_AS(statepack::write_embed(blob.path, damaged, {}), statepack::Error);
  CHECK_FALSE(fs::exists(damaged));
  CHECK_FALSE(fs::exists(blob.dir / "damaged.h"));
}

TEST_CASE("the incbin form includes the blob by path, aligned, sized, in its section") {
  const BlobOnDisk blob(4096);
  const statepack::BlobFile file = statepack::BlobFile::open(blob.path);
  const std::string n = std::to_string(file.blob().size);
  const auto c = statepack::render_embed(file, "weights", "", "weights.h");
  const auto s = statepack::render_incbin(file, "weights", "", "/models/a \"b\"\\c.spk");
  CHECK(s.header == c.header);  // the same declarations, whatever the form
  CHECK(s.source.find("\t.section .rodata.weights,\"a\",%progbits\n\t.balign 4096\n") !=
        std::string::npos);
  CHECK(s.source.find("weights:\n\t.incbin \"/models/a \\\"b\\\"\\\\c.spk\"\n") !=
        std::string::npos);
  // The assembler refuses a file that is no longer the blob's size.
  CHECK(s.source.find("\t.if . - weights - " + n + "\n\t.error ") != std::string::npos);
  CHECK(s.source.find("weights_size:\n\t.8byte " + n + "\n") != std::string::npos);
  CHECK(s.source.find("weights_size:\n\t.4byte " + n + "\n") != std::string::npos);
  CHECK(s.source.find(".note.GNU-stack") != std::string::npos);
  CHECK(s.source.size() < 2048);  // independent of the blob's size

  const auto placed = statepack::render_incbin(file, "weights", ".flash_blob", "/b.spk");
  CHECK(placed.source.find("\t.section .flash_blob,\"a\",%progbits\n") != std::string::npos);
  CHECK(placed.source.find(".rodata.weights_size") != std::string::npos);
  try {
    statepack::render_incbin(file, "weights", "", "/a\nb.spk");
    FAIL("a line break in the path was accepted");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kUsage);
  }
}

TEST_CASE("write_embed --format incbin writes OUT.S naming the blob by its absolute path") {
  const BlobOnDisk blob(64);
  const fs::path cwd = fs::current_path();
  fs::current_path(blob.dir);
  statepack::EmbedOptions options;
  options.format = statepack::EmbedFormat::kIncbin;
  CHECK(statepack::write_embed("sample.spk", "weights.S", options) == "weights");
  CHECK_THROWS_AS(statepack::write_embed("sample.spk", "weights.c", options), statepack::Error);
  fs::current_path(cwd);
  std::string text(fs::file_size(blob.dir / "weights.S"), '\0');
  std::FILE *f = std::fopen((blob.dir / "weights.S").c_str(), "rb");
  REQUIRE(f != nullptr);
  REQUIRE(std::fread(text.data(), 1, text.size(), f) == text.size());
  std::fclose(f);
  const std::string absolute = fs::canonical(blob.dir / "sample.spk").string();
  CHECK(text.find(".incbin \"" + absolute + "\"") != std::string::npos);
  CHECK(fs::exists(blob.dir / "weights.h"));
  CHECK_FALSE(fs::exists(blob.dir / "weights.c"));
}
