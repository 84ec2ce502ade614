// SPDX-License-Identifier: Apache-2.0
// Strict zip reader: the archives PyTorch and numpy write (ZIP64 end records, data descriptors,
// padded local headers, stored and deflated entries) read back exactly; every ambiguous,
// damaged, truncated or hostile archive is refused with a message naming the entry, and none
// makes the reader crash or read outside the file.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/zip_archive.hpp"
#include "support/temp_dir.hpp"
#include "support/zip_builder.hpp"

namespace statepack {
namespace {

using test::build_zip;
using test::ZipLayout;
using test::ZipSpec;

// Every test's files go to a fresh directory named after this file.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("statepack-zip") {}
};

std::string bytes_of(const ZipBytes &bytes) {
  return std::string(reinterpret_cast<const char *>(bytes.data), static_cast<size_t>(bytes.size));
}

// `size` bytes that deflate a little but not absurdly (a repeating ramp with noise).
std::string sample_data(size_t size, uint32_t seed) {
  std::string data(size, '\0');
  uint32_t x = seed * 2654435761u + 1u;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data[i] = static_cast<char>(i % 7 == 0 ? x : i % 31);
  }
  return data;
}

class Fixture {
 public:
  std::string write(const std::string &bytes, const std::string &name = "model.pt") {
    const std::string path = dir_.file(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return path;
  }

  ZipArchive open(const std::string &bytes, const ZipLimits &limits = {}) {
    return ZipArchive::open(MappedFile::open(write(bytes)), limits);
  }

  // The message open() throws for `bytes`, without the "<path>: " prefix.
  std::string refusal(const std::string &bytes, const ZipLimits &limits = {}) {
    const std::string path = write(bytes);
    try {
      ZipArchive::open(MappedFile::open(path), limits);
    } catch (const Error &error) {
      return strip(error, path);
    }
    FAIL("opened an archive that should be refused");
    return "";
  }

  // The message read() throws for the entry `name` of an archive that opens.
  std::string read_refusal(const std::string &bytes, const std::string &name,
                           const ZipLimits &limits = {}) {
    const std::string path = write(bytes);
    const ZipArchive archive = ZipArchive::open(MappedFile::open(path), limits);
    const ZipEntry *entry = archive.find(name);
    REQUIRE(entry != nullptr);
    try {
      archive.read(*entry);
    } catch (const Error &error) {
      return strip(error, path);
    }
    FAIL("read an entry that should be refused");
    return "";
  }

  // Opens the archive and reads every entry: true if all of it is accepted, false on an Error.
  // Anything else (another exception, a crash) fails the test.
  bool accepts(const std::string &bytes, const ZipLimits &limits = {}) {
    try {
      const ZipArchive archive = ZipArchive::open(MappedFile::open(write(bytes)), limits);
      for (const ZipEntry &entry : archive.entries()) archive.read(entry);
      return true;
    } catch (const Error &error) {
      CHECK(error.kind() == ErrorKind::kInput);
      return false;
    }
  }

 private:
  static std::string strip(const Error &error, const std::string &path) {
    CHECK(error.kind() == ErrorKind::kInput);
    const std::string message = error.what();
    REQUIRE(message.rfind(path + ": ", 0) == 0);
    return message.substr(path.size() + 2);
  }

  TempDir dir_;
};

// Two entries as PyTorch writes them: ZIP64 end records, data descriptors, 64-byte alignment.
std::vector<ZipSpec> torch_like_entries() {
  ZipSpec pickle{"archive/data.pkl", sample_data(100, 1)};
  ZipSpec storage{"archive/data/0", sample_data(256, 2)};
  for (ZipSpec *spec : {&pickle, &storage}) {
    spec->data_descriptor = true;
    spec->align = 64;
  }
  return {pickle, storage};
}

ZipLayout torch_like_layout() {
  ZipLayout layout;
  layout.zip64_end = true;
  return layout;
}

// ---- archives that must be read ----------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "zip: stored and deflated entries read back exactly") {
  const std::string stored = sample_data(300, 3);
  const std::string deflated = sample_data(5000, 4);
  ZipSpec deflated_spec{"b/deflated.bin", deflated};
  deflated_spec.deflate = true;
  ZipSpec empty_deflated{"empty.deflated", ""};
  empty_deflated.deflate = true;
  const std::string bytes =
      build_zip({{"a/stored.bin", stored}, deflated_spec, {"empty", ""}, empty_deflated});
  const ZipArchive archive = open(bytes);

  REQUIRE(archive.entries().size() == 4);
  const ZipEntry &first = archive.entries()[0];
  CHECK(first.name == "a/stored.bin");
  CHECK(first.method == 0);
  CHECK(first.compressed_size == 300);
  CHECK(first.uncompressed_size == 300);
  CHECK(first.local_header_offset == 0);
  CHECK(first.data_offset == 30 + first.name.size());
  CHECK(first.crc32 == test::zip_crc32(stored));
  CHECK(archive.entries()[1].method == 8);
  CHECK(archive.entries()[1].compressed_size < deflated.size());

  const ZipBytes stored_bytes = archive.read(first);
  CHECK(bytes_of(stored_bytes) == stored);
  CHECK(stored_bytes.owner != nullptr);
  const ZipBytes deflated_bytes = archive.read(*archive.find("b/deflated.bin"));
  CHECK(bytes_of(deflated_bytes) == deflated);
  CHECK(deflated_bytes.owner != nullptr);
  CHECK(archive.read(*archive.find("empty")).size == 0);
  CHECK(archive.read(*archive.find("empty.deflated")).size == 0);
  CHECK(archive.find("missing") == nullptr);
  CHECK(archive.find("a/stored") == nullptr);
}

TEST_CASE_FIXTURE(Fixture, "zip: stored entries are views into the mapping") {
  const std::string bytes = build_zip({{"x", "hello"}});
  const ZipArchive archive = open(bytes);
  const ZipBytes first = archive.read(archive.entries()[0]);
  const ZipBytes second = archive.read(archive.entries()[0]);
  CHECK(first.data == second.data);
  CHECK(first.owner.get() == second.owner.get());
}

TEST_CASE_FIXTURE(Fixture, "zip: an empty archive has no entries") {
  const std::string bytes = build_zip({});
  CHECK(bytes.size() == 22);
  CHECK(looks_like_zip(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  CHECK(open(bytes).entries().empty());
}

TEST_CASE("zip: looks_like_zip sniffs the first signature only") {
  const auto sniff = [](const std::string &bytes) {
    return looks_like_zip(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  };
  CHECK(sniff(build_zip({{"a", "b"}})));
  CHECK(sniff(std::string("PK\x03\x04", 4)));
  CHECK(sniff(std::string("PK\x05\x06", 4)));
  CHECK_FALSE(sniff(std::string("PK\x01\x02", 4)));
  CHECK_FALSE(sniff(std::string("PK\x03", 3)));
  CHECK_FALSE(sniff(""));
  CHECK_FALSE(looks_like_zip(nullptr, 10));
}

TEST_CASE_FIXTURE(Fixture, "zip: ZIP64 end records and extra fields are followed") {
  ZipSpec deflated{"b", sample_data(4000, 6)};
  deflated.deflate = true;
  std::vector<ZipSpec> entries = {{"a", sample_data(100, 5)}, deflated};
  for (ZipSpec &spec : entries) spec.zip64 = true;

  SUBCASE("sentinels in the classic end record") {
    const ZipArchive archive = open(build_zip(entries, torch_like_layout()));
    REQUIRE(archive.entries().size() == 2);
    CHECK(archive.entries()[0].uncompressed_size == 100);
    CHECK(archive.entries()[1].uncompressed_size == 4000);
    CHECK(archive.entries()[1].local_header_offset > 100);
    CHECK(bytes_of(archive.read(archive.entries()[0])) == entries[0].data);
    CHECK(bytes_of(archive.read(archive.entries()[1])) == entries[1].data);
  }
  SUBCASE("real values repeated in the classic end record") {
    ZipLayout layout = torch_like_layout();
    layout.classic_copies = true;
    CHECK(open(build_zip(entries, layout)).entries().size() == 2);
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: data descriptors (flag bit 3) take sizes from the directory") {
  ZipSpec deflated{"b", sample_data(3000, 8)};
  deflated.deflate = true;
  std::vector<ZipSpec> entries = {{"a", sample_data(200, 7)}, deflated};
  SUBCASE("32-bit descriptors") {
    for (ZipSpec &spec : entries) spec.data_descriptor = true;
  }
  SUBCASE("ZIP64 descriptors") {
    for (ZipSpec &spec : entries) {
      spec.data_descriptor = true;
      spec.zip64 = true;
    }
  }
  const ZipArchive archive = open(build_zip(entries, torch_like_layout()));
  CHECK((archive.entries()[0].flags & 0x8) != 0);
  CHECK(bytes_of(archive.read(archive.entries()[0])) == entries[0].data);
  CHECK(bytes_of(archive.read(archive.entries()[1])) == entries[1].data);
}

TEST_CASE_FIXTURE(Fixture, "zip: padding in the local extra field moves the data start") {
  const std::vector<ZipSpec> entries = torch_like_entries();
  const ZipArchive archive = open(build_zip(entries, torch_like_layout()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipEntry &entry = archive.entries()[i];
    CHECK(entry.data_offset % 64 == 0);
    CHECK(entry.data_offset > entry.local_header_offset + 30 + entry.name.size());
    CHECK(bytes_of(archive.read(entry)) == entries[i].data);
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: a comment that ends at the end of the file is accepted") {
  ZipLayout layout;
  layout.comment = "made by a test";
  CHECK(open(build_zip({{"a", "b"}}, layout)).entries().size() == 1);
}

// ---- ambiguous archives ------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "zip: duplicate entry names are refused") {
  CHECK(refusal(build_zip({{"archive/data/0", "a"}, {"x", "b"}, {"archive/data/0", "c"}})) ==
        "zip entry \"archive/data/0\" appears twice in the central directory");
}

TEST_CASE_FIXTURE(Fixture, "zip: empty names and names with NUL are refused") {
  CHECK(refusal(build_zip({{"a", "1"}, {"", "2"}})) ==
        "central directory entry #1 has an empty name");
  CHECK(refusal(build_zip({{std::string("a\0b", 3), "1"}})) ==
        "zip entry \"a\\u0000b\": name contains a NUL byte");
}

TEST_CASE_FIXTURE(Fixture, "zip: overlapping entries are refused") {
  SUBCASE("an entry's data runs into the next local header") {
    ZipSpec first{"archive/data/0", "0123456789"};
    first.compressed_size = 20;
    first.uncompressed_size = 20;
    const std::string message = refusal(build_zip({first, {"archive/data/1", "abc"}}));
    CHECK(message.rfind("zip entry \"archive/data/0\" overlaps \"archive/data/1\" (bytes [0, ",
                        0) == 0);
  }
  SUBCASE("a local header hidden in another entry's data") {
    // "b"'s local header and data sit inside the data "a" declares for itself.
    const std::string inner = build_zip({{"b", "2"}}).substr(0, 32);
    ZipSpec first{"a", "1" + inner};
    ZipSpec second{"b", "2"};
    second.local_header_offset = 31 + 1;
    const std::string bytes = build_zip({first, second});
    // build_zip also wrote "b"'s own header after "a"; the central entry points into "a".
    CHECK(refusal(bytes).rfind("zip entry \"a\" overlaps \"b\" (bytes [0, 64) and [32, 64))", 0) ==
          0);
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: two end records that both fit the end of the file are refused") {
  // The comment is itself an end record with an empty comment: either could be the real one.
  const std::string inner = build_zip({});
  ZipLayout layout;
  layout.comment = inner;
  CHECK(refusal(build_zip({{"a", "b"}}, layout)).find("has two end of central directory records") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "zip: a local header that contradicts the central one is refused") {
  SUBCASE("different name") {
    ZipSpec spec{"archive/data/0", "x"};
    spec.local_name = "archive/data/1";
    CHECK(refusal(build_zip({spec})) ==
          "zip entry \"archive/data/0\": local header at byte 0 names it \"archive/data/1\"");
  }
  SUBCASE("different method") {
    ZipSpec spec{"a", "x"};
    spec.local_method = 8;
    CHECK(refusal(build_zip({spec})) ==
          "zip entry \"a\": local header says compression method 8, the central directory says 0");
  }
  SUBCASE("no local header signature") {
    std::string bytes = build_zip({{"a", "x"}});
    bytes[0] = 'X';
    CHECK(refusal(bytes) == "zip entry \"a\": no local header signature at byte 0");
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: ZIP64 end records that contradict the classic one are refused") {
  ZipLayout layout = torch_like_layout();
  layout.classic_copies = true;
  layout.classic_count = 2;
  CHECK(refusal(build_zip({{"a", "b"}}, layout))
            .rfind("the end of central directory record contradicts the ZIP64 end record", 0) == 0);
}

TEST_CASE_FIXTURE(Fixture, "zip: sentinel sizes without a ZIP64 extra field are refused") {
  ZipSpec spec{"a", "x"};
  spec.sentinel_without_zip64 = true;
  CHECK(refusal(build_zip({spec})) ==
        "zip entry \"a\" has a size, offset or disk set to the ZIP64 sentinel (0xFFFFFFFF) but no "
        "ZIP64 extra field");
}

// ---- records outside the file or the entry area -------------------------------------------

TEST_CASE_FIXTURE(Fixture, "zip: an entry past the end of the file is refused") {
  SUBCASE("local header offset beyond the file") {
    ZipSpec spec{"a", "x"};
    spec.local_header_offset = 1'000'000;
    CHECK(
        refusal(build_zip({spec}))
            .rfind("zip entry \"a\": local header at byte 1000000 does not lie before the central "
                   "directory",
                   0) == 0);
  }
  SUBCASE("data running past the central directory") {
    ZipSpec spec{"a", "xyz"};
    spec.compressed_size = 1'000'000;
    spec.uncompressed_size = 1'000'000;
    CHECK(refusal(build_zip({spec})).rfind("zip entry \"a\": data [31, 1000031) runs past", 0) ==
          0);
  }
  SUBCASE("a size that overflows 64 bits") {
    ZipSpec spec{"a", "xyz"};
    spec.zip64 = true;
    spec.compressed_size = ~uint64_t{0};
    spec.uncompressed_size = ~uint64_t{0};
    CHECK(refusal(build_zip({spec})).find("with an overflowing size") != std::string::npos);
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: a central directory outside the file is refused") {
  ZipLayout layout;
  SUBCASE("offset past the end records") {
    layout.directory_offset = 10'000;
  }
  SUBCASE("size past the end records") {
    layout.directory_size = 10'000;
  }
  SUBCASE("ZIP64 offset that overflows") {
    layout.zip64_end = true;
    layout.directory_offset = ~uint64_t{0} - 5;
  }
  CHECK(refusal(build_zip({{"a", "b"}}, layout)).rfind("the central directory ", 0) == 0);
}

TEST_CASE_FIXTURE(Fixture, "zip: an entry count that does not match the directory is refused") {
  ZipLayout layout;
  SUBCASE("fewer declared") {
    layout.count = 1;
    CHECK(refusal(build_zip({{"a", "1"}, {"b", "2"}}, layout)) ==
          "the central directory holds 47 bytes after its last declared entry (entry count 1 "
          "does not match)");
  }
  SUBCASE("more declared") {
    layout.count = 2;
    CHECK(refusal(build_zip({{"a", "1"}}, layout)) ==
          "declares 2 entries but its central directory (47 bytes) cannot hold that many");
  }
  SUBCASE("more declared than there are headers") {
    layout.count = 2;
    layout.directory_size = 47 + 46;
    layout.directory_offset = 0;
    // The directory now starts at the local header: its signature is refused.
    CHECK(refusal(build_zip({{"a", std::string(60, 'x')}}, layout)) ==
          "central directory entry #0 at byte 0 has no central header signature");
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: more entries than limits.max_entries are refused") {
  ZipLimits limits;
  limits.max_entries = 2;
  CHECK(refusal(build_zip({{"a", "1"}, {"b", "2"}, {"c", "3"}}), limits) ==
        "has 3 entries, over the limit of 2 (set STATEPACK_ZIP_MAX_ENTRIES to raise it)");
  CHECK(open(build_zip({{"a", "1"}, {"b", "2"}}), limits).entries().size() == 2);
}

TEST_CASE_FIXTURE(Fixture, "zip: an end record comment that does not end at EOF is refused") {
  ZipLayout layout;
  layout.comment = "abc";
  layout.trailing = "junk";
  CHECK(refusal(build_zip({{"a", "b"}}, layout)) ==
        "the end of central directory record at byte 79 declares a 3-byte comment but 7 bytes "
        "follow it; the comment must end exactly at the end of the file");
}

TEST_CASE_FIXTURE(Fixture, "zip: data that is no zip archive is refused") {
  CHECK(refusal("") ==
        "file is 0 bytes, too short for a zip archive (the end record alone is 22 "
        "bytes)");
  CHECK(refusal(std::string(100, 'z')) ==
        "no end of central directory record in the last 100 bytes (not a zip archive, or "
        "truncated)");
}

TEST_CASE_FIXTURE(Fixture, "zip: multi-disk archives are refused") {
  const std::string expected =
      "is a multi-disk (split or spanned) zip archive; statepack reads single-file archives only";
  ZipLayout layout;
  SUBCASE("classic end record on disk 1") {
    layout.disk = 1;
  }
  SUBCASE("ZIP64 end record on disk 1") {
    layout.zip64_end = true;
    layout.disk = 1;
  }
  SUBCASE("ZIP64 locator counting 2 disks") {
    layout.zip64_end = true;
    layout.zip64_disk_count = 2;
  }
  SUBCASE("an entry starting on disk 1") {
    ZipSpec spec{"a", "b"};
    spec.disk = 1;
    CHECK(refusal(build_zip({spec})) == expected);
    return;
  }
  CHECK(refusal(build_zip({{"a", "b"}}, layout)) == expected);
}

// ---- entries statepack will not read ------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "zip: encrypted entries are refused") {
  ZipSpec spec{"secret", "x"};
  SUBCASE("traditional encryption, flag bit 0") {
    spec.extra_flags = 0x1;
    CHECK(refusal(build_zip({spec})) ==
          "zip entry \"secret\" is encrypted (general-purpose flag bit 0); statepack does not "
          "read encrypted archives");
  }
  SUBCASE("strong encryption, flag bit 6") {
    spec.extra_flags = 0x40;
    CHECK(refusal(build_zip({spec})).rfind("zip entry \"secret\" uses strong encryption", 0) == 0);
  }
  SUBCASE("encrypted central directory, flag bit 13") {
    spec.extra_flags = 0x2000;
    CHECK(refusal(build_zip({spec})).find("encrypted central directory") != std::string::npos);
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: unknown compression methods are refused") {
  ZipSpec spec{"a", "x"};
  spec.method = 12;
  CHECK(refusal(build_zip({spec})) ==
        "zip entry \"a\" uses compression method 12 (bzip2); only 0 (stored) and 8 (deflate) are "
        "supported");
  spec.method = 93;
  CHECK(refusal(build_zip({spec})).find("method 93 (zstd)") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "zip: a stored entry whose sizes differ is refused") {
  ZipSpec spec{"a", "xyz"};
  spec.uncompressed_size = 4;
  CHECK(refusal(build_zip({spec})) ==
        "zip entry \"a\" is stored (method 0) but its compressed size 3 differs from its "
        "uncompressed size 4");
}

// ---- damaged entry data ---------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "zip: a CRC-32 mismatch is refused on read") {
  ZipSpec spec{"a", "hello"};
  SUBCASE("stored") {}
  SUBCASE("deflated") {
    spec.deflate = true;
  }
  spec.crc = 0x12345678;
  CHECK(read_refusal(build_zip({spec}), "a") ==
        "zip entry \"a\" fails its CRC-32 check (the central directory says 0x12345678, the data "
        "gives 0x3610a686)");
}

TEST_CASE_FIXTURE(Fixture, "zip: a deflate bomb over the ratio limit is refused before inflating") {
  SUBCASE("default limit: deflate's own best (~1030:1, all zeros) passes") {
    ZipSpec spec{"a.npy", std::string(10'000'000, '\0')};
    spec.deflate = true;
    CHECK(accepts(build_zip({spec})));
  }
  SUBCASE("default limit: a size claim beyond what deflate can reach is refused") {
    ZipSpec spec{"a.npy", std::string(10'000'000, '\0')};
    spec.deflate = true;
    spec.uncompressed_size = 40'000'000;  // the same ~9.7 KB stream claiming 4x more
    const std::string message = read_refusal(build_zip({spec}), "a.npy");
    CHECK(message.rfind("zip entry \"a.npy\" inflates ", 0) == 0);
    CHECK(message.find(" bytes to 40000000 (") != std::string::npos);
    CHECK(message.find(":1), over the 1100:1 ratio limit (zip bomb?)") != std::string::npos);
  }
  SUBCASE("lower limit") {
    ZipLimits limits;
    limits.max_ratio = 10;
    ZipSpec spec{"a", std::string(1000, 'a')};
    spec.deflate = true;
    const std::string bytes = build_zip({spec});
    CHECK(read_refusal(bytes, "a", limits).find("over the 10:1 ratio limit (zip bomb?)") !=
          std::string::npos);
    limits.max_ratio = 1000;
    CHECK(accepts(bytes, limits));
  }
  SUBCASE("no compressed bytes at all") {
    ZipSpec spec{"a", "xyz"};
    spec.deflate = true;
    spec.payload = "";
    CHECK(read_refusal(build_zip({spec}), "a") ==
          "zip entry \"a\" inflates 0 bytes to 3, over the 1100:1 ratio limit (zip bomb?)");
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: an entry over the inflated-size cap is refused before inflating") {
  SUBCASE("default 4 GiB cap") {
    ZipSpec spec{"a.npy", "tiny"};
    spec.deflate = true;
    spec.zip64 = true;
    spec.uncompressed_size = 5'000'000'000;
    CHECK(read_refusal(build_zip({spec}), "a.npy") ==
          "zip entry \"a.npy\" inflates to 5000000000 bytes, over the 4294967296-byte limit (zip "
          "bomb?) (set STATEPACK_ZIP_MAX_INFLATED to raise it)");
  }
  SUBCASE("lower cap") {
    ZipLimits limits;
    limits.max_inflated_size = 999;
    ZipSpec spec{"a", sample_data(1000, 9)};
    spec.deflate = true;
    CHECK(read_refusal(build_zip({spec}), "a", limits) ==
          "zip entry \"a\" inflates to 1000 bytes, over the 999-byte limit (zip bomb?) (set "
          "STATEPACK_ZIP_MAX_INFLATED to raise it)");
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: a corrupt deflate stream is refused") {
  const std::string data = sample_data(2000, 10);
  ZipSpec spec{"a", data};
  spec.deflate = true;
  const std::string good = test::deflate_raw(data);
  SUBCASE("invalid block type") {
    spec.payload = std::string(good.size(), '\xff');
    CHECK(read_refusal(build_zip({spec}), "a") ==
          "zip entry \"a\": corrupt deflate stream (invalid block type)");
  }
  SUBCASE("cut short") {
    spec.payload = good.substr(0, good.size() / 2);
    CHECK(read_refusal(build_zip({spec}), "a").find("deflate stream is truncated") !=
          std::string::npos);
  }
  SUBCASE("more bytes than declared") {
    spec.uncompressed_size = data.size() - 1;
    CHECK(read_refusal(build_zip({spec}), "a") ==
          "zip entry \"a\" inflates to more than the 1999 bytes the central directory declares");
  }
  SUBCASE("fewer bytes than declared") {
    spec.uncompressed_size = data.size() + 1;
    CHECK(read_refusal(build_zip({spec}), "a") ==
          "zip entry \"a\" inflates to 2000 bytes, not the 2001 the central directory declares");
  }
  SUBCASE("bytes after the end of the stream") {
    spec.payload = good + "xx";
    CHECK(read_refusal(build_zip({spec}), "a") ==
          "zip entry \"a\": deflate stream ends 2 bytes before the entry's compressed data does");
  }
}

// ---- robustness: no input crashes the reader or reads outside the file ----------------------

// A file whose size is a multiple of the page size ends exactly at the end of its mapping, so a
// read past its end faults instead of quietly reading the zeros that pad the last page.
size_t page_padding(size_t size) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (page - size % page) % page;
}

TEST_CASE_FIXTURE(Fixture, "zip: a truncated archive is refused at every length") {
  std::vector<ZipSpec> entries = torch_like_entries();
  entries[1].deflate = true;
  entries[1].zip64 = true;
  const size_t full_size = build_zip(entries, torch_like_layout()).size();
  for (size_t length = 0; length < full_size; ++length) {
    ZipLayout layout = torch_like_layout();
    layout.lead_in.assign(page_padding(length), '\0');
    const std::string bytes = build_zip(entries, layout).substr(0, layout.lead_in.size() + length);
    CAPTURE(length);
    CHECK_FALSE(accepts(bytes));
  }
}

TEST_CASE_FIXTURE(Fixture, "zip: every damaged byte is refused or read, never a crash") {
  std::vector<ZipSpec> entries = torch_like_entries();
  entries[0].deflate = true;
  entries.push_back({"plain", "stored without descriptor"});
  ZipLayout layout = torch_like_layout();
  layout.lead_in.assign(page_padding(build_zip(entries, layout).size()), '\0');
  const std::string good = build_zip(entries, layout);
  ZipLimits limits;
  limits.max_inflated_size = 1 << 20;
  REQUIRE(accepts(good, limits));
  size_t refused = 0;
  for (size_t at = layout.lead_in.size(); at < good.size(); ++at) {
    for (const char value : {'\x00', '\xff', '\x7f'}) {
      if (good[at] == value) continue;
      std::string bytes = good;
      bytes[at] = value;
      CAPTURE(at);
      if (!accepts(bytes, limits)) ++refused;
    }
  }
  CHECK(refused > 0);
}

}  // namespace
}  // namespace statepack
