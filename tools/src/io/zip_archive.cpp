// SPDX-License-Identifier: Apache-2.0
// Strict zip reader (PKWARE APPNOTE 6.3): finds the end records, walks the central directory and
// checks every local header before handing out a single byte. Two readers of the same archive
// must not be able to disagree about what it holds, so anything another reader could resolve
// differently is refused: a second end record, duplicate names, local headers that contradict
// the central directory, records that overlap or leave the file, sentinel sizes without their
// ZIP64 field. Entry data is checked against its CRC-32 on every read.
#include "statepack/tools/io/zip_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/text/quote.hpp"

namespace statepack {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;

constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kMaxCommentSize = 0xFFFF;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kZip64EndSize = 56;
// The ZIP64 end record's own size field counts everything after its first 12 bytes.
constexpr uint64_t kZip64EndLeadSize = 12;

constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kSentinel16 = 0xFFFF;
constexpr uint32_t kSentinel32 = 0xFFFFFFFF;

constexpr uint16_t kFlagEncrypted = 1u << 0;
constexpr uint16_t kFlagStrongEncryption = 1u << 6;
constexpr uint16_t kFlagEncryptedDirectory = 1u << 13;

constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflated = 8;

// zlib counts in uInt (32 bits); larger buffers go through in pieces of this size.
constexpr uint64_t kZlibChunk = uint64_t{1} << 30;
// Compressed input fed to inflate at a time, so that consumed pages can be dropped.
constexpr uint64_t kInflateSlice = uint64_t{8} << 20;

std::string hex32(uint32_t value) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += kDigits[(value >> shift) & 0xF];
  return text;
}

std::string range_text(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

std::string entry_label(const std::string &name) {
  return "zip entry " + quote_for_message(name);
}

std::string method_text(uint16_t method) {
  std::string text = std::to_string(method);
  switch (method) {
    case 1:
      return text + " (shrunk)";
    case 6:
      return text + " (imploded)";
    case 9:
      return text + " (deflate64)";
    case 12:
      return text + " (bzip2)";
    case 14:
      return text + " (LZMA)";
    case 93:
      return text + " (zstd)";
    case 95:
      return text + " (xz)";
    case 99:
      return text + " (AES-encrypted)";
    default:
      return text;
  }
}

// Each chunk's pages of a mapped file are dropped once checked: every stored entry of a
// multi-GB checkpoint is read here, and would otherwise all stay resident until the writer
// gets to it.
uint32_t crc32_of(const uint8_t *data, uint64_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  constexpr uint64_t kSlice = uint64_t{8} << 20;  // a multiple of any page size
  while (size > 0) {
    const uint64_t chunk = std::min(size, kSlice);
    crc = crc32(crc, data, static_cast<uInt>(chunk));
    MappedFile::release(data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// Where the central directory lies, according to the end records.
struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t count = 0;
  uint64_t end_records_start = 0;  // first byte of the (ZIP64) end records
};

// One pass over an archive's structure; open() keeps only the entries it produces.
class StructureReader {
 public:
  StructureReader(const std::string &path, const uint8_t *data, uint64_t size,
                  const ZipLimits &limits)
      : path_(path), data_(data), size_(size), limits_(limits) {}

  std::vector<ZipEntry> read(std::map<std::string, size_t, std::less<>> &index) {
    const Directory directory = read_end_records();
    std::vector<ZipEntry> entries = read_central_directory(directory, index);
    for (ZipEntry &entry : entries) check_local_header(entry, directory.offset);
    check_no_overlap(entries);
    return entries;
  }

 private:
  [[noreturn]] void fail(const std::string &problem) const { fail_input(path_, problem); }

  [[noreturn]] void fail_multi_disk() const {
    fail(
        "is a multi-disk (split or spanned) zip archive; statepack reads single-file archives "
        "only");
  }

  // The end of central directory record: its comment must end exactly at the end of the file,
  // and only one candidate in the search window may satisfy that.
  uint64_t find_end_record() const {
    if (size_ < kEndSize) {
      fail("file is " + std::to_string(size_) +
           " bytes, too short for a zip archive (the end record alone is 22 bytes)");
    }
    const uint64_t lowest =
        size_ > kEndSize + kMaxCommentSize ? size_ - kEndSize - kMaxCommentSize : 0;
    bool found = false;
    uint64_t found_at = 0;
    bool misfit = false;
    uint64_t misfit_at = 0;
    uint64_t misfit_comment = 0;
    for (uint64_t pos = size_ - kEndSize + 1; pos-- > lowest;) {
      if (load_le32(data_ + pos) != kEndSignature) continue;
      const uint64_t comment = load_le16(data_ + pos + 20);
      if (pos + kEndSize + comment == size_) {
        if (found) {
          fail("has two end of central directory records (at bytes " + std::to_string(pos) +
               " and " + std::to_string(found_at) +
               ") whose comments both end at the end of the file; readers could disagree");
        }
        found = true;
        found_at = pos;
      } else if (!misfit) {
        misfit = true;
        misfit_at = pos;
        misfit_comment = comment;
      }
    }
    if (found) return found_at;
    if (misfit) {
      fail("the end of central directory record at byte " + std::to_string(misfit_at) +
           " declares a " + std::to_string(misfit_comment) + "-byte comment but " +
           std::to_string(size_ - misfit_at - kEndSize) +
           " bytes follow it; the comment must end exactly at the end of the file");
    }
    fail("no end of central directory record in the last " + std::to_string(size_ - lowest) +
         " bytes (not a zip archive, or truncated)");
  }

  Directory read_end_records() const {
    const uint64_t end = find_end_record();
    const uint8_t *record = data_ + end;
    const uint16_t disk = load_le16(record + 4);
    const uint16_t directory_disk = load_le16(record + 6);
    const uint16_t disk_entries = load_le16(record + 8);
    const uint16_t total_entries = load_le16(record + 10);
    const uint32_t directory_size = load_le32(record + 12);
    const uint32_t directory_offset = load_le32(record + 16);

    Directory directory;
    if (end >= kZip64LocatorSize &&
        load_le32(data_ + end - kZip64LocatorSize) == kZip64LocatorSignature) {
      directory = read_zip64_end_record(end - kZip64LocatorSize);
      // The classic record may repeat a value or hold its "see ZIP64" sentinel; anything else
      // gives two answers to the same question.
      const auto agrees = [](uint64_t classic, uint64_t sentinel, uint64_t zip64) {
        return classic == sentinel || classic == zip64;
      };
      if (!agrees(disk, kSentinel16, 0) || !agrees(directory_disk, kSentinel16, 0)) {
        fail_multi_disk();
      }
      if (!agrees(disk_entries, kSentinel16, directory.count) ||
          !agrees(total_entries, kSentinel16, directory.count) ||
          !agrees(directory_size, kSentinel32, directory.size) ||
          !agrees(directory_offset, kSentinel32, directory.offset)) {
        fail("the end of central directory record contradicts the ZIP64 end record (" +
             std::to_string(total_entries) + " entries, central directory of " +
             std::to_string(directory_size) + " bytes at " + std::to_string(directory_offset) +
             " versus " + std::to_string(directory.count) + " entries, " +
             std::to_string(directory.size) + " bytes at " + std::to_string(directory.offset) +
             ")");
      }
    } else {
      if (disk != 0 || directory_disk != 0 || disk_entries != total_entries) fail_multi_disk();
      directory.offset = directory_offset;
      directory.size = directory_size;
      directory.count = total_entries;
      directory.end_records_start = end;
    }

    if (directory.offset > directory.end_records_start ||
        directory.size > directory.end_records_start - directory.offset) {
      const uint64_t directory_end = directory.offset + directory.size;
      fail("the central directory " +
           (directory_end < directory.offset
                ? "at byte " + std::to_string(directory.offset) + " overflows"
                : range_text(directory.offset, directory_end) + " does not lie before the end " +
                      "records at byte " + std::to_string(directory.end_records_start)) +
           " (file size " + std::to_string(size_) + ")");
    }
    if (directory.count > limits_.max_entries) {
      fail("has " + std::to_string(directory.count) + " entries, over the limit of " +
           std::to_string(limits_.max_entries) + raise_hint(kEnvZipMaxEntries));
    }
    if (directory.count > directory.size / kCentralHeaderSize) {
      fail("declares " + std::to_string(directory.count) + " entries but its central directory (" +
           std::to_string(directory.size) + " bytes) cannot hold that many");
    }
    return directory;
  }

  Directory read_zip64_end_record(uint64_t locator) const {
    const uint8_t *bytes = data_ + locator;
    const uint32_t record_disk = load_le32(bytes + 4);
    const uint64_t record_offset = load_le64(bytes + 8);
    const uint32_t disk_count = load_le32(bytes + 16);
    if (record_disk != 0 || disk_count > 1) fail_multi_disk();
    if (record_offset > locator || locator - record_offset < kZip64EndSize) {
      fail("the ZIP64 end record offset " + std::to_string(record_offset) +
           " leaves no room for the record before its locator at byte " + std::to_string(locator));
    }
    const uint8_t *record = data_ + record_offset;
    if (load_le32(record) != kZip64EndSignature) {
      fail("no ZIP64 end record at byte " + std::to_string(record_offset) +
           ", where its locator points");
    }
    // The record must end where the locator starts: a gap would be bytes that belong to nothing.
    const uint64_t record_size = load_le64(record + 4);
    if (record_size != locator - record_offset - kZip64EndLeadSize) {
      fail("the ZIP64 end record at byte " + std::to_string(record_offset) + " declares " +
           std::to_string(record_size) + " bytes but " +
           std::to_string(locator - record_offset - kZip64EndLeadSize) +
           " lie between it and its locator");
    }
    const uint32_t disk = load_le32(record + 16);
    const uint32_t directory_disk = load_le32(record + 20);
    const uint64_t disk_entries = load_le64(record + 24);
    Directory directory;
    directory.count = load_le64(record + 32);
    directory.size = load_le64(record + 40);
    directory.offset = load_le64(record + 48);
    directory.end_records_start = record_offset;
    if (disk != 0 || directory_disk != 0 || disk_entries != directory.count) fail_multi_disk();
    return directory;
  }

  std::vector<ZipEntry> read_central_directory(const Directory &directory,
                                               std::map<std::string, size_t, std::less<>> &index) {
    std::vector<ZipEntry> entries;
    entries.reserve(static_cast<size_t>(directory.count));
    const uint64_t end = directory.offset + directory.size;
    uint64_t pos = directory.offset;
    for (uint64_t i = 0; i < directory.count; ++i) {
      const std::string where = "central directory entry #" + std::to_string(i);
      if (end - pos < kCentralHeaderSize) {
        fail("the central directory ends inside the header of its entry #" + std::to_string(i) +
             " (it declares " + std::to_string(directory.count) + " entries)");
      }
      const uint8_t *header = data_ + pos;
      if (load_le32(header) != kCentralHeaderSignature) {
        fail(where + " at byte " + std::to_string(pos) + " has no central header signature");
      }
      const uint64_t name_size = load_le16(header + 28);
      const uint64_t extra_size = load_le16(header + 30);
      const uint64_t comment_size = load_le16(header + 32);
      if (end - pos - kCentralHeaderSize < name_size + extra_size + comment_size) {
        fail(where + " runs past the end of the central directory");
      }
      ZipEntry entry;
      entry.name.assign(reinterpret_cast<const char *>(header + kCentralHeaderSize),
                        static_cast<size_t>(name_size));
      if (entry.name.empty()) fail(where + " has an empty name");
      const std::string label = entry_label(entry.name);
      if (entry.name.find('\0') != std::string::npos) fail(label + ": name contains a NUL byte");

      entry.flags = load_le16(header + 8);
      entry.method = load_le16(header + 10);
      entry.crc32 = load_le32(header + 16);
      const uint32_t compressed32 = load_le32(header + 20);
      const uint32_t uncompressed32 = load_le32(header + 24);
      const uint16_t disk16 = load_le16(header + 34);
      const uint32_t offset32 = load_le32(header + 42);
      entry.compressed_size = compressed32;
      entry.uncompressed_size = uncompressed32;
      entry.local_header_offset = offset32;
      uint64_t disk = disk16;
      read_extra_fields(label, header + kCentralHeaderSize + name_size, extra_size, entry, disk,
                        uncompressed32 == kSentinel32, compressed32 == kSentinel32,
                        offset32 == kSentinel32, disk16 == kSentinel16);
      if (disk != 0) fail_multi_disk();
      check_entry_kind(label, entry);

      if (!index.emplace(entry.name, entries.size()).second) {
        fail(label + " appears twice in the central directory");
      }
      entries.push_back(std::move(entry));
      pos += kCentralHeaderSize + name_size + extra_size + comment_size;
    }
    if (pos != end) {
      fail("the central directory holds " + std::to_string(end - pos) +
           " bytes after its last declared entry (entry count " + std::to_string(directory.count) +
           " does not match)");
    }
    return entries;
  }

  // Walks the extra field records; the ZIP64 one (0x0001) holds, in this order, exactly the
  // values whose classic field is the sentinel.
  void read_extra_fields(const std::string &label, const uint8_t *extra, uint64_t extra_size,
                         ZipEntry &entry, uint64_t &disk, bool want_uncompressed,
                         bool want_compressed, bool want_offset, bool want_disk) const {
    bool seen_zip64 = false;
    uint64_t pos = 0;
    while (pos < extra_size) {
      if (extra_size - pos < 4) fail(label + ": malformed extra field (a record header is cut)");
      const uint16_t id = load_le16(extra + pos);
      const uint64_t size = load_le16(extra + pos + 2);
      if (extra_size - pos - 4 < size) {
        fail(label + ": malformed extra field (record " + hex32(id) + " runs past its end)");
      }
      if (id == kZip64ExtraId) {
        if (seen_zip64) fail(label + " has two ZIP64 extra fields");
        seen_zip64 = true;
        const uint64_t needed = (want_uncompressed ? 8 : 0) + (want_compressed ? 8 : 0) +
                                (want_offset ? 8 : 0) + (want_disk ? 4 : 0);
        if (size < needed) {
          fail(label + ": ZIP64 extra field holds " + std::to_string(size) +
               " bytes, too few for the " + std::to_string(needed) + " its header needs");
        }
        const uint8_t *field = extra + pos + 4;
        if (want_uncompressed) {
          entry.uncompressed_size = load_le64(field);
          field += 8;
        }
        if (want_compressed) {
          entry.compressed_size = load_le64(field);
          field += 8;
        }
        if (want_offset) {
          entry.local_header_offset = load_le64(field);
          field += 8;
        }
        if (want_disk) disk = load_le32(field);
      }
      pos += 4 + size;
    }
    if (!seen_zip64 && (want_uncompressed || want_compressed || want_offset || want_disk)) {
      fail(label +
           " has a size, offset or disk set to the ZIP64 sentinel (0xFFFFFFFF) but no "
           "ZIP64 extra field");
    }
  }

  void check_entry_kind(const std::string &label, const ZipEntry &entry) const {
    if (entry.flags & kFlagEncrypted) {
      fail(label +
           " is encrypted (general-purpose flag bit 0); statepack does not read "
           "encrypted archives");
    }
    if (entry.flags & kFlagStrongEncryption) {
      fail(label +
           " uses strong encryption (general-purpose flag bit 6); statepack does not "
           "read encrypted archives");
    }
    if (entry.flags & kFlagEncryptedDirectory) {
      fail(label +
           " has an encrypted central directory (general-purpose flag bit 13); "
           "statepack does not read encrypted archives");
    }
    if (entry.method != kMethodStored && entry.method != kMethodDeflated) {
      fail(label + " uses compression method " + method_text(entry.method) +
           "; only 0 (stored) and 8 (deflate) are supported");
    }
    if (entry.method == kMethodStored && entry.compressed_size != entry.uncompressed_size) {
      fail(label + " is stored (method 0) but its compressed size " +
           std::to_string(entry.compressed_size) + " differs from its uncompressed size " +
           std::to_string(entry.uncompressed_size));
    }
  }

  // The local header must agree with the central one where a reader could use either, and
  // place the data inside the entry area (everything before the central directory).
  void check_local_header(ZipEntry &entry, uint64_t area_end) const {
    const std::string label = entry_label(entry.name);
    const uint64_t offset = entry.local_header_offset;
    if (offset > area_end || area_end - offset < kLocalHeaderSize) {
      fail(label + ": local header at byte " + std::to_string(offset) +
           " does not lie before the central directory at byte " + std::to_string(area_end) +
           " (file size " + std::to_string(size_) + ")");
    }
    const uint8_t *header = data_ + offset;
    if (load_le32(header) != kLocalHeaderSignature) {
      fail(label + ": no local header signature at byte " + std::to_string(offset));
    }
    const uint16_t flags = load_le16(header + 6);
    const uint16_t method = load_le16(header + 8);
    const uint64_t name_size = load_le16(header + 26);
    const uint64_t extra_size = load_le16(header + 28);
    if (area_end - offset - kLocalHeaderSize < name_size + extra_size) {
      fail(label + ": local header at byte " + std::to_string(offset) +
           " runs into the central directory");
    }
    const std::string_view local_name(reinterpret_cast<const char *>(header + kLocalHeaderSize),
                                      static_cast<size_t>(name_size));
    if (local_name != entry.name) {
      fail(label + ": local header at byte " + std::to_string(offset) + " names it " +
           quote_for_message(local_name));
    }
    if (method != entry.method) {
      fail(label + ": local header says compression method " + std::to_string(method) +
           ", the central directory says " + std::to_string(entry.method));
    }
    if (flags & (kFlagEncrypted | kFlagStrongEncryption)) {
      fail(label +
           ": local header marks it encrypted; statepack does not read encrypted "
           "archives");
    }
    entry.data_offset = offset + kLocalHeaderSize + name_size + extra_size;
    if (entry.compressed_size > area_end - entry.data_offset) {
      const uint64_t data_end = entry.data_offset + entry.compressed_size;
      fail(label + ": data " +
           (data_end < entry.data_offset
                ? "at byte " + std::to_string(entry.data_offset) + " with an overflowing size"
                : range_text(entry.data_offset, data_end)) +
           " runs past the entry area, which ends at the central directory at byte " +
           std::to_string(area_end) + " (file size " + std::to_string(size_) + ")");
    }
  }

  // Each entry owns [local header, end of data); no byte may belong to two entries.
  void check_no_overlap(const std::vector<ZipEntry> &entries) const {
    std::vector<const ZipEntry *> by_offset;
    by_offset.reserve(entries.size());
    for (const ZipEntry &entry : entries) by_offset.push_back(&entry);
    std::sort(by_offset.begin(), by_offset.end(), [](const ZipEntry *a, const ZipEntry *b) {
      return a->local_header_offset < b->local_header_offset;
    });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const ZipEntry &first = *by_offset[i - 1];
      const ZipEntry &second = *by_offset[i];
      const uint64_t first_end = first.data_offset + first.compressed_size;
      if (second.local_header_offset < first_end) {
        fail(entry_label(first.name) + " overlaps " + quote_for_message(second.name) + " (bytes " +
             range_text(first.local_header_offset, first_end) + " and " +
             range_text(second.local_header_offset, second.data_offset + second.compressed_size) +
             ")");
      }
    }
  }

  const std::string &path_;
  const uint8_t *data_;
  uint64_t size_;
  const ZipLimits &limits_;
};

// Ends the inflate stream on every path out of inflate_entry().
class InflateStream {
 public:
  InflateStream() {
    // Raw deflate (negative window bits): zip entries carry no zlib header or trailer.
    const int result = inflateInit2(&stream_, -MAX_WBITS);
    if (result == Z_MEM_ERROR) throw std::bad_alloc();
    if (result != Z_OK) throw std::runtime_error("zlib inflateInit2 failed");
  }
  ~InflateStream() { inflateEnd(&stream_); }
  InflateStream(const InflateStream &) = delete;
  InflateStream &operator=(const InflateStream &) = delete;
  z_stream &get() { return stream_; }

 private:
  z_stream stream_{};
};

}  // namespace

ZipArchive ZipArchive::open(std::shared_ptr<const MappedFile> file, const ZipLimits &limits) {
  ZipArchive archive;
  archive.file_ = std::move(file);
  archive.limits_ = limits;
  StructureReader reader(archive.file_->path(), archive.file_->data(), archive.file_->size(),
                         limits);
  archive.entries_ = reader.read(archive.index_);
  return archive;
}

const ZipEntry *ZipArchive::find(std::string_view name) const {
  const auto found = index_.find(name);
  return found == index_.end() ? nullptr : &entries_[found->second];
}

ZipBytes ZipArchive::read(const ZipEntry &entry) const {
  const std::string label = entry_label(entry.name);
  const uint64_t file_size = file_->size();
  // open() checked this for its own entries; a ZipEntry from elsewhere gets the same care.
  if (entry.data_offset > file_size || entry.compressed_size > file_size - entry.data_offset) {
    fail_input(path(), label + ": data lies outside the file");
  }
  const uint8_t *compressed = file_->data() + entry.data_offset;

  ZipBytes bytes;
  if (entry.method == kMethodStored) {
    if (entry.compressed_size != entry.uncompressed_size) {
      fail_input(path(), label + ": stored entry with differing sizes");
    }
    bytes.data = compressed;
    bytes.size = entry.compressed_size;
    bytes.owner = file_;
  } else if (entry.method == kMethodDeflated) {
    // Both caps are checked before any memory is committed to the output.
    const uint64_t expected = entry.uncompressed_size;
    if (expected > limits_.max_inflated_size) {
      fail_input(path(), label + " inflates to " + std::to_string(expected) + " bytes, over the " +
                             std::to_string(limits_.max_inflated_size) + "-byte limit (zip bomb?)" +
                             raise_hint(kEnvZipMaxInflated));
    }
    uint64_t ratio_cap = 0;
    const bool cap_overflows =
        __builtin_mul_overflow(entry.compressed_size, limits_.max_ratio, &ratio_cap);
    if (!cap_overflows && expected > ratio_cap) {
      fail_input(path(),
                 label + " inflates " + std::to_string(entry.compressed_size) + " bytes to " +
                     std::to_string(expected) +
                     (entry.compressed_size == 0
                          ? ""
                          : " (" + std::to_string(expected / entry.compressed_size) + ":1)") +
                     ", over the " + std::to_string(limits_.max_ratio) +
                     ":1 ratio limit (zip bomb?)");
    }
    if (expected > std::numeric_limits<size_t>::max()) {
      fail_input(path(), label + " is too large to inflate in memory");
    }
    auto buffer = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(expected));

    InflateStream holder;
    z_stream &stream = holder.get();
    const uint8_t *in_next = compressed;
    uint64_t in_left = entry.compressed_size;
    uint8_t *out_next = buffer->data();
    uint64_t out_left = expected;
    // Once the declared size is full, inflate gets one spare byte: writing it proves the
    // stream holds more than the central directory says.
    uint8_t spare = 0;
    bool in_spare = false;
    for (;;) {
      if (stream.avail_in == 0 && in_left > 0) {
        // The input read so far is consumed: its pages of the mapping can go.
        MappedFile::release(compressed, static_cast<uint64_t>(in_next - compressed));
        const uint64_t chunk = std::min(in_left, kInflateSlice);
        stream.next_in = const_cast<Bytef *>(in_next);
        stream.avail_in = static_cast<uInt>(chunk);
        in_next += chunk;
        in_left -= chunk;
      }
      if (stream.avail_out == 0 && !in_spare) {
        if (out_left > 0) {
          const uint64_t chunk = std::min(out_left, kZlibChunk);
          stream.next_out = out_next;
          stream.avail_out = static_cast<uInt>(chunk);
          out_next += chunk;
          out_left -= chunk;
        } else {
          stream.next_out = &spare;
          stream.avail_out = 1;
          in_spare = true;
        }
      }
      const int result = inflate(&stream, Z_NO_FLUSH);
      if (in_spare && stream.avail_out == 0) {
        fail_input(path(), label + " inflates to more than the " + std::to_string(expected) +
                               " bytes the central directory declares");
      }
      if (result == Z_STREAM_END) break;
      if (result == Z_OK) continue;
      if (result == Z_MEM_ERROR) throw std::bad_alloc();
      if (result == Z_BUF_ERROR && stream.avail_in == 0 && in_left == 0) {
        fail_input(path(), label + ": deflate stream is truncated (its " +
                               std::to_string(entry.compressed_size) +
                               " bytes end before its last block)");
      }
      fail_input(path(), label + ": corrupt deflate stream (" +
                             (stream.msg != nullptr ? std::string(stream.msg)
                                                    : "zlib error " + std::to_string(result)) +
                             ")");
    }
    const uint64_t produced = in_spare ? expected : expected - out_left - stream.avail_out;
    if (produced != expected) {
      fail_input(path(), label + " inflates to " + std::to_string(produced) + " bytes, not the " +
                             std::to_string(expected) + " the central directory declares");
    }
    const uint64_t unused = in_left + stream.avail_in;
    if (unused != 0) {
      fail_input(path(), label + ": deflate stream ends " + std::to_string(unused) +
                             " bytes before the entry's compressed data does");
    }
    MappedFile::release(compressed, entry.compressed_size);
    // Checked while still in memory, then moved to the spill file: the checkpoint keeps every
    // entry it reads, and inflated ones must not all stay resident.
    const uint32_t actual = crc32_of(buffer->data(), expected);
    if (actual != entry.crc32) {
      fail_input(path(), label + " fails its CRC-32 check (the central directory says " +
                             hex32(entry.crc32) + ", the data gives " + hex32(actual) + ")");
    }
    SpilledBytes spilled = spill(buffer->data(), expected);
    bytes.data = spilled.data;
    bytes.size = expected;
    bytes.owner = std::move(spilled.owner);
    return bytes;
  } else {
    fail_input(path(), label + " uses compression method " + method_text(entry.method));
  }

  const uint32_t actual = crc32_of(bytes.data, bytes.size);
  if (actual != entry.crc32) {
    fail_input(path(), label + " fails its CRC-32 check (the central directory says " +
                           hex32(entry.crc32) + ", the data gives " + hex32(actual) + ")");
  }
  return bytes;
}

bool looks_like_zip(const uint8_t *data, uint64_t size) {
  if (data == nullptr || size < 4) return false;
  const uint32_t signature = load_le32(data);
  return signature == kLocalHeaderSignature || signature == kEndSignature;
}

}  // namespace statepack
