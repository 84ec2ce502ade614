// Input dispatch by content sniffing, and provenance records.
#include "statepack/tools/checkpoint_reader.hpp"

#include <cstring>

#include "statepack/format.h"
#include "statepack/tools/checksum.hpp"
#include "statepack/tools/error.hpp"
#include "statepack/tools/mapped_file.hpp"
#include "statepack/tools/safetensors.hpp"

namespace statepack {

InputFormat detect_format(const std::string &path) {
  const auto file = MappedFile::open(path);
  const uint8_t *d = file->data();
  const uint64_t n = file->size();
  if (n >= 4 && d[0] == SPK_MAGIC_0 && d[1] == SPK_MAGIC_1 && d[2] == SPK_MAGIC_2 &&
      d[3] == SPK_MAGIC_3) {
    return InputFormat::kBlob;
  }
  if (looks_like_safetensors(d, n)) return InputFormat::kSafetensors;
  return InputFormat::kUnknown;
}

Checkpoint read_checkpoint(const std::string &path) {
  switch (detect_format(path)) {
    case InputFormat::kSafetensors:
      return read_safetensors(path);
    case InputFormat::kBlob:
      fail_input(path, "is already a statepack blob (use `statepack unpack` to get tensors back)");
    case InputFormat::kUnknown:
      break;
  }
  fail_input(path, "unrecognised format (expected a .safetensors file)");
}

void add_provenance(Checkpoint &checkpoint, const std::vector<std::string> &inputs) {
  checkpoint.metadata["statepack.packer"] = MetaValue::of_string("statepack " STATEPACK_VERSION);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto file = MappedFile::open(inputs[i]);
    const std::string prefix = "statepack.input." + std::to_string(i) + ".";
    const auto slash = inputs[i].find_last_of('/');
    const std::string name = slash == std::string::npos ? inputs[i] : inputs[i].substr(slash + 1);
    checkpoint.metadata[prefix + "name"] = MetaValue::of_string(name);
    checkpoint.metadata[prefix + "xxh64"] = MetaValue::of_string(
        hex64(checksum(ChecksumAlgo::kXxh64, file->data(), static_cast<size_t>(file->size()))));
  }
}

}  // namespace statepack
