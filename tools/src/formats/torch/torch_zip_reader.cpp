// SPDX-License-Identifier: Apache-2.0
// torch.save zip archives: "<prefix>/data.pkl" (the object, pickle protocol 2 unless
// pickle_protocol asks for up to 5), one "<prefix>/data/<key>" record per storage, and
// "<prefix>/byteorder".
#include <set>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/torch/torch_zip_reader.hpp"
#include "torch_pickle_model.hpp"

namespace statepack {
namespace {

using pickle::Kind;
using torch_model::Storage;

std::string archive_prefix(const std::string &path, const ZipArchive &archive) {
  if (archive.entries().empty()) fail_input(path, "empty zip archive");
  const std::string &first = archive.entries().front().name;
  const auto slash = first.find('/');
  if (slash == std::string::npos || slash == 0) {
    fail_input(path, "zip entry \"" + first + "\" is not inside a top-level folder");
  }
  const std::string prefix = first.substr(0, slash + 1);
  for (const ZipEntry &e : archive.entries()) {
    if (e.name.compare(0, prefix.size(), prefix) != 0) {
      fail_input(path, "zip entry \"" + e.name + "\" is outside the archive's folder " + prefix);
    }
    const std::string rest = e.name.substr(prefix.size());
    if (rest == "constants.pkl" || rest.compare(0, 5, "code/") == 0) {
      fail_input(path,
                 "is a TorchScript archive (torch.jit.save); statepack reads torch.save "
                 "checkpoints only");
    }
  }
  return prefix;
}

bool read_byteorder(const std::string &path, const ZipArchive &archive, const std::string &prefix) {
  const ZipEntry *entry = archive.find(prefix + "byteorder");
  if (entry == nullptr) return false;  // absent means little-endian
  const ZipBytes bytes = archive.read(*entry);
  const std::string text(reinterpret_cast<const char *>(bytes.data), bytes.size);
  if (text == "little") return false;
  if (text == "big") return true;
  fail_input(path, "byteorder record says \"" + text.substr(0, 16) + "\"");
}

}  // namespace

bool is_torch_zip(const ZipArchive &archive) {
  for (const ZipEntry &e : archive.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash + 1) == "data.pkl") return true;
  }
  return false;
}

Checkpoint read_torch_zip(const std::string &path, const ZipArchive &archive) {
  const std::string prefix = archive_prefix(path, archive);
  const ZipEntry *pkl = archive.find(prefix + "data.pkl");
  if (pkl == nullptr) fail_input(path, "no " + prefix + "data.pkl record");
  const bool big_endian = read_byteorder(path, archive, prefix);

  // ('storage', StorageClass, key, location, numel): each key's bytes are "<prefix>data/<key>".
  std::map<std::string, std::shared_ptr<Storage>> storages;
  auto load_storage = [&](const pickle::Value &pid) {
    if (pid.kind != Kind::kTuple || pid.items.size() != 5 || pid.items[0]->kind != Kind::kString ||
        pid.items[0]->text != "storage" || pid.items[1]->kind != Kind::kGlobal ||
        pid.items[2]->kind != Kind::kString || pid.items[4]->kind != Kind::kInt ||
        pid.items[4]->int_value < 0) {
      throw Error(ErrorKind::kInput, "unexpected persistent id (not a torch storage)");
    }
    const std::string &key = pid.items[2]->text;
    auto found = storages.find(key);
    if (found != storages.end()) return found->second;
    auto s = std::make_shared<Storage>();
    s->key = key;
    s->dtype = torch_model::dtype_of_storage_class(pid.items[1]->module, pid.items[1]->name);
    s->untyped = pid.items[1]->name == "UntypedStorage";
    if (s->dtype == DType::kUnknown) {
      throw Error(ErrorKind::kInput, "storage class " + pid.items[1]->module + "." +
                                         pid.items[1]->name + " is not supported");
    }
    s->numel = static_cast<uint64_t>(pid.items[4]->int_value);
    const ZipEntry *record = archive.find(prefix + "data/" + key);
    if (record == nullptr) throw Error(ErrorKind::kInput, "storage \"" + key + "\" has no record");
    ZipBytes bytes;
    try {
      bytes = archive.read(*record);
    } catch (const Error &e) {
      // Drop the file name here; the caller adds it once, with the pickle offset.
      const std::string message = e.what();
      const std::string file_prefix = path + ": ";
      throw Error(ErrorKind::kInput, message.rfind(file_prefix, 0) == 0
                                         ? message.substr(file_prefix.size())
                                         : message);
    }
    // The declared size must match the record exactly (CVE-2026-24747: declared > record).
    const uint64_t itemsize = s->untyped ? 1 : dtype_bits(s->dtype) / 8;
    uint64_t declared = 0;
    if (__builtin_mul_overflow(s->numel, itemsize, &declared) || declared != bytes.size) {
      throw Error(ErrorKind::kInput, "storage \"" + key + "\" declares " +
                                         std::to_string(s->numel) + " elements of " +
                                         std::to_string(itemsize) + " bytes but its record holds " +
                                         std::to_string(bytes.size) + " bytes");
    }
    s->data = bytes.data;
    s->size = bytes.size;
    s->owner = bytes.owner;
    storages.emplace(key, s);
    return s;
  };

  const ZipBytes pickle_bytes = archive.read(*pkl);
  pickle::ValuePtr root;
  try {
    uint64_t end = 0;
    std::tie(root, end) = pickle::read_pickle(pickle_bytes.data, pickle_bytes.size,
                                              torch_model::make_handlers(load_storage));
    if (end != pickle_bytes.size) {
      throw Error(ErrorKind::kInput, "offset " + std::to_string(end) + ": bytes after STOP");
    }
  } catch (const Error &e) {
    if (std::string(e.what()).rfind(path + ":", 0) == 0) throw;
    fail_input(path, pkl->name + ": " + e.what());
  }
  return torch_model::flatten(path, root, big_endian);
}

}  // namespace statepack
