// SPDX-License-Identifier: Apache-2.0
// Input dispatch by content sniffing, and provenance records.
#include "statepack/tools/formats/checkpoint_reader.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "statepack/format.h"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/numpy_reader.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"
#include "statepack/tools/formats/sharded_index_reader.hpp"
#include "statepack/tools/formats/torch/torch_legacy_reader.hpp"
#include "statepack/tools/formats/torch/torch_zip_reader.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/zip_archive.hpp"

namespace statepack {
namespace {

bool ends_with(const std::string &s, const char *suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool is_npz(const ZipArchive &archive) {
  if (archive.entries().empty()) return false;
  for (const ZipEntry &e : archive.entries()) {
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0) return false;
  }
  return true;
}

// XXH64 of a whole mapped file. Hashing from the mapping avoids copying every byte out of the
// page cache as read() would; each slice's pages are dropped once hashed, so a file larger than
// RAM keeps few of them resident. Returns early (with a meaningless value) once `stop` is set.
uint64_t hash_mapping(const MappedFile &file, const std::atomic<bool> &stop) {
  constexpr uint64_t kSlice = uint64_t{8} << 20;  // a multiple of any page size
  Hasher hasher(ChecksumAlgo::kXxh64);
  for (uint64_t done = 0; done < file.size() && !stop; done += kSlice) {
    const uint64_t n = std::min(kSlice, file.size() - done);
    hasher.update(file.data() + done, static_cast<size_t>(n));
    // Whole pages only (the last one may be partial); the mapping starts on a page boundary.
    static const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t whole = n & ~(page - 1);
    if (whole > 0) {
      ::madvise(const_cast<uint8_t *>(file.data() + done), static_cast<size_t>(whole),
                MADV_DONTNEED);
    }
  }
  return hasher.digest();
}

}  // namespace

const char *format_name(InputFormat format) {
  switch (format) {
    case InputFormat::kSafetensors:
      return "safetensors";
    case InputFormat::kTorchZip:
      return "torch.save (zip)";
    case InputFormat::kTorchLegacy:
      return "torch.save (legacy)";
    case InputFormat::kNpz:
      return "NumPy .npz";
    case InputFormat::kNpy:
      return "NumPy .npy";
    case InputFormat::kShardedIndex:
      return "sharded checkpoint index";
    case InputFormat::kBlob:
      return "statepack blob";
    case InputFormat::kUnknown:
      break;
  }
  return "unknown";
}

InputFormat detect_format(const std::string &path) {
  const auto file = MappedFile::open(path);
  const uint8_t *d = file->data();
  const uint64_t n = file->size();
  if (n == 0) fail_empty_file(path);
  if (n >= 4 && d[0] == SPK_MAGIC_0 && d[1] == SPK_MAGIC_1 && d[2] == SPK_MAGIC_2 &&
      d[3] == SPK_MAGIC_3) {
    return InputFormat::kBlob;
  }
  if (looks_like_zip(d, n)) {
    const ZipArchive archive = ZipArchive::open(file);
    if (is_torch_zip(archive)) return InputFormat::kTorchZip;
    if (is_npz(archive)) return InputFormat::kNpz;
    fail_input(path, "zip archive that is neither a torch.save checkpoint nor a .npz");
  }
  if (looks_like_torch_legacy(d, n)) return InputFormat::kTorchLegacy;
  if (looks_like_npy(d, n)) return InputFormat::kNpy;
  if (looks_like_sharded_index(path, d, n)) return InputFormat::kShardedIndex;
  if (looks_like_safetensors(d, n)) return InputFormat::kSafetensors;
  return InputFormat::kUnknown;
}

Checkpoint read_checkpoint(const std::string &path) {
  switch (detect_format(path)) {
    case InputFormat::kSafetensors:
      return read_safetensors(path);
    case InputFormat::kTorchZip: {
      const ZipArchive archive = ZipArchive::open(MappedFile::open(path));
      return read_torch_zip(path, archive);
    }
    case InputFormat::kTorchLegacy:
      return read_torch_legacy(path);
    case InputFormat::kNpz:
      return read_npz_file(path);
    case InputFormat::kNpy:
      return read_npy_file(path);
    case InputFormat::kShardedIndex:
      return read_sharded_index(path, [&path](const std::string &shard) {
        const InputFormat f = detect_format(shard);
        if (f != InputFormat::kSafetensors && f != InputFormat::kTorchZip &&
            f != InputFormat::kTorchLegacy) {
          fail_input(shard, "shard of " + path + " is not a safetensors or torch.save file");
        }
        return read_checkpoint(shard);
      });
    case InputFormat::kBlob:
      fail_input(path, "is already a statepack blob (use `statepack unpack` to get tensors back)");
    case InputFormat::kUnknown:
      break;
  }
  // Damaged beyond recognition: if the name says what it should be, let that reader explain.
  if (ends_with(path, ".safetensors")) return read_safetensors(path);
  if (ends_with(path, ".npy")) return read_npy_file(path);
  fail_input(path,
             "unrecognised format (expected safetensors, torch.save .pt/.pth/.bin, .npz, .npy or "
             "a *.index.json sharded checkpoint)");
}

PendingMetadata add_provenance(Checkpoint &checkpoint, const std::vector<std::string> &inputs) {
  checkpoint.metadata["statepack.packer"] = MetaValue::of_string("statepack " STATEPACK_VERSION);
  PendingMetadata pending;
  std::vector<std::pair<std::string, std::shared_ptr<const MappedFile>>> files;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string prefix = "statepack.input." + std::to_string(i) + ".";
    const auto slash = inputs[i].find_last_of('/');
    const std::string name = slash == std::string::npos ? inputs[i] : inputs[i].substr(slash + 1);
    checkpoint.metadata[prefix + "name"] = MetaValue::of_string(name);
    pending.placeholders[prefix + "xxh64"] = MetaValue::of_string(hex64(0));
    // Mapped here, so that an input gone since it was read is reported now, not after writing.
    files.emplace_back(prefix + "xxh64", MappedFile::open(inputs[i]));
  }
  using Values = std::map<std::string, MetaValue>;
  pending.values = std::make_shared<const BackgroundTask<Values>>(
      [files = std::move(files)](const std::atomic<bool> &stop) {
        Values values;
        for (const auto &[key, file] : files) {
          values[key] = MetaValue::of_string(hex64(hash_mapping(*file, stop)));
        }
        return values;
      });
  return pending;
}

}  // namespace statepack
