// SPDX-License-Identifier: Apache-2.0
// Restricted unpickler: every opcode torch.save needs reads back as the value Python pickled, and
// every way a hostile pickle can reach outside the allowlist, confuse a container, exhaust memory
// or end early is refused with the offset and a message that names the problem. Pickles are
// written byte by byte here, or pasted from CPython's and torch's own output.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/torch/pickle_opcodes.hpp"
#include "statepack/tools/formats/torch/pickle_reader.hpp"
#include "support/pickle_builder.hpp"

namespace statepack::pickle {
namespace {

using Bytes = std::vector<uint8_t>;
using test::Pickle;

// Reads a pickle that must be accepted whole.
ValuePtr read(const Bytes &bytes, const Handlers &handlers = {}, const Limits &limits = {}) {
  const auto [value, end] = read_pickle(bytes.data(), bytes.size(), handlers, limits);
  CHECK(end == bytes.size());
  REQUIRE(static_cast<bool>(value));
  return value;
}

// The message a refused pickle gets (and a failed check if it was accepted).
std::string refusal(const Bytes &bytes, const Handlers &handlers = {}, const Limits &limits = {}) {
  try {
    read_pickle(bytes.data(), bytes.size(), handlers, limits);
  } catch (const Error &error) {
    CHECK(error.kind() == ErrorKind::kInput);
    return error.what();
  }
  FAIL_CHECK("the pickle was accepted");
  return "";
}

ValuePtr make_int(int64_t value) {
  ValuePtr result = Value::make(Kind::kInt);
  result->int_value = value;
  return result;
}

// Handlers that turn collections.OrderedDict() into a dict and everything else into an
// extension that records its callable; builds are counted.
struct RecordingHandlers {
  Handlers handlers;
  std::shared_ptr<int> builds = std::make_shared<int>(0);
  RecordingHandlers() {
    handlers.allowed_globals = {{"collections", "OrderedDict"}, {"mod", "Thing"}};
    handlers.reduce = [](const Value &callable, const Value &args) {
      if (callable.name == "OrderedDict") {
        if (!args.items.empty()) throw Error(ErrorKind::kInput, "OrderedDict with arguments");
        return Value::make(Kind::kDict);
      }
      ValuePtr thing = Value::make(Kind::kExtension);
      thing->extension_tag = static_cast<int>(args.items.size());
      thing->extension = std::make_shared<std::string>(callable.text);
      return thing;
    };
    std::shared_ptr<int> counter = builds;
    handlers.build = [counter](Value &, const Value &) { ++*counter; };
  }
};

// A small model of what the torch reader does: storages from persistent ids, tensors from
// _rebuild_tensor_v2, OrderedDict for state dicts, BUILD states recorded. Checks every argument,
// so corrupted pickles make it throw, never misbehave.
constexpr int kStorageTag = 1;
constexpr int kTensorTag = 2;

struct TestTensor {
  std::string storage_key;
  int64_t offset = 0;
  std::vector<int64_t> size;
};

[[noreturn]] void bad(const std::string &what) {
  throw Error(ErrorKind::kInput, what);
}

struct TorchHandlers {
  Handlers handlers;
  std::shared_ptr<std::vector<std::string>> build_states =
      std::make_shared<std::vector<std::string>>();
  TorchHandlers() {
    handlers.allowed_globals = {{"collections", "OrderedDict"},
                                {"torch._utils", "_rebuild_tensor_v2"},
                                {"torch", "FloatStorage"}};
    handlers.reduce = [](const Value &callable, const Value &args) -> ValuePtr {
      if (callable.name == "OrderedDict") {
        if (!args.items.empty()) bad("OrderedDict with arguments");
        return Value::make(Kind::kDict);
      }
      if (callable.name != "_rebuild_tensor_v2") bad("cannot call " + callable.text);
      if (args.items.size() != 6) bad("_rebuild_tensor_v2 needs 6 arguments");
      const Value &storage = *args.items[0];
      if (storage.kind != Kind::kExtension || storage.extension_tag != kStorageTag) {
        bad("not a storage");
      }
      auto tensor = std::make_shared<TestTensor>();
      tensor->storage_key = *std::static_pointer_cast<std::string>(storage.extension);
      if (args.items[1]->kind != Kind::kInt) bad("offset is not an int");
      tensor->offset = args.items[1]->int_value;
      if (args.items[2]->kind != Kind::kTuple) bad("size is not a tuple");
      for (const ValuePtr &dim : args.items[2]->items) {
        if (dim->kind != Kind::kInt) bad("size holds a non-int");
        tensor->size.push_back(dim->int_value);
      }
      ValuePtr value = Value::make(Kind::kExtension);
      value->extension_tag = kTensorTag;
      value->extension = tensor;
      return value;
    };
    handlers.persistent_load = [](const Value &pid) {
      if (pid.kind != Kind::kTuple || pid.items.size() != 5) bad("pid is not a 5-tuple");
      if (pid.items[0]->kind != Kind::kString || pid.items[0]->text != "storage")
        bad("not storage");
      if (pid.items[1]->kind != Kind::kGlobal) bad("no storage class");
      if (pid.items[2]->kind != Kind::kString) bad("key is not a str");
      ValuePtr storage = Value::make(Kind::kExtension);
      storage->extension_tag = kStorageTag;
      storage->extension = std::make_shared<std::string>(pid.items[2]->text);
      return storage;
    };
    std::shared_ptr<std::vector<std::string>> states = build_states;
    handlers.build = [states](Value &object, const Value &state) {
      if (object.kind != Kind::kDict || state.kind != Kind::kDict) bad("unexpected BUILD");
      for (const auto &entry : state.entries) states->push_back(entry.first->text);
    };
  }
};

// A pickle of `depth` lists nested inside each other, built innermost first.
Bytes nested_lists(int depth) {
  Pickle pickle;
  pickle.proto().repeat(Opcode::kEmptyList, depth).repeat(Opcode::kAppend, depth - 1);
  return pickle.stop();
}

// ---------------------------------------------------------------------------------------------
// Pickles CPython and torch wrote

// pickle.dumps(Evil(), protocol=2), where Evil.__reduce__ returns (os.system, ('touch /tmp/x',)).
const Bytes kSystemPosix = {0x80, 0x02, 0x63, 0x70, 0x6f, 0x73, 0x69, 0x78, 0x0a, 0x73, 0x79,
                            0x73, 0x74, 0x65, 0x6d, 0x0a, 0x71, 0x00, 0x58, 0x0c, 0x00, 0x00,
                            0x00, 0x74, 0x6f, 0x75, 0x63, 0x68, 0x20, 0x2f, 0x74, 0x6d, 0x70,
                            0x2f, 0x78, 0x71, 0x01, 0x85, 0x71, 0x02, 0x52, 0x71, 0x03, 0x2e};

// The same payload spelled `os system`, as hand-written exploits name it.
const Bytes kSystemOs = {0x80, 0x02, 0x63, 0x6f, 0x73, 0x0a, 0x73, 0x79, 0x73, 0x74, 0x65,
                         0x6d, 0x0a, 0x71, 0x00, 0x58, 0x0c, 0x00, 0x00, 0x00, 0x74, 0x6f,
                         0x75, 0x63, 0x68, 0x20, 0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x78, 0x71,
                         0x01, 0x85, 0x71, 0x02, 0x52, 0x71, 0x03, 0x2e};

// The same payload with protocol=4: FRAME, then STACK_GLOBAL of `posix` `system`.
const Bytes kSystemP4 = {0x80, 0x04, 0x95, 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                         0x00, 0x8c, 0x05, 0x70, 0x6f, 0x73, 0x69, 0x78, 0x94, 0x8c,
                         0x06, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x94, 0x93, 0x94,
                         0x8c, 0x0c, 0x74, 0x6f, 0x75, 0x63, 0x68, 0x20, 0x2f, 0x74,
                         0x6d, 0x70, 0x2f, 0x78, 0x94, 0x85, 0x94, 0x52, 0x94, 0x2e};

// pickle.dumps(E(), protocol=2), where E.__reduce__ returns (eval, ('1+1',)): `__builtin__ eval`.
const Bytes kEvalP2 = {0x80, 0x02, 0x63, 0x5f, 0x5f, 0x62, 0x75, 0x69, 0x6c, 0x74,
                       0x69, 0x6e, 0x5f, 0x5f, 0x0a, 0x65, 0x76, 0x61, 0x6c, 0x0a,
                       0x71, 0x00, 0x58, 0x03, 0x00, 0x00, 0x00, 0x31, 0x2b, 0x31,
                       0x71, 0x01, 0x85, 0x71, 0x02, 0x52, 0x71, 0x03, 0x2e};

// The same with protocol=3, which names `builtins eval`.
const Bytes kEvalP3 = {0x80, 0x03, 0x63, 0x62, 0x75, 0x69, 0x6c, 0x74, 0x69, 0x6e, 0x73, 0x0a,
                       0x65, 0x76, 0x61, 0x6c, 0x0a, 0x71, 0x00, 0x58, 0x03, 0x00, 0x00, 0x00,
                       0x31, 0x2b, 0x31, 0x71, 0x01, 0x85, 0x71, 0x02, 0x52, 0x71, 0x03, 0x2e};

// pickle.dumps({'a': [1, (2.5, None, True)], 'b': {'c': -70000}, 'd': '\u00e9'}, protocol=2).
const Bytes kNested = {
    0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01, 0x5d, 0x71,
    0x02, 0x28, 0x4b, 0x01, 0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x88, 0x87,
    0x71, 0x03, 0x65, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x71, 0x04, 0x7d, 0x71, 0x05, 0x58, 0x01,
    0x00, 0x00, 0x00, 0x63, 0x71, 0x06, 0x4a, 0x90, 0xee, 0xfe, 0xff, 0x73, 0x58, 0x01, 0x00, 0x00,
    0x00, 0x64, 0x71, 0x07, 0x58, 0x02, 0x00, 0x00, 0x00, 0xc3, 0xa9, 0x71, 0x08, 0x75, 0x2e};

// x = [1, 2]; pickle.dumps([x, x, (x,)], protocol=2).
const Bytes kShared = {0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, 0x5d, 0x71, 0x01, 0x28, 0x4b, 0x01,
                       0x4b, 0x02, 0x65, 0x68, 0x01, 0x68, 0x01, 0x85, 0x71, 0x02, 0x65, 0x2e};

// data.pkl of torch.save(torch.nn.Linear(1, 1).state_dict()) (torch 1.13): an OrderedDict of two
// tensors with _metadata applied by BUILD.
const Bytes kTorchLinear = {
    0x80, 0x02, 0x63, 0x63, 0x6f, 0x6c, 0x6c, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x73, 0x0a, 0x4f,
    0x72, 0x64, 0x65, 0x72, 0x65, 0x64, 0x44, 0x69, 0x63, 0x74, 0x0a, 0x71, 0x00, 0x29, 0x52, 0x71,
    0x01, 0x28, 0x58, 0x06, 0x00, 0x00, 0x00, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x71, 0x02, 0x63,
    0x74, 0x6f, 0x72, 0x63, 0x68, 0x2e, 0x5f, 0x75, 0x74, 0x69, 0x6c, 0x73, 0x0a, 0x5f, 0x72, 0x65,
    0x62, 0x75, 0x69, 0x6c, 0x64, 0x5f, 0x74, 0x65, 0x6e, 0x73, 0x6f, 0x72, 0x5f, 0x76, 0x32, 0x0a,
    0x71, 0x03, 0x28, 0x28, 0x58, 0x07, 0x00, 0x00, 0x00, 0x73, 0x74, 0x6f, 0x72, 0x61, 0x67, 0x65,
    0x71, 0x04, 0x63, 0x74, 0x6f, 0x72, 0x63, 0x68, 0x0a, 0x46, 0x6c, 0x6f, 0x61, 0x74, 0x53, 0x74,
    0x6f, 0x72, 0x61, 0x67, 0x65, 0x0a, 0x71, 0x05, 0x58, 0x01, 0x00, 0x00, 0x00, 0x30, 0x71, 0x06,
    0x58, 0x03, 0x00, 0x00, 0x00, 0x63, 0x70, 0x75, 0x71, 0x07, 0x4b, 0x01, 0x74, 0x71, 0x08, 0x51,
    0x4b, 0x00, 0x4b, 0x01, 0x4b, 0x01, 0x86, 0x71, 0x09, 0x4b, 0x01, 0x4b, 0x01, 0x86, 0x71, 0x0a,
    0x89, 0x68, 0x00, 0x29, 0x52, 0x71, 0x0b, 0x74, 0x71, 0x0c, 0x52, 0x71, 0x0d, 0x58, 0x04, 0x00,
    0x00, 0x00, 0x62, 0x69, 0x61, 0x73, 0x71, 0x0e, 0x68, 0x03, 0x28, 0x28, 0x68, 0x04, 0x68, 0x05,
    0x58, 0x01, 0x00, 0x00, 0x00, 0x31, 0x71, 0x0f, 0x68, 0x07, 0x4b, 0x01, 0x74, 0x71, 0x10, 0x51,
    0x4b, 0x00, 0x4b, 0x01, 0x85, 0x71, 0x11, 0x4b, 0x01, 0x85, 0x71, 0x12, 0x89, 0x68, 0x00, 0x29,
    0x52, 0x71, 0x13, 0x74, 0x71, 0x14, 0x52, 0x71, 0x15, 0x75, 0x7d, 0x71, 0x16, 0x58, 0x09, 0x00,
    0x00, 0x00, 0x5f, 0x6d, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x71, 0x17, 0x68, 0x00, 0x29,
    0x52, 0x71, 0x18, 0x58, 0x00, 0x00, 0x00, 0x00, 0x71, 0x19, 0x7d, 0x71, 0x1a, 0x58, 0x07, 0x00,
    0x00, 0x00, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x71, 0x1b, 0x4b, 0x01, 0x73, 0x73, 0x73,
    0x62, 0x2e};

// x = [1, 2]; pickle.dumps({'a': [1, (2.5, None, True)], 's': '\u00e9t\u00e9', 'b': b'\x00\xff',
// 'ba': bytearray(b'xy'), 'm': x, 'n': x}, protocol=5): FRAME, MEMOIZE, SHORT_BINUNICODE,
// BYTEARRAY8.
const Bytes kPlainP5 = {
    0x80, 0x05, 0x95, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7d, 0x94, 0x28, 0x8c, 0x01,
    0x61, 0x94, 0x5d, 0x94, 0x28, 0x4b, 0x01, 0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x4e, 0x88, 0x87, 0x94, 0x65, 0x8c, 0x01, 0x73, 0x94, 0x8c, 0x05, 0xc3, 0xa9, 0x74, 0xc3, 0xa9,
    0x94, 0x8c, 0x01, 0x62, 0x94, 0x43, 0x02, 0x00, 0xff, 0x94, 0x8c, 0x02, 0x62, 0x61, 0x94, 0x96,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0x79, 0x94, 0x8c, 0x01, 0x6d, 0x94, 0x5d,
    0x94, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x8c, 0x01, 0x6e, 0x94, 0x68, 0x0b, 0x75, 0x2e};

// data.pkl of torch.save(torch.nn.Linear(1, 1).state_dict(), f, pickle_protocol=4) (torch 1.13):
// kTorchLinear again, with FRAME, STACK_GLOBAL and MEMOIZE.
const Bytes kTorchLinearP4 = {
    0x80, 0x04, 0x95, 0xf5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8c, 0x0b, 0x63, 0x6f, 0x6c,
    0x6c, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x73, 0x94, 0x8c, 0x0b, 0x4f, 0x72, 0x64, 0x65, 0x72,
    0x65, 0x64, 0x44, 0x69, 0x63, 0x74, 0x94, 0x93, 0x94, 0x29, 0x52, 0x94, 0x28, 0x8c, 0x06, 0x77,
    0x65, 0x69, 0x67, 0x68, 0x74, 0x94, 0x8c, 0x0c, 0x74, 0x6f, 0x72, 0x63, 0x68, 0x2e, 0x5f, 0x75,
    0x74, 0x69, 0x6c, 0x73, 0x94, 0x8c, 0x12, 0x5f, 0x72, 0x65, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x5f,
    0x74, 0x65, 0x6e, 0x73, 0x6f, 0x72, 0x5f, 0x76, 0x32, 0x94, 0x93, 0x94, 0x28, 0x28, 0x8c, 0x07,
    0x73, 0x74, 0x6f, 0x72, 0x61, 0x67, 0x65, 0x94, 0x8c, 0x05, 0x74, 0x6f, 0x72, 0x63, 0x68, 0x94,
    0x8c, 0x0c, 0x46, 0x6c, 0x6f, 0x61, 0x74, 0x53, 0x74, 0x6f, 0x72, 0x61, 0x67, 0x65, 0x94, 0x93,
    0x94, 0x8c, 0x01, 0x30, 0x94, 0x8c, 0x03, 0x63, 0x70, 0x75, 0x94, 0x4b, 0x01, 0x74, 0x94, 0x51,
    0x4b, 0x00, 0x4b, 0x01, 0x4b, 0x01, 0x86, 0x94, 0x4b, 0x01, 0x4b, 0x01, 0x86, 0x94, 0x89, 0x68,
    0x02, 0x29, 0x52, 0x94, 0x74, 0x94, 0x52, 0x94, 0x8c, 0x04, 0x62, 0x69, 0x61, 0x73, 0x94, 0x68,
    0x07, 0x28, 0x28, 0x68, 0x08, 0x68, 0x0b, 0x8c, 0x01, 0x31, 0x94, 0x68, 0x0d, 0x4b, 0x01, 0x74,
    0x94, 0x51, 0x4b, 0x00, 0x4b, 0x01, 0x85, 0x94, 0x4b, 0x01, 0x85, 0x94, 0x89, 0x68, 0x02, 0x29,
    0x52, 0x94, 0x74, 0x94, 0x52, 0x94, 0x75, 0x7d, 0x94, 0x8c, 0x09, 0x5f, 0x6d, 0x65, 0x74, 0x61,
    0x64, 0x61, 0x74, 0x61, 0x94, 0x68, 0x02, 0x29, 0x52, 0x94, 0x8c, 0x00, 0x94, 0x7d, 0x94, 0x8c,
    0x07, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x94, 0x4b, 0x01, 0x73, 0x73, 0x73, 0x62, 0x2e};

// ---------------------------------------------------------------------------------------------
// What the reader accepts

TEST_CASE("pickle reader reads every scalar opcode") {
  SUBCASE("NONE, NEWTRUE, NEWFALSE") {
    CHECK(read(Pickle().proto().op(Opcode::kNone).stop())->kind == Kind::kNone);
    const ValuePtr yes = read(Pickle().proto().op(Opcode::kNewTrue).stop());
    CHECK(yes->kind == Kind::kBool);
    CHECK(yes->bool_value);
    const ValuePtr no = read(Pickle().proto().op(Opcode::kNewFalse).stop());
    CHECK(no->kind == Kind::kBool);
    CHECK_FALSE(no->bool_value);
  }
  SUBCASE("BININT is signed, BININT1 and BININT2 unsigned") {
    const ValuePtr value = read(Pickle().proto().op(Opcode::kBinInt).le(0xfffffffeu, 4).stop());
    CHECK(value->kind == Kind::kInt);
    CHECK(value->int_value == -2);
    CHECK(read(Pickle().proto().op(Opcode::kBinInt1).byte(0xff).stop())->int_value == 255);
    CHECK(read(Pickle().proto().op(Opcode::kBinInt2).le(0xffff, 2).stop())->int_value == 65535);
  }
  SUBCASE("LONG1 is signed little-endian two's complement") {
    CHECK(read(Pickle().proto().op(Opcode::kLong1).byte(0).stop())->int_value == 0);
    CHECK(read(Pickle().proto().op(Opcode::kLong1).byte(1).byte(0xff).stop())->int_value == -1);
    CHECK(read(Pickle().proto().op(Opcode::kLong1).byte(2).le(0x00ff, 2).stop())->int_value == 255);
    CHECK(read(Pickle().proto().op(Opcode::kLong1).byte(3).le(0x800000, 3).stop())->int_value ==
          -8388608);
    CHECK(read(Pickle().proto().op(Opcode::kLong1).byte(8).le(INT64_MAX, 8).stop())->int_value ==
          INT64_MAX);
    CHECK(read(Pickle().proto().op(Opcode::kLong1).byte(8).le(1ull << 63, 8).stop())->int_value ==
          INT64_MIN);
  }
  SUBCASE("LONG4 of up to 8 bytes") {
    CHECK(read(Pickle().proto().op(Opcode::kLong4).le(2, 4).le(0xff7f, 2).stop())->int_value ==
          -129);
  }
  SUBCASE("BINFLOAT is a big-endian double") {
    const ValuePtr value =
        read(Pickle().proto().op(Opcode::kBinFloat).le(0x0000000000000440ull, 8).stop());
    CHECK(value->kind == Kind::kFloat);
    CHECK(value->float_value == 2.5);
  }
  SUBCASE("BINUNICODE and SHORT_BINUNICODE are UTF-8 strings") {
    const ValuePtr value = read(Pickle().proto().str("h\xc3\xa9llo").stop());
    CHECK(value->kind == Kind::kString);
    CHECK(value->text == "h\xc3\xa9llo");
    const ValuePtr short_value =
        read(Pickle().proto().op(Opcode::kShortBinUnicode).byte(2).raw("ok").stop());
    CHECK(short_value->kind == Kind::kString);
    CHECK(short_value->text == "ok");
    CHECK(read(Pickle().proto().str("").stop())->text.empty());
  }
  SUBCASE("BINSTRING, SHORT_BINSTRING, BINBYTES and SHORT_BINBYTES are bytes") {
    const std::string raw("\x00\xff\x80", 3);
    for (const Bytes &bytes :
         {Pickle().proto().op(Opcode::kBinString).le(3, 4).raw(raw).stop(),
          Pickle().proto().op(Opcode::kShortBinString).byte(3).raw(raw).stop(),
          Pickle().proto(3).op(Opcode::kBinBytes).le(3, 4).raw(raw).stop(),
          Pickle().proto(3).op(Opcode::kShortBinBytes).byte(3).raw(raw).stop()}) {
      const ValuePtr value = read(bytes);
      CHECK(value->kind == Kind::kBytes);
      CHECK(value->text == raw);
    }
    const ValuePtr long_bytes =
        read(Pickle().proto(3).op(Opcode::kBinBytes).le(300, 4).raw(std::string(300, 'z')).stop());
    CHECK(long_bytes->text == std::string(300, 'z'));
  }
  SUBCASE("PROTO 0 to 5, or none at all") {
    for (uint8_t version = 0; version <= 5; ++version) {
      CHECK(read(Pickle().proto(version).small(7).stop())->int_value == 7);
    }
    CHECK(read(Pickle().small(7).stop())->int_value == 7);
  }
}

TEST_CASE("pickle reader builds tuples, lists and dicts") {
  SUBCASE("EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3 and MARK TUPLE") {
    CHECK(read(Pickle().proto().op(Opcode::kEmptyTuple).stop())->items.empty());
    const Opcode sized[] = {Opcode::kTuple1, Opcode::kTuple2, Opcode::kTuple3};
    for (int count = 1; count <= 3; ++count) {
      Pickle pickle;
      pickle.proto();
      for (int i = 0; i < count; ++i) pickle.small(static_cast<uint8_t>(i + 10));
      const ValuePtr tuple = read(pickle.op(sized[count - 1]).stop());
      CHECK(tuple->kind == Kind::kTuple);
      REQUIRE(tuple->items.size() == static_cast<size_t>(count));
      for (int i = 0; i < count; ++i) CHECK(tuple->items[i]->int_value == i + 10);
    }
    const ValuePtr marked = read(Pickle()
                                     .proto()
                                     .op(Opcode::kMark)
                                     .small(1)
                                     .small(2)
                                     .small(3)
                                     .small(4)
                                     .op(Opcode::kTuple)
                                     .stop());
    CHECK(marked->kind == Kind::kTuple);
    CHECK(marked->items.size() == 4);
  }
  SUBCASE("EMPTY_LIST with APPEND and APPENDS, and MARK LIST") {
    const ValuePtr list = read(Pickle()
                                   .proto()
                                   .op(Opcode::kEmptyList)
                                   .small(1)
                                   .op(Opcode::kAppend)
                                   .op(Opcode::kMark)
                                   .small(2)
                                   .small(3)
                                   .op(Opcode::kAppends)
                                   .op(Opcode::kMark)
                                   .op(Opcode::kAppends)
                                   .stop());
    CHECK(list->kind == Kind::kList);
    REQUIRE(list->items.size() == 3);
    CHECK(list->items[2]->int_value == 3);
    const ValuePtr marked =
        read(Pickle().proto().op(Opcode::kMark).small(5).small(6).op(Opcode::kList).stop());
    CHECK(marked->kind == Kind::kList);
    CHECK(marked->items.size() == 2);
  }
  SUBCASE("EMPTY_DICT with SETITEM and SETITEMS, and MARK DICT, in insertion order") {
    const ValuePtr dict = read(Pickle()
                                   .proto()
                                   .op(Opcode::kEmptyDict)
                                   .str("z")
                                   .small(1)
                                   .op(Opcode::kSetItem)
                                   .op(Opcode::kMark)
                                   .str("a")
                                   .small(2)
                                   .str("m")
                                   .small(3)
                                   .op(Opcode::kSetItems)
                                   .stop());
    CHECK(dict->kind == Kind::kDict);
    REQUIRE(dict->entries.size() == 3);
    CHECK(dict->entries[0].first->text == "z");
    CHECK(dict->entries[1].first->text == "a");
    CHECK(dict->entries[2].first->text == "m");
    CHECK(dict->entries[2].second->int_value == 3);
    const ValuePtr marked = read(
        Pickle().proto().op(Opcode::kMark).str("k").op(Opcode::kNone).op(Opcode::kDict).stop());
    CHECK(marked->kind == Kind::kDict);
    REQUIRE(marked->entries.size() == 1);
    CHECK(marked->entries[0].second->kind == Kind::kNone);
  }
  SUBCASE("keys of every hashable kind, 1 and '1' being different keys") {
    const ValuePtr dict = read(Pickle()
                                   .proto()
                                   .op(Opcode::kMark)
                                   .op(Opcode::kNone)
                                   .small(0)
                                   .op(Opcode::kNewTrue)
                                   .small(1)
                                   .small(2)
                                   .small(2)
                                   .op(Opcode::kBinFloat)
                                   .le(0x000000000000e03full, 8)
                                   .small(3)
                                   .str("1")
                                   .small(4)
                                   .op(Opcode::kShortBinString)
                                   .byte(1)
                                   .raw("1")
                                   .small(5)
                                   .small(7)
                                   .str("t")
                                   .op(Opcode::kTuple2)
                                   .small(6)
                                   .op(Opcode::kDict)
                                   .stop());
    CHECK(dict->entries.size() == 7);
  }
}

TEST_CASE("pickle reader reads nested containers Python wrote") {
  const Bytes &bytes = kNested;
  const ValuePtr dict = read(bytes);
  REQUIRE(dict->kind == Kind::kDict);
  REQUIRE(dict->entries.size() == 3);
  CHECK(dict->entries[0].first->text == "a");
  const Value &list = *dict->entries[0].second;
  REQUIRE(list.kind == Kind::kList);
  REQUIRE(list.items.size() == 2);
  CHECK(list.items[0]->int_value == 1);
  const Value &tuple = *list.items[1];
  REQUIRE(tuple.kind == Kind::kTuple);
  REQUIRE(tuple.items.size() == 3);
  CHECK(tuple.items[0]->float_value == 2.5);
  CHECK(tuple.items[1]->kind == Kind::kNone);
  CHECK(tuple.items[2]->bool_value);
  const Value &inner = *dict->entries[1].second;
  REQUIRE(inner.kind == Kind::kDict);
  CHECK(inner.entries[0].first->text == "c");
  CHECK(inner.entries[0].second->int_value == -70000);
  CHECK(dict->entries[2].second->text == "\xc3\xa9");
}

TEST_CASE("pickle reader handles POP, POP_MARK and DUP") {
  SUBCASE("POP discards the top value") {
    CHECK(read(Pickle().proto().small(1).small(2).op(Opcode::kPop).stop())->int_value == 1);
  }
  SUBCASE("POP on an empty frame discards its MARK, as CPython does") {
    CHECK(read(Pickle().proto().small(1).op(Opcode::kMark).op(Opcode::kPop).stop())->int_value ==
          1);
  }
  SUBCASE("POP_MARK discards everything back to the MARK") {
    CHECK(read(Pickle()
                   .proto()
                   .small(1)
                   .op(Opcode::kMark)
                   .small(2)
                   .small(3)
                   .op(Opcode::kPopMark)
                   .stop())
              ->int_value == 1);
  }
  SUBCASE("DUP pushes the same value again") {
    const ValuePtr tuple =
        read(Pickle().proto().op(Opcode::kEmptyList).op(Opcode::kDup).op(Opcode::kTuple2).stop());
    REQUIRE(tuple->items.size() == 2);
    CHECK(tuple->items[0].get() == tuple->items[1].get());
  }
}

TEST_CASE("pickle reader keeps memo entries as shared references") {
  SUBCASE("the same list three times, as Python wrote it") {
    const ValuePtr outer = read(kShared);
    REQUIRE(outer->kind == Kind::kList);
    REQUIRE(outer->items.size() == 3);
    const Value *x = outer->items[0].get();
    CHECK(x->kind == Kind::kList);
    CHECK(x->items.size() == 2);
    CHECK(outer->items[1].get() == x);
    REQUIRE(outer->items[2]->kind == Kind::kTuple);
    CHECK(outer->items[2]->items[0].get() == x);
  }
  SUBCASE("LONG_BINPUT and LONG_BINGET") {
    const ValuePtr tuple = read(Pickle()
                                    .proto()
                                    .str("shared")
                                    .op(Opcode::kLongBinPut)
                                    .le(70000, 4)
                                    .op(Opcode::kLongBinGet)
                                    .le(70000, 4)
                                    .op(Opcode::kTuple2)
                                    .stop());
    REQUIRE(tuple->items.size() == 2);
    CHECK(tuple->items[0].get() == tuple->items[1].get());
    CHECK(tuple->items[1]->text == "shared");
  }
  SUBCASE("BINPUT replaces an earlier entry under the same index") {
    const ValuePtr value = read(Pickle()
                                    .proto()
                                    .small(1)
                                    .put(0)
                                    .small(2)
                                    .put(0)
                                    .op(Opcode::kTuple2)
                                    .get(0)
                                    .op(Opcode::kTuple2)
                                    .stop());
    CHECK(value->items[1]->int_value == 2);
  }
}

TEST_CASE("pickle reader builds an OrderedDict through REDUCE and SETITEMS") {
  RecordingHandlers recording;
  const ValuePtr dict = read(Pickle()
                                 .proto()
                                 .global("collections", "OrderedDict")
                                 .put(0)
                                 .op(Opcode::kEmptyTuple)
                                 .op(Opcode::kReduce)
                                 .put(1)
                                 .op(Opcode::kMark)
                                 .str("b")
                                 .small(1)
                                 .str("a")
                                 .small(2)
                                 .op(Opcode::kSetItems)
                                 .stop(),
                             recording.handlers);
  REQUIRE(dict->kind == Kind::kDict);
  REQUIRE(dict->entries.size() == 2);
  CHECK(dict->entries[0].first->text == "b");
  CHECK(dict->entries[1].first->text == "a");
}

TEST_CASE("pickle reader hands REDUCE and NEWOBJ an allowed global and a tuple") {
  Handlers handlers;
  handlers.allowed_globals = {{"mod", "Thing"}};
  auto seen = std::make_shared<std::vector<std::string>>();
  handlers.reduce = [seen](const Value &callable, const Value &args) {
    CHECK(callable.kind == Kind::kGlobal);
    CHECK(args.kind == Kind::kTuple);
    seen->push_back(callable.module + "|" + callable.name + "|" + callable.text + "|" +
                    std::to_string(args.items.size()));
    return make_int(42);
  };
  SUBCASE("REDUCE") {
    const ValuePtr value = read(Pickle()
                                    .proto()
                                    .global("mod", "Thing")
                                    .small(1)
                                    .small(2)
                                    .op(Opcode::kTuple2)
                                    .op(Opcode::kReduce)
                                    .stop(),
                                handlers);
    CHECK(value->int_value == 42);
  }
  SUBCASE("NEWOBJ") {
    const ValuePtr value = read(Pickle()
                                    .proto()
                                    .global("mod", "Thing")
                                    .small(1)
                                    .small(2)
                                    .op(Opcode::kTuple2)
                                    .op(Opcode::kNewObj)
                                    .stop(),
                                handlers);
    CHECK(value->int_value == 42);
  }
  REQUIRE(seen->size() == 1);
  CHECK(seen->front() == "mod|Thing|mod.Thing|2");
}

TEST_CASE("pickle reader hands persistent ids to persistent_load") {
  Handlers handlers;
  auto pids = std::make_shared<std::vector<std::string>>();
  handlers.persistent_load = [pids](const Value &pid) {
    pids->push_back(describe(pid));
    ValuePtr storage = Value::make(Kind::kExtension);
    storage->extension_tag = 7;
    return storage;
  };
  const ValuePtr list = read(Pickle()
                                 .proto()
                                 .op(Opcode::kEmptyList)
                                 .str("key0")
                                 .op(Opcode::kBinPersId)
                                 .op(Opcode::kAppend)
                                 .str("key1")
                                 .small(3)
                                 .op(Opcode::kTuple2)
                                 .op(Opcode::kBinPersId)
                                 .op(Opcode::kAppend)
                                 .stop(),
                             handlers);
  REQUIRE(list->items.size() == 2);
  CHECK(list->items[0]->kind == Kind::kExtension);
  CHECK(list->items[0]->extension_tag == 7);
  REQUIRE(pids->size() == 2);
  CHECK((*pids)[0] == "str \"key0\"");
  CHECK((*pids)[1] == "tuple of 2 items");
}

TEST_CASE("pickle reader hands BUILD to the build handler") {
  RecordingHandlers recording;
  const ValuePtr thing = read(Pickle()
                                  .proto()
                                  .global("mod", "Thing")
                                  .op(Opcode::kEmptyTuple)
                                  .op(Opcode::kReduce)
                                  .op(Opcode::kEmptyDict)
                                  .op(Opcode::kBuild)
                                  .stop(),
                              recording.handlers);
  CHECK(thing->kind == Kind::kExtension);
  CHECK(*recording.builds == 1);
}

TEST_CASE("pickle reader reads protocol 4 and 5 opcodes") {
  SUBCASE("FRAME is only checked: empty, covering the rest, or several") {
    CHECK(read(Pickle().proto(4).frame(0).small(7).stop())->int_value == 7);
    CHECK(read(Pickle().proto(4).frame(3).small(7).stop())->int_value == 7);
    CHECK(read(Pickle().proto(5).frame(2).small(7).frame(1).stop())->int_value == 7);
  }
  SUBCASE("BINUNICODE8 is a UTF-8 string") {
    const ValuePtr value =
        read(Pickle().proto(4).op(Opcode::kBinUnicode8).le(3, 8).raw("\xc3\xa9!").stop());
    CHECK(value->kind == Kind::kString);
    CHECK(value->text == "\xc3\xa9!");
    CHECK(read(Pickle().proto(4).op(Opcode::kBinUnicode8).le(0, 8).stop())->text.empty());
  }
  SUBCASE("BINBYTES8 and BYTEARRAY8 are bytes") {
    const std::string raw("\x00\xff\x80", 3);
    for (const Opcode code : {Opcode::kBinBytes8, Opcode::kByteArray8}) {
      const ValuePtr value = read(Pickle().proto(5).op(code).le(3, 8).raw(raw).stop());
      CHECK(value->kind == Kind::kBytes);
      CHECK(value->text == raw);
    }
  }
  SUBCASE("MEMOIZE stores at the next index, as CPython does") {
    const ValuePtr tuple = read(Pickle()
                                    .proto(4)
                                    .small(1)
                                    .op(Opcode::kMemoize)
                                    .short_str("two")
                                    .op(Opcode::kMemoize)
                                    .get(0)
                                    .get(1)
                                    .op(Opcode::kTuple2)
                                    .op(Opcode::kTuple3)
                                    .stop());
    REQUIRE(tuple->items.size() == 3);
    CHECK(tuple->items[1]->text == "two");
    REQUIRE(tuple->items[2]->items.size() == 2);
    CHECK(tuple->items[2]->items[0].get() == tuple->items[0].get());
    CHECK(tuple->items[2]->items[1].get() == tuple->items[1].get());
    // After BINPUT 5 the memo holds one entry, so MEMOIZE stores at index 1.
    const ValuePtr after_put =
        read(Pickle().proto(4).small(9).put(5).op(Opcode::kMemoize).op(Opcode::kPop).get(1).stop());
    CHECK(after_put->int_value == 9);
  }
  SUBCASE("STACK_GLOBAL of an allowed name, with its strings kept in the memo") {
    RecordingHandlers recording;
    const ValuePtr tuple = read(Pickle()
                                    .proto(4)
                                    .short_str("mod")
                                    .op(Opcode::kMemoize)
                                    .short_str("Thing")
                                    .op(Opcode::kMemoize)
                                    .op(Opcode::kStackGlobal)
                                    .op(Opcode::kEmptyTuple)
                                    .op(Opcode::kReduce)
                                    .get(0)
                                    .get(1)
                                    .op(Opcode::kTuple3)
                                    .stop(),
                                recording.handlers);
    REQUIRE(tuple->items.size() == 3);
    REQUIRE(tuple->items[0]->kind == Kind::kExtension);
    CHECK(*std::static_pointer_cast<std::string>(tuple->items[0]->extension) == "mod.Thing");
    CHECK(tuple->items[1]->text == "mod");
    CHECK(tuple->items[2]->text == "Thing");
  }
  SUBCASE("STACK_GLOBAL makes the same global GLOBAL does") {
    RecordingHandlers recording;
    const ValuePtr global = read(
        Pickle().proto(4).stack_global("collections", "OrderedDict").stop(), recording.handlers);
    CHECK(global->kind == Kind::kGlobal);
    CHECK(global->module == "collections");
    CHECK(global->name == "OrderedDict");
    CHECK(global->text == "collections.OrderedDict");
  }
  SUBCASE("a protocol-5 pickle CPython wrote") {
    const ValuePtr dict = read(kPlainP5);
    REQUIRE(dict->kind == Kind::kDict);
    REQUIRE(dict->entries.size() == 6);
    const char *keys[] = {"a", "s", "b", "ba", "m", "n"};
    for (size_t i = 0; i < 6; ++i) CHECK(dict->entries[i].first->text == keys[i]);
    const Value &a = *dict->entries[0].second;
    REQUIRE(a.items.size() == 2);
    CHECK(a.items[1]->items[0]->float_value == 2.5);
    CHECK(dict->entries[1].second->text == "\xc3\xa9t\xc3\xa9");
    CHECK(dict->entries[2].second->text == std::string("\x00\xff", 2));
    CHECK(dict->entries[3].second->kind == Kind::kBytes);
    CHECK(dict->entries[3].second->text == "xy");
    CHECK(dict->entries[4].second.get() == dict->entries[5].second.get());
  }
}

// The two tensors of nn.Linear(1, 1)'s state dict, as TorchHandlers build them.
void check_linear_state_dict(const ValuePtr &state_dict) {
  REQUIRE(state_dict->kind == Kind::kDict);
  REQUIRE(state_dict->entries.size() == 2);
  const char *names[] = {"weight", "bias"};
  const char *keys[] = {"0", "1"};
  const std::vector<int64_t> sizes[] = {{1, 1}, {1}};
  for (size_t i = 0; i < 2; ++i) {
    CHECK(state_dict->entries[i].first->text == names[i]);
    const Value &tensor = *state_dict->entries[i].second;
    REQUIRE(tensor.kind == Kind::kExtension);
    REQUIRE(tensor.extension_tag == kTensorTag);
    const auto payload = std::static_pointer_cast<TestTensor>(tensor.extension);
    CHECK(payload->storage_key == keys[i]);
    CHECK(payload->offset == 0);
    CHECK(payload->size == sizes[i]);
  }
}

TEST_CASE("pickle reader reads a torch.save state dict, in protocol 2 and 4") {
  for (const Bytes *pickle : {&kTorchLinear, &kTorchLinearP4}) {
    CAPTURE((*pickle)[1]);
    TorchHandlers torch;
    check_linear_state_dict(read(*pickle, torch.handlers));
    CHECK(*torch.build_states == std::vector<std::string>{"_metadata"});
  }
}

TEST_CASE("pickle reader returns the offset just past STOP") {
  Bytes bytes = Pickle().proto().small(1).stop();
  const size_t first = bytes.size();
  const Bytes second = Pickle().proto().str("two").stop();
  bytes.insert(bytes.end(), second.begin(), second.end());
  bytes.push_back(0xff);  // not a pickle: must not be read
  const auto [one, end_one] = read_pickle(bytes.data(), bytes.size(), {});
  CHECK(one->int_value == 1);
  CHECK(end_one == first);
  const auto [two, end_two] = read_pickle(bytes.data() + end_one, bytes.size() - end_one, {});
  CHECK(two->text == "two");
  CHECK(end_two == second.size());
}

TEST_CASE("pickle describe and kind_name name values for messages") {
  CHECK(std::string(kind_name(Kind::kExtension)) == "extension");
  CHECK(describe(*make_int(-3)) == "int -3");
  ValuePtr text = Value::make(Kind::kString);
  text->text = "a\"b\n";
  CHECK(describe(*text) == "str \"a\\\"b\\u000A\"");
  ValuePtr dict = Value::make(Kind::kDict);
  dict->entries.emplace_back(text, text);
  CHECK(describe(*dict) == "dict of 1 entry");
  ValuePtr global = Value::make(Kind::kGlobal);
  global->module = "torch";
  global->name = "FloatStorage";
  CHECK(describe(*global) == "global \"torch.FloatStorage\"");
}

// ---------------------------------------------------------------------------------------------
// What the reader refuses

// One refused pickle: what it tries, its bytes, the handlers and limits it is read with, and the
// message it must get (the whole message, or a part of it where the rest adds nothing).
enum class Match { kWhole, kPart };

struct Refusal {
  std::string description;  // unique: it names the SUBCASE
  Bytes pickle;
  std::string expected;
  Match match;
  Handlers handlers = {};
  Limits limits = {};
};

// The bytes of several pickle fragments one after another.
Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes stop_byte() {
  return {static_cast<uint8_t>(Opcode::kStop)};
}

// A dict given the same key twice through SETITEMS (each key's value None).
Bytes dict_with_keys(const Pickle &first, const Pickle &second) {
  Bytes bytes = Pickle().proto().op(Opcode::kEmptyDict).op(Opcode::kMark).bytes();
  for (const Pickle *key : {&first, &second}) {
    bytes = concat({bytes, key->bytes(), {static_cast<uint8_t>(Opcode::kNone)}});
  }
  return concat({bytes, {static_cast<uint8_t>(Opcode::kSetItems)}, stop_byte()});
}

// The global mod.Thing called with no arguments: an object the recording handlers made.
Pickle thing() {
  return Pickle().proto().global("mod", "Thing").op(Opcode::kEmptyTuple).op(Opcode::kReduce);
}

// Every pickle the reader must refuse, grouped by what it tries.
std::vector<Refusal> refusals() {
  const Handlers torch = TorchHandlers().handlers;  // a realistic allowlist, every handler set
  const Handlers recording = RecordingHandlers().handlers;
  std::vector<Refusal> table;
  const auto add = [&table](Refusal refusal) { table.push_back(std::move(refusal)); };

  // GLOBAL outside the allowlist.
  add({"GLOBAL os.system through posix, as CPython writes it", kSystemPosix,
       "offset 2: GLOBAL posix.system: this file tries to run posix.system when loaded; refused",
       Match::kWhole, torch});
  add({"GLOBAL os.system through os", kSystemOs,
       "offset 2: GLOBAL os.system: this file tries to run os.system when loaded; refused",
       Match::kWhole, torch});
  add({"GLOBAL eval through __builtin__ (protocol 2)", kEvalP2,
       "offset 2: GLOBAL __builtin__.eval: this file tries to run __builtin__.eval when loaded; "
       "refused",
       Match::kWhole, torch});
  add({"GLOBAL eval through builtins (protocol 3)", kEvalP3,
       "offset 2: GLOBAL builtins.eval: this file tries to run builtins.eval when loaded; refused",
       Match::kWhole, torch});
  const std::pair<std::string, std::string> near_misses[] = {
      {"collections ", "OrderedDict"},        {"collections", "ordereddict"},
      {"collections.OrderedDict", ""},        {"", "collections.OrderedDict"},
      {"torch", "_utils._rebuild_tensor_v2"}, {"torch._utils", "_rebuild_tensor_v2\r"}};
  for (size_t i = 0; i < std::size(near_misses); ++i) {
    const auto &[module, name] = near_misses[i];
    add({"GLOBAL near miss " + std::to_string(i) + " of an allowed name",
         Pickle().proto().global(module, name).stop(), "offset 2: GLOBAL ", Match::kPart, torch});
  }
  add({"GLOBAL names with control characters are quoted in the message",
       Pickle().proto().global("os", "sys\x1btem").stop(),
       "offset 2: GLOBAL \"os.sys\\u001Btem\": this file tries to run \"os.sys\\u001Btem\" when "
       "loaded; refused",
       Match::kWhole, torch});
  add({"GLOBAL with no allowlist at all",
       Pickle().proto().global("collections", "OrderedDict").stop(),
       "offset 2: GLOBAL collections.OrderedDict is not allowed", Match::kWhole});

  // Opcodes outside the supported set.
  add({"INST, which calls a class",
       Pickle().proto().op(Opcode::kMark).op(Opcode::kInst).raw("os\nsystem\n").stop(),
       "offset 3: opcode INST (0x69) is not allowed", Match::kWhole});
  add({"OBJ, which calls a class",
       Pickle().proto().op(Opcode::kMark).global("mod", "Thing").op(Opcode::kObj).stop(),
       "offset 14: opcode OBJ (0x6f) is not allowed", Match::kWhole, recording});
  // The extension registry, sets and NEWOBJ_EX: no state dict needs them.
  const std::pair<Opcode, const char *> protocol_4[] = {
      {Opcode::kExt1, "EXT1 (0x82)"},           {Opcode::kExt2, "EXT2 (0x83)"},
      {Opcode::kExt4, "EXT4 (0x84)"},           {Opcode::kNewObjEx, "NEWOBJ_EX (0x92)"},
      {Opcode::kEmptySet, "EMPTY_SET (0x8f)"},  {Opcode::kAddItems, "ADDITEMS (0x90)"},
      {Opcode::kFrozenSet, "FROZENSET (0x91)"},
  };
  for (const auto &[code, name] : protocol_4) {
    add({std::string("protocol 4 opcode ") + name,
         Pickle().proto(4).small(1).op(code).le(1, 8).stop(),
         std::string("offset 4: opcode ") + name + " is not allowed", Match::kWhole});
  }
  // Protocol 5's out-of-band buffers live outside the pickle: a file cannot supply them.
  for (const auto &[code, name] :
       {std::pair<Opcode, const char *>{Opcode::kNextBuffer, "NEXT_BUFFER (0x97)"},
        std::pair<Opcode, const char *>{Opcode::kReadonlyBuffer, "READONLY_BUFFER (0x98)"}}) {
    add({std::string("protocol 5 opcode ") + name, Pickle().proto(5).small(1).op(code).stop(),
         std::string("offset 4: opcode ") + name +
             " is not allowed: protocol 5 out-of-band buffers are not supported",
         Match::kWhole});
  }
  add({"NEXT_BUFFER inside a frame, as pickle.dumps(buffer_callback=...) writes it",
       Pickle().proto(5).frame(3).op(Opcode::kNextBuffer).op(Opcode::kReadonlyBuffer).stop(),
       "offset 11: opcode NEXT_BUFFER (0x97) is not allowed: protocol 5 out-of-band buffers are "
       "not supported",
       Match::kWhole});
  for (const Opcode code : {Opcode::kInt, Opcode::kLong, Opcode::kFloat, Opcode::kString,
                            Opcode::kUnicode, Opcode::kPut, Opcode::kGet, Opcode::kPersId}) {
    add({std::string("text-protocol opcode ") + opcode_name(static_cast<uint8_t>(code)),
         Pickle().small(1).op(code).raw("1\n").stop(),
         "is not allowed: text-protocol opcodes are not supported", Match::kPart});
  }
  add({"text-protocol PUT, message in full", Pickle().small(1).op(Opcode::kPut).raw("0\n").stop(),
       "offset 2: opcode PUT (0x70) is not allowed: text-protocol opcodes are not supported",
       Match::kWhole});
  add({"unknown opcode byte 0xff", Pickle().proto().byte(0xff).stop(),
       "offset 2: unknown opcode 0xff", Match::kWhole});
  add({"unknown opcode byte 0x00", Pickle().proto().byte(0x00).stop(),
       "offset 2: unknown opcode 0x00", Match::kWhole});
  for (const uint8_t version : {uint8_t{6}, uint8_t{255}}) {
    add({"PROTO " + std::to_string(version), Pickle().proto(version).op(Opcode::kNone).stop(),
         "offset 0: PROTO " + std::to_string(version) + " is not supported (protocols 0-5 only)",
         Match::kWhole});
  }

  // SETITEM(S), APPEND(S) on the wrong kind of target.
  add({"SETITEM on a list",
       Pickle().proto().op(Opcode::kEmptyList).str("k").small(1).op(Opcode::kSetItem).stop(),
       "offset 11: SETITEM target is a list, not a dict", Match::kWhole});
  add({"SETITEM on a tuple",
       Pickle().proto().op(Opcode::kEmptyTuple).str("k").small(1).op(Opcode::kSetItem).stop(),
       "SETITEM target is a tuple, not a dict", Match::kPart});
  add({"SETITEM on a REDUCE result that is not a dict",
       thing().str("k").small(1).op(Opcode::kSetItem).stop(),
       "SETITEM target is an extension, not a dict", Match::kPart, recording});
  add({"SETITEM on None",
       Pickle().proto().op(Opcode::kNone).str("k").small(1).op(Opcode::kSetItem).stop(),
       "SETITEM target is None, not a dict", Match::kPart});
  add({"SETITEM on a string",
       Pickle().proto().str("s").str("k").small(1).op(Opcode::kSetItem).stop(),
       "SETITEM target is a str, not a dict", Match::kPart});
  add({"SETITEMS on a list",
       Pickle()
           .proto()
           .op(Opcode::kEmptyList)
           .op(Opcode::kMark)
           .str("k")
           .small(1)
           .op(Opcode::kSetItems)
           .stop(),
       "SETITEMS target is a list, not a dict", Match::kPart});
  add({"APPEND on a dict",
       Pickle().proto().op(Opcode::kEmptyDict).small(1).op(Opcode::kAppend).stop(),
       "offset 5: APPEND target is a dict, not a list", Match::kWhole});
  add({"APPEND on a tuple",
       Pickle().proto().op(Opcode::kEmptyTuple).small(1).op(Opcode::kAppend).stop(),
       "APPEND target is a tuple, not a list", Match::kPart});
  add({"APPENDS on a dict",
       Pickle()
           .proto()
           .op(Opcode::kEmptyDict)
           .op(Opcode::kMark)
           .small(1)
           .op(Opcode::kAppends)
           .stop(),
       "APPENDS target is a dict, not a list", Match::kPart});

  // Unhashable dict keys.
  Handlers any_key;
  any_key.persistent_load = [](const Value &) { return Value::make(Kind::kExtension); };
  any_key.allowed_globals = {{"mod", "Thing"}};
  const std::tuple<const char *, Pickle, const char *> unhashable[] = {
      {"a list", Pickle().op(Opcode::kEmptyList), "dict key is a list"},
      {"a dict", Pickle().op(Opcode::kEmptyDict), "dict key is a dict"},
      {"a persistent id", Pickle().str("pid").op(Opcode::kBinPersId), "dict key is an extension"},
      {"a global", Pickle().global("mod", "Thing"), "dict key is a global"},
      {"a tuple holding a list", Pickle().small(1).op(Opcode::kEmptyList).op(Opcode::kTuple2),
       "dict key is a list"},
  };
  for (const auto &[what, key, expected] : unhashable) {
    add({std::string("SETITEM with a key that is ") + what,
         concat({Pickle().proto().op(Opcode::kEmptyDict).bytes(), key.bytes(),
                 Pickle().op(Opcode::kNone).op(Opcode::kSetItem).stop()}),
         expected, Match::kPart, any_key});
  }
  add({"DICT with a key that is a list",
       Pickle().proto().op(Opcode::kMark).op(Opcode::kEmptyList).small(1).op(Opcode::kDict).stop(),
       "offset 6: dict key is a list", Match::kPart});

  // A key twice in one dict.
  const Pickle one_float = Pickle().op(Opcode::kBinFloat).le(0x000000000000f03full, 8);
  const Pickle pair = Pickle().str("a").small(1).op(Opcode::kTuple2);
  add({"duplicate key: the same string", dict_with_keys(Pickle().str("w"), Pickle().str("w")),
       "offset 18: duplicate dict key str \"w\"", Match::kWhole});
  add({"duplicate key: 1 and 1.0", dict_with_keys(Pickle().small(1), one_float),
       "duplicate dict key float 1", Match::kPart});
  add({"duplicate key: True and 1",
       dict_with_keys(Pickle().op(Opcode::kNewTrue), Pickle().small(1)), "duplicate dict key int 1",
       Match::kPart});
  add({"duplicate key: LONG1 0 and False",
       dict_with_keys(Pickle().op(Opcode::kLong1).byte(0), Pickle().op(Opcode::kNewFalse)),
       "duplicate dict key False", Match::kPart});
  add({"duplicate key: equal tuples", dict_with_keys(pair, pair),
       "duplicate dict key tuple of 2 items", Match::kPart});
  add({"duplicate key: None",
       dict_with_keys(Pickle().op(Opcode::kNone), Pickle().op(Opcode::kNone)),
       "duplicate dict key None", Match::kPart});
  add({"duplicate key: the same memo entry twice, through DICT",
       Pickle()
           .proto()
           .op(Opcode::kMark)
           .str("k")
           .put(0)
           .small(1)
           .get(0)
           .small(2)
           .op(Opcode::kDict)
           .stop(),
       "duplicate dict key str \"k\"", Match::kPart});
  Handlers prefilled;
  prefilled.allowed_globals = {{"collections", "OrderedDict"}};
  prefilled.reduce = [](const Value &, const Value &) {
    ValuePtr dict = Value::make(Kind::kDict);
    ValuePtr key = Value::make(Kind::kString);
    key->text = "w";
    dict->entries.emplace_back(key, Value::make(Kind::kNone));
    return dict;
  };
  add({"duplicate key: a key already in a dict a handler made",
       Pickle()
           .proto()
           .global("collections", "OrderedDict")
           .op(Opcode::kEmptyTuple)
           .op(Opcode::kReduce)
           .str("w")
           .small(1)
           .op(Opcode::kSetItem)
           .stop(),
       "duplicate dict key str \"w\"", Match::kPart, prefilled});

  // Bad memo references.
  add({"BINGET of an index never stored", Pickle().proto().small(1).put(0).get(1).stop(),
       "offset 6: BINGET 1 refers to a memo entry that was never stored", Match::kWhole});
  add({"LONG_BINGET of an index never stored",
       Pickle().proto().op(Opcode::kLongBinGet).le(0xffffffffu, 4).stop(),
       "LONG_BINGET 4294967295 refers to a memo entry that was never stored", Match::kPart});
  add({"BINPUT with nothing to store", Pickle().proto().put(0).small(1).stop(),
       "offset 2: stack underflow: BINPUT needs 1 value and finds 0", Match::kWhole});
  add({"BINPUT with nothing above the last MARK",
       Pickle().proto().small(1).op(Opcode::kMark).put(0).stop(),
       "BINPUT needs 1 value and finds 0 above the last MARK", Match::kPart});

  // Stack underflow.
  const std::pair<Pickle, const char *> underflows[] = {
      {Pickle().op(Opcode::kAppend), "APPEND needs 2 values and finds 0"},
      {Pickle().op(Opcode::kEmptyList).op(Opcode::kAppend), "APPEND needs 2 values and finds 1"},
      {Pickle().op(Opcode::kEmptyDict).small(1).op(Opcode::kSetItem), "SETITEM needs 3 values"},
      {Pickle().small(1).op(Opcode::kTuple2), "TUPLE2 needs 2 values"},
      {Pickle().op(Opcode::kTuple3), "TUPLE3 needs 3 values"},
      {Pickle().op(Opcode::kTuple1), "TUPLE1 needs 1 value and finds 0"},
      {Pickle().op(Opcode::kEmptyTuple).op(Opcode::kReduce), "REDUCE needs 2 values"},
      {Pickle().op(Opcode::kEmptyTuple).op(Opcode::kNewObj), "NEWOBJ needs 2 values"},
      {Pickle().op(Opcode::kEmptyDict).op(Opcode::kBuild), "BUILD needs 2 values"},
      {Pickle().op(Opcode::kBinPersId), "BINPERSID needs 1 value"},
      {Pickle().op(Opcode::kPop), "POP needs 1 value"},
      {Pickle().op(Opcode::kDup), "DUP needs 1 value"},
      {Pickle().op(Opcode::kMark).op(Opcode::kAppends), "APPENDS needs 1 value and finds 0"},
      {Pickle().op(Opcode::kMark).op(Opcode::kSetItems), "SETITEMS needs 1 value"},
      {Pickle().op(Opcode::kEmptyList).op(Opcode::kMark).small(1).op(Opcode::kAppend),
       "APPEND needs 2 values and finds 1 above the last MARK"},
  };
  for (const auto &[body, expected] : underflows) {
    add({std::string("stack underflow: ") + expected,
         concat({Pickle().proto().bytes(), body.stop()}),
         std::string("stack underflow: ") + expected, Match::kPart, recording});
  }
  add({"STOP with an empty stack", Pickle().proto().stop(),
       "offset 2: STOP with 0 values on the stack (expected 1)", Match::kWhole});

  // MARK misuse and leftover values.
  for (const Opcode code : {Opcode::kTuple, Opcode::kList, Opcode::kDict, Opcode::kAppends,
                            Opcode::kSetItems, Opcode::kPopMark}) {
    const std::string name = opcode_name(static_cast<uint8_t>(code));
    add({name + " without a MARK", Pickle().proto().op(Opcode::kEmptyList).small(1).op(code).stop(),
         "offset 5: " + name + " without a MARK", Match::kWhole});
  }
  add({"SETITEMS with an odd number of values",
       Pickle()
           .proto()
           .op(Opcode::kEmptyDict)
           .op(Opcode::kMark)
           .str("a")
           .small(1)
           .str("b")
           .op(Opcode::kSetItems)
           .stop(),
       "offset 18: SETITEMS with an odd number of values (3)", Match::kWhole});
  add({"DICT with an odd number of values",
       Pickle().proto().op(Opcode::kMark).small(1).op(Opcode::kDict).stop(),
       "DICT with an odd number of values (1)", Match::kPart});
  add({"STOP inside a MARK", Pickle().proto().small(1).op(Opcode::kMark).stop(),
       "offset 5: STOP inside an unclosed MARK", Match::kWhole});
  add({"STOP with two values", Pickle().proto().small(1).small(2).stop(),
       "offset 6: STOP with 2 values on the stack (expected 1)", Match::kWhole});

  // Truncation (every cut of a valid pickle: its own test case below).
  add({"no bytes at all",
       {},
       "offset 0: truncated pickle: the data ends before STOP",
       Match::kWhole});
  add({"a BINUNICODE cut short",
       Pickle().proto().op(Opcode::kBinUnicode).le(5, 4).raw("abc").bytes(),
       "offset 2: truncated pickle: BINUNICODE runs past the end of the data (3 bytes left)",
       Match::kWhole});
  add({"a GLOBAL cut short", Pickle().proto().raw("cos\nsys").bytes(),
       "offset 2: truncated pickle: GLOBAL runs past the end of the data (3 bytes left)",
       Match::kWhole});

  // REDUCE and NEWOBJ that cannot go to a handler, and handlers that fail.
  add({"REDUCE of a callable that is not a global",
       Pickle().proto().op(Opcode::kEmptyList).op(Opcode::kEmptyTuple).op(Opcode::kReduce).stop(),
       "offset 4: REDUCE callable is list of 0 items, not an allowed global", Match::kWhole,
       recording});
  add({"NEWOBJ of a callable that is not a global",
       Pickle().proto().str("os.system").op(Opcode::kEmptyTuple).op(Opcode::kNewObj).stop(),
       "NEWOBJ callable is str \"os.system\", not an allowed global", Match::kPart, recording});
  add({"REDUCE with arguments that are not a tuple",
       Pickle().proto().global("mod", "Thing").op(Opcode::kEmptyList).op(Opcode::kReduce).stop(),
       "REDUCE mod.Thing: arguments are a list, not a tuple", Match::kPart, recording});
  Handlers no_reduce;
  no_reduce.allowed_globals = {{"collections", "OrderedDict"}};
  add({"REDUCE with no reduce handler",
       Pickle()
           .proto()
           .global("collections", "OrderedDict")
           .op(Opcode::kEmptyTuple)
           .op(Opcode::kReduce)
           .stop(),
       "offset 28: REDUCE collections.OrderedDict is not allowed: no reduce handler", Match::kWhole,
       no_reduce});
  add({"a reduce handler's refusal carries the offset and the callable",
       Pickle()
           .proto()
           .global("collections", "OrderedDict")
           .small(1)
           .op(Opcode::kTuple1)
           .op(Opcode::kReduce)
           .stop(),
       "offset 30: REDUCE collections.OrderedDict: OrderedDict with arguments", Match::kWhole,
       recording});
  Handlers throwing = recording;
  throwing.reduce = [](const Value &, const Value &args) -> ValuePtr {
    return args.items.at(3);  // std::out_of_range
  };
  add({"a reduce handler that throws a standard exception", thing().stop(),
       "offset 14: REDUCE mod.Thing: ", Match::kPart, throwing});
  Handlers empty = recording;
  empty.reduce = [](const Value &, const Value &) { return ValuePtr(); };
  add({"a reduce handler that returns nothing", thing().stop(),
       "REDUCE mod.Thing returned no value", Match::kPart, empty});
  Handlers deep = recording;
  deep.reduce = [](const Value &, const Value &) {
    ValuePtr root = Value::make(Kind::kList);
    Value *tip = root.get();
    for (int i = 0; i < 300; ++i) {
      tip->items.push_back(Value::make(Kind::kList));
      tip = tip->items.back().get();
    }
    return root;
  };
  add({"a reduce handler that returns a value nested too deep", thing().stop(),
       "REDUCE mod.Thing returned a value whose nesting exceeds limit max_depth=200", Match::kPart,
       deep});

  // BUILD and BINPERSID that cannot go to a handler.
  Handlers no_build = recording;
  no_build.build = nullptr;
  add({"BUILD with no build handler", thing().op(Opcode::kEmptyDict).op(Opcode::kBuild).stop(),
       "offset 16: BUILD is not allowed: no build handler", Match::kWhole, no_build});
  add({"BUILD on a dict the pickle made",
       Pickle().proto().op(Opcode::kEmptyDict).op(Opcode::kEmptyDict).op(Opcode::kBuild).stop(),
       "offset 4: BUILD target (dict of 0 entries) was not made by REDUCE or NEWOBJ", Match::kWhole,
       recording});
  add({"BUILD twice on one object",
       thing().op(Opcode::kNone).op(Opcode::kBuild).op(Opcode::kNone).op(Opcode::kBuild).stop(),
       "offset 18: BUILD applied twice to the same object", Match::kWhole, recording});
  Handlers refusing_build = recording;
  refusing_build.build = [](Value &, const Value &) { bad("unexpected state"); };
  add({"a build handler's refusal", thing().op(Opcode::kNone).op(Opcode::kBuild).stop(),
       "offset 16: BUILD of extension (tag 0): unexpected state", Match::kWhole, refusing_build});
  add({"BINPERSID with no persistent_load handler",
       Pickle().proto().str("0").op(Opcode::kBinPersId).stop(),
       "offset 8: BINPERSID is not allowed: no persistent_load handler", Match::kWhole});

  // Size, opcode, stack, memo and string limits.
  Limits bytes_10;
  bytes_10.max_bytes = 10;
  add({"max_bytes: a pickle longer than the limit",
       Pickle().proto().str("0123456789").stop(),
       "offset 2: pickle exceeds limit max_bytes=10 (set STATEPACK_PICKLE_MAX_BYTES to raise it)",
       Match::kWhole,
       {},
       bytes_10});
  add({"max_bytes: no STOP within the limit",
       Pickle().proto().repeat(Opcode::kNone, 20).bytes(),
       "offset 10: pickle exceeds limit max_bytes=10 (set STATEPACK_PICKLE_MAX_BYTES to raise it)",
       Match::kWhole,
       {},
       bytes_10});
  Limits opcodes_3;
  opcodes_3.max_opcodes = 3;
  add({"max_opcodes refuses the opcode past the limit",
       Pickle().proto().small(1).small(2).op(Opcode::kPop).stop(),
       "offset 6: opcode count exceeds limit max_opcodes=3",
       Match::kWhole,
       {},
       opcodes_3});
  Limits stack_2;
  stack_2.max_stack = 2;
  add({"max_stack counts values",
       Pickle().proto().repeat(Opcode::kNone, 3).stop(),
       "offset 4: stack exceeds limit max_stack=2",
       Match::kWhole,
       {},
       stack_2});
  add({"max_stack counts marks",
       Pickle().proto().op(Opcode::kNone).repeat(Opcode::kMark, 2).stop(),
       "offset 4: stack exceeds limit max_stack=2",
       Match::kWhole,
       {},
       stack_2});
  Limits memo_2;
  memo_2.max_memo = 2;
  add({"max_memo bounds memo indices",
       Pickle().proto().small(1).put(2).stop(),
       "offset 4: memo index 2 exceeds limit max_memo=2",
       Match::kWhole,
       {},
       memo_2});
  add({"max_memo's default bounds LONG_BINPUT",
       Pickle().proto().small(1).op(Opcode::kLongBinPut).le(0xffffffffu, 4).stop(),
       "offset 4: memo index 4294967295 exceeds limit max_memo=10000000", Match::kWhole});
  add({"max_string: BINUNICODE refused before reading a byte of it",
       Pickle().proto().op(Opcode::kBinUnicode).le(0xffffffffu, 4).stop(),
       "offset 2: BINUNICODE of 4294967295 bytes exceeds limit max_string=67108864 (set "
       "STATEPACK_PICKLE_MAX_STRING to raise it)",
       Match::kWhole});
  add({"max_string: BINBYTES refused before reading a byte of it",
       Pickle().proto(3).op(Opcode::kBinBytes).le(0x80000000u, 4).stop(),
       "offset 2: BINBYTES of 2147483648 bytes exceeds limit max_string=67108864 (set "
       "STATEPACK_PICKLE_MAX_STRING to raise it)",
       Match::kWhole});
  Limits string_4;
  string_4.max_string = 4;
  add({"max_string: one byte over a small limit",
       Pickle().proto().str("five!").stop(),
       "offset 2: BINUNICODE of 5 bytes exceeds limit max_string=4 (set "
       "STATEPACK_PICKLE_MAX_STRING to raise it)",
       Match::kWhole,
       {},
       string_4});
  add({"max_string: a GLOBAL module name",
       Pickle().proto().global("collections", "OrderedDict").stop(),
       "offset 2: GLOBAL module exceeds limit max_string=4 (set STATEPACK_PICKLE_MAX_STRING to "
       "raise it)",
       Match::kWhole,
       {},
       string_4});
  add({"a BINUNICODE length within max_string but beyond the data",
       Pickle().proto().op(Opcode::kBinUnicode).le(1000, 4).raw("abc").stop(),
       "offset 2: truncated pickle: BINUNICODE runs past the end of the data", Match::kPart});
  add({"a BINSTRING length beyond max_string",
       Pickle().proto().op(Opcode::kBinString).le(0x7fffffff, 4).stop(),
       "BINSTRING of 2147483647 bytes exceeds limit max_string", Match::kPart});

  // Nesting deeper than max_depth, and values placed in two containers.
  Limits depth_5;
  depth_5.max_depth = 5;
  add({"max_depth: one level more than the limit",
       nested_lists(6),
       "nesting exceeds limit max_depth=5",
       Match::kPart,
       {},
       depth_5});
  add({"max_depth: a depth bomb of 10,000 lists", nested_lists(10000),
       "offset 10201: nesting exceeds limit max_depth=200", Match::kWhole});
  add({"max_depth: tuples nested through TUPLE1",
       Pickle().proto().op(Opcode::kEmptyTuple).repeat(Opcode::kTuple1, 10000).stop(),
       "offset 202: nesting exceeds limit max_depth=200", Match::kPart});
  add({"nesting built top-down through the memo",
       Pickle()
           .proto()
           .op(Opcode::kEmptyList)
           .put(0)
           .op(Opcode::kEmptyList)
           .put(1)
           .op(Opcode::kAppend)
           .get(1)
           .op(Opcode::kEmptyList)
           .op(Opcode::kAppend)
           .stop(),
       "offset 12: APPEND target is a list that is already inside another container (a cycle or "
       "an out-of-order pickle)",
       Match::kWhole});
  add({"a list appended to itself through the memo",
       Pickle().proto().op(Opcode::kEmptyList).put(0).get(0).op(Opcode::kAppend).stop(),
       "APPEND target is a list that is already inside another container", Match::kPart});
  add({"a list appended to itself through DUP",
       Pickle().proto().op(Opcode::kEmptyList).op(Opcode::kDup).op(Opcode::kAppend).stop(),
       "APPEND target is a list that is already inside another container", Match::kPart});
  add({"a list changed after it was placed in a tuple",
       Pickle()
           .proto()
           .op(Opcode::kEmptyList)
           .op(Opcode::kDup)
           .op(Opcode::kTuple1)
           .op(Opcode::kPop)
           .small(1)
           .op(Opcode::kAppend)
           .stop(),
       "APPEND target is a list that is already inside another container", Match::kPart});
  add({"a dict stored in itself",
       Pickle()
           .proto()
           .op(Opcode::kEmptyDict)
           .put(0)
           .str("self")
           .get(0)
           .op(Opcode::kSetItem)
           .stop(),
       "SETITEM target is a dict that is already inside another container", Match::kPart});

  // Integers that do not fit in 64 bits, and negative lengths.
  add({"LONG1 of 9 bytes", Pickle().proto().op(Opcode::kLong1).byte(9).le(0, 9).stop(),
       "offset 2: LONG1 of 9 bytes does not fit in 64 bits", Match::kWhole});
  add({"LONG4 of 9 bytes", Pickle().proto().op(Opcode::kLong4).le(9, 4).le(0, 9).stop(),
       "offset 2: LONG4 of 9 bytes does not fit in 64 bits", Match::kWhole});
  add({"LONG4 of 2 GiB", Pickle().proto().op(Opcode::kLong4).le(0x7fffffff, 4).stop(),
       "offset 2: LONG4 of 2147483647 bytes does not fit in 64 bits", Match::kWhole});
  add({"LONG4 with a negative length",
       Pickle().proto().op(Opcode::kLong4).le(0xffffffffu, 4).stop(),
       "offset 2: LONG4 with negative length -1", Match::kWhole});
  add({"BINSTRING with a negative length",
       Pickle().proto().op(Opcode::kBinString).le(0xfffffffeu, 4).stop(),
       "offset 2: BINSTRING with negative length -2", Match::kWhole});

  // Strings that are not valid UTF-8.
  const std::string invalid_utf8[] = {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "ok\xe2\x82",
                                      "\xf4\x90\x80\x80"};
  for (size_t i = 0; i < std::size(invalid_utf8); ++i) {
    const std::string &text = invalid_utf8[i];
    add({"BINUNICODE of invalid UTF-8 " + std::to_string(i), Pickle().proto().str(text).stop(),
         "offset 2: BINUNICODE is not valid UTF-8", Match::kPart});
    add({"SHORT_BINUNICODE of invalid UTF-8 " + std::to_string(i),
         Pickle()
             .proto()
             .op(Opcode::kShortBinUnicode)
             .byte(static_cast<uint8_t>(text.size()))
             .raw(text)
             .stop(),
         "SHORT_BINUNICODE is not valid UTF-8", Match::kPart});
  }
  add({"invalid UTF-8: the message names the byte", Pickle().proto().str("ab\xff").stop(),
       "offset 2: BINUNICODE is not valid UTF-8 (byte 2 of the string)", Match::kWhole});

  // STACK_GLOBAL: the module and name come from the stack, and meet the same allowlist.
  add({"STACK_GLOBAL os.system", Pickle().proto(4).stack_global("os", "system").stop(),
       "offset 14: STACK_GLOBAL os.system: this file tries to run os.system when loaded; refused",
       Match::kWhole, torch});
  add({"STACK_GLOBAL posix.system in a protocol-4 pickle CPython wrote", kSystemP4,
       "offset 28: STACK_GLOBAL posix.system: this file tries to run posix.system when loaded; "
       "refused",
       Match::kWhole, torch});
  add({"STACK_GLOBAL builtins.eval", Pickle().proto(4).stack_global("builtins", "eval").stop(),
       "offset 18: STACK_GLOBAL builtins.eval: this file tries to run builtins.eval when loaded; "
       "refused",
       Match::kWhole, torch});
  add({"STACK_GLOBAL builtins.getattr",
       Pickle().proto(4).stack_global("builtins", "getattr").stop(),
       "STACK_GLOBAL builtins.getattr: this file tries to run builtins.getattr when loaded; "
       "refused",
       Match::kPart, torch});
  add({"STACK_GLOBAL with no allowlist at all",
       Pickle().proto(4).stack_global("collections", "OrderedDict").stop(),
       "offset 28: STACK_GLOBAL collections.OrderedDict is not allowed", Match::kWhole});
  add({"STACK_GLOBAL of an allowed name split differently",
       Pickle().proto(4).stack_global("collections.OrderedDict", "").stop(),
       "STACK_GLOBAL collections.OrderedDict. is not allowed", Match::kPart, torch});
  add({"STACK_GLOBAL of a name with a newline, which GLOBAL cannot spell",
       Pickle().proto(4).stack_global("os", "sys\ntem").stop(),
       "offset 15: STACK_GLOBAL \"os.sys\\u000Atem\": this file tries to run \"os.sys\\u000Atem\" "
       "when loaded; refused",
       Match::kWhole, torch});
  add({"STACK_GLOBAL of an allowed name with a trailing NUL",
       Pickle().proto(4).stack_global("collections", std::string("OrderedDict\0", 12)).stop(),
       "STACK_GLOBAL \"collections.OrderedDict\\u0000\" is not allowed", Match::kPart, torch});
  add({"STACK_GLOBAL with an int module",
       Pickle().proto(4).small(1).short_str("system").op(Opcode::kStackGlobal).stop(),
       "offset 12: STACK_GLOBAL module is int 1, not a str", Match::kWhole, torch});
  add({"STACK_GLOBAL with a bytes name",
       Pickle()
           .proto(4)
           .short_str("collections")
           .op(Opcode::kShortBinBytes)
           .byte(11)
           .raw("OrderedDict")
           .op(Opcode::kStackGlobal)
           .stop(),
       "offset 28: STACK_GLOBAL name is bytes \"OrderedDict\", not a str", Match::kWhole, torch});
  add({"STACK_GLOBAL of a global: the module is an allowed global, not a str",
       Pickle()
           .proto(4)
           .stack_global("collections", "OrderedDict")
           .short_str("x")
           .op(Opcode::kStackGlobal)
           .stop(),
       "STACK_GLOBAL module is global \"collections.OrderedDict\", not a str", Match::kPart,
       torch});
  add({"STACK_GLOBAL with a list as its name",
       Pickle().proto(4).short_str("os").op(Opcode::kEmptyList).op(Opcode::kStackGlobal).stop(),
       "STACK_GLOBAL name is list of 0 items, not a str", Match::kPart, torch});
  add({"STACK_GLOBAL with one value",
       Pickle().proto(4).short_str("os").op(Opcode::kStackGlobal).stop(),
       "offset 6: stack underflow: STACK_GLOBAL needs 2 values and finds 1", Match::kWhole, torch});
  add({"STACK_GLOBAL with its module below the last MARK",
       Pickle()
           .proto(4)
           .short_str("collections")
           .op(Opcode::kMark)
           .short_str("OrderedDict")
           .op(Opcode::kStackGlobal)
           .stop(),
       "stack underflow: STACK_GLOBAL needs 2 values and finds 1 above the last MARK", Match::kPart,
       torch});

  // FRAME: its length is checked against the data, never used to allocate.
  add({"FRAME longer than the data", Pickle().proto(4).frame(1000).small(1).stop(),
       "offset 2: truncated pickle: FRAME of 1000 bytes runs past the end of the data (3 bytes "
       "left)",
       Match::kWhole});
  add({"FRAME one byte longer than the data", Pickle().proto(4).frame(4).small(1).stop(),
       "offset 2: truncated pickle: FRAME of 4 bytes runs past the end of the data (3 bytes left)",
       Match::kWhole});
  add({"FRAME of 2^64 - 1 bytes", Pickle().proto(4).frame(UINT64_MAX).small(1).stop(),
       "offset 2: truncated pickle: FRAME of 18446744073709551615 bytes runs past the end",
       Match::kPart});
  add({"FRAME of 2^63 bytes", Pickle().proto(4).frame(uint64_t{1} << 63).small(1).stop(),
       "offset 2: truncated pickle: FRAME of 9223372036854775808 bytes", Match::kPart});
  add({"FRAME with its length cut short", Pickle().proto(4).op(Opcode::kFrame).le(3, 4).bytes(),
       "offset 2: truncated pickle: FRAME runs past the end of the data (4 bytes left)",
       Match::kWhole});
  add({"FRAME reaching past max_bytes",
       concat({Pickle().proto(4).frame(20).small(1).stop(), Bytes(20, 0x4e)}),
       "offset 2: pickle exceeds limit max_bytes=10 (set STATEPACK_PICKLE_MAX_BYTES to raise it)",
       Match::kWhole,
       {},
       bytes_10});
  add({"a frame's promise does not hide a truncation inside it",
       Pickle().proto(4).frame(5).op(Opcode::kBinUnicode).le(1000, 4).bytes(),
       "offset 11: truncated pickle: BINUNICODE runs past the end of the data", Match::kPart});

  // 8-byte lengths: refused before a byte is read or allocated, whatever the limit.
  const std::pair<Opcode, const char *> eight_byte[] = {{Opcode::kBinUnicode8, "BINUNICODE8"},
                                                        {Opcode::kBinBytes8, "BINBYTES8"},
                                                        {Opcode::kByteArray8, "BYTEARRAY8"}};
  Limits no_string_limit;
  no_string_limit.max_string = UINT64_MAX;
  for (const auto &[code, name] : eight_byte) {
    const std::string op = name;
    add({op + " past the end of the data", Pickle().proto(4).op(code).le(1000, 8).raw("abc").stop(),
         "offset 2: truncated pickle: " + op + " runs past the end of the data (4 bytes left)",
         Match::kWhole});
    add({op + " of 2^64 - 1 bytes", Pickle().proto(4).op(code).le(UINT64_MAX, 8).stop(),
         "offset 2: " + op +
             " of 18446744073709551615 bytes exceeds limit max_string=67108864 (set "
             "STATEPACK_PICKLE_MAX_STRING to raise it)",
         Match::kWhole});
    add({op + " of 2^64 - 1 bytes with no max_string",
         Pickle().proto(4).op(code).le(UINT64_MAX, 8).stop(),
         "offset 2: truncated pickle: " + op + " runs past the end of the data (1 bytes left)",
         Match::kWhole,
         {},
         no_string_limit});
    add({op + " of 2^63 bytes with no max_string",
         Pickle().proto(4).op(code).le(uint64_t{1} << 63, 8).stop(),
         "offset 2: truncated pickle: " + op + " runs past the end",
         Match::kPart,
         {},
         no_string_limit});
    add({op + " with its length cut short", Pickle().proto(4).op(code).le(1, 7).bytes(),
         "offset 2: truncated pickle: " + op + " runs past the end of the data (7 bytes left)",
         Match::kWhole});
    add({op + ": one byte over a small max_string",
         Pickle().proto(4).op(code).le(5, 8).raw("five!").stop(),
         "offset 2: " + op + " of 5 bytes exceeds limit max_string=4",
         Match::kPart,
         {},
         string_4});
  }
  add({"BINUNICODE8 of invalid UTF-8",
       Pickle().proto(4).op(Opcode::kBinUnicode8).le(3, 8).raw("a\xc0\xaf").stop(),
       "offset 2: BINUNICODE8 is not valid UTF-8 (byte 1 of the string)", Match::kWhole});

  // MEMOIZE: the same memo rules and limits as BINPUT.
  add({"MEMOIZE with an empty stack", Pickle().proto(4).op(Opcode::kMemoize).small(1).stop(),
       "offset 2: stack underflow: MEMOIZE needs 1 value and finds 0", Match::kWhole});
  add({"MEMOIZE with nothing above the last MARK",
       Pickle().proto(4).small(1).op(Opcode::kMark).op(Opcode::kMemoize).stop(),
       "offset 5: stack underflow: MEMOIZE needs 1 value and finds 0 above the last MARK",
       Match::kWhole});
  add({"max_memo bounds MEMOIZE",
       Pickle().proto(4).small(1).repeat(Opcode::kMemoize, 3).stop(),
       "offset 6: memo index 2 exceeds limit max_memo=2",
       Match::kWhole,
       {},
       memo_2});
  add({"BINGET of an index MEMOIZE never reached",
       Pickle().proto(4).small(1).op(Opcode::kMemoize).get(1).stop(),
       "offset 5: BINGET 1 refers to a memo entry that was never stored", Match::kWhole});
  add({"max_opcodes counts FRAME and MEMOIZE",
       Pickle().proto(4).frame(4).small(1).op(Opcode::kMemoize).stop(),
       "offset 13: opcode count exceeds limit max_opcodes=3",
       Match::kWhole,
       {},
       opcodes_3});
  add({"max_stack counts SHORT_BINUNICODE values",
       Pickle().proto(4).short_str("a").short_str("b").short_str("c").stop(),
       "offset 8: stack exceeds limit max_stack=2",
       Match::kWhole,
       {},
       stack_2});
  add({"max_depth applies to containers of protocol-4 values",
       concat({Pickle().proto(4).frame(1).bytes(), nested_lists(6)}),
       "nesting exceeds limit max_depth=5",
       Match::kPart,
       {},
       depth_5});
  return table;
}

// Checks that `r`'s pickle is refused with its message.
void check_refusal(const Refusal &r) {
  const std::string message = refusal(r.pickle, r.handlers, r.limits);
  INFO("message: ", message);
  if (r.match == Match::kWhole) {
    CHECK(message == r.expected);
  } else {
    CHECK(message.find(r.expected) != std::string::npos);
  }
}

TEST_CASE("pickle reader refuses hostile and malformed pickles, naming the problem") {
  const std::vector<Refusal> table = refusals();
  std::set<std::string> names;  // a repeated name would make doctest skip the second case
  for (const Refusal &r : table) names.insert(r.description);
  REQUIRE(names.size() == table.size());
  for (const Refusal &r : table) {
    SUBCASE(r.description.c_str()) {
      check_refusal(r);
    }
  }
}

TEST_CASE("pickle reader accepts what lies just within its limits") {
  SUBCASE("a pickle within max_bytes, followed by other data") {
    Limits limits;
    limits.max_bytes = 10;
    Bytes short_pickle = Pickle().proto().small(1).stop();
    short_pickle.resize(100, 0xff);
    const auto [value, end] = read_pickle(short_pickle.data(), short_pickle.size(), {}, limits);
    CHECK(value->int_value == 1);
    CHECK(end == 5);
  }
  SUBCASE("max_opcodes") {
    Limits limits;
    limits.max_opcodes = 3;
    CHECK(read(Pickle().proto().small(1).stop(), {}, limits)->int_value == 1);
  }
  SUBCASE("max_memo") {
    Limits limits;
    limits.max_memo = 2;
    CHECK(read(Pickle().proto().small(1).put(0).put(1).stop(), {}, limits)->int_value == 1);
  }
  SUBCASE("max_string") {
    Limits limits;
    limits.max_string = 4;
    CHECK(read(Pickle().proto().str("four").stop(), {}, limits)->text == "four");
  }
  SUBCASE("max_depth") {
    Limits limits;
    limits.max_depth = 5;
    CHECK(read(nested_lists(5), {}, limits)->items.size() == 1);
  }
  SUBCASE("str and bytes with the same content are different dict keys") {
    const ValuePtr dict = read(
        dict_with_keys(Pickle().str("k"), Pickle().op(Opcode::kShortBinBytes).byte(1).raw("k")));
    CHECK(dict->entries.size() == 2);
  }
}

TEST_CASE("pickle reader refuses every opcode byte it does not read, by name or as unknown") {
  const std::vector<Opcode> read_here = {Opcode::kMark,
                                         Opcode::kStop,
                                         Opcode::kPop,
                                         Opcode::kDup,
                                         Opcode::kNone,
                                         Opcode::kReduce,
                                         Opcode::kAppend,
                                         Opcode::kBuild,
                                         Opcode::kGlobal,
                                         Opcode::kDict,
                                         Opcode::kList,
                                         Opcode::kSetItem,
                                         Opcode::kTuple,
                                         Opcode::kEmptyTuple,
                                         Opcode::kPopMark,
                                         Opcode::kBinFloat,
                                         Opcode::kBinInt,
                                         Opcode::kBinInt1,
                                         Opcode::kBinInt2,
                                         Opcode::kBinPersId,
                                         Opcode::kBinString,
                                         Opcode::kShortBinString,
                                         Opcode::kBinUnicode,
                                         Opcode::kEmptyList,
                                         Opcode::kAppends,
                                         Opcode::kBinGet,
                                         Opcode::kLongBinGet,
                                         Opcode::kBinPut,
                                         Opcode::kLongBinPut,
                                         Opcode::kSetItems,
                                         Opcode::kEmptyDict,
                                         Opcode::kProto,
                                         Opcode::kNewObj,
                                         Opcode::kTuple1,
                                         Opcode::kTuple2,
                                         Opcode::kTuple3,
                                         Opcode::kNewTrue,
                                         Opcode::kNewFalse,
                                         Opcode::kLong1,
                                         Opcode::kLong4,
                                         Opcode::kBinBytes,
                                         Opcode::kShortBinBytes,
                                         Opcode::kShortBinUnicode,
                                         Opcode::kBinUnicode8,
                                         Opcode::kBinBytes8,
                                         Opcode::kStackGlobal,
                                         Opcode::kMemoize,
                                         Opcode::kFrame,
                                         Opcode::kByteArray8};
  for (int byte = 0; byte < 256; ++byte) {
    const auto code = static_cast<uint8_t>(byte);
    bool supported = false;
    for (const Opcode known : read_here) supported |= static_cast<uint8_t>(known) == code;
    if (supported) continue;
    const std::string message = refusal(Pickle().proto().byte(code).le(0, 8).stop());
    INFO("message: ", message);
    if (opcode_name(code) != nullptr) {
      CHECK(message.rfind(std::string("offset 2: opcode ") + opcode_name(code) + " (0x", 0) == 0);
    } else {
      CHECK(message.rfind("offset 2: unknown opcode 0x", 0) == 0);
    }
  }
}

TEST_CASE("pickle reader refuses every truncation of a valid pickle") {
  TorchHandlers torch;
  for (const Bytes *whole : {&kTorchLinear, &kNested, &kShared, &kTorchLinearP4, &kPlainP5}) {
    for (size_t length = 0; length < whole->size(); ++length) {
      const Bytes cut(whole->begin(), whole->begin() + static_cast<std::ptrdiff_t>(length));
      const std::string message = refusal(cut, torch.handlers);
      INFO("length ", length, ", message: ", message);
      CHECK(message.find(": truncated pickle: ") != std::string::npos);
    }
  }
}

// Not in the table: the value the handler makes is a cycle the test must break afterwards.
TEST_CASE("pickle reader refuses a REDUCE handler's value that contains itself") {
  auto made = std::make_shared<std::vector<ValuePtr>>();
  Handlers cyclic = RecordingHandlers().handlers;
  cyclic.reduce = [made](const Value &, const Value &) {
    ValuePtr list = Value::make(Kind::kList);
    list->items.push_back(list);
    made->push_back(list);
    return list;
  };
  check_refusal({"cyclic", thing().stop(), "REDUCE mod.Thing returned a value that contains itself",
                 Match::kPart, cyclic});
  for (const ValuePtr &list : *made) list->items.clear();  // break the cycle the test made
}

// Reads `whole` corrupted at random 4000 times: each must be read or refused with a message,
// never crash or trip the sanitizers (a few corruptions still make a valid pickle, e.g. a changed
// digit of a size).
void survive_corruption(const Bytes &whole) {
  TorchHandlers torch;
  std::mt19937 random(20240611);
  int refused = 0;
  for (int round = 0; round < 4000; ++round) {
    Bytes bytes = whole;
    const int changes = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < changes; ++i) {
      bytes[random() % bytes.size()] = static_cast<uint8_t>(random());
    }
    if (random() % 4 == 0) bytes.resize(random() % bytes.size());
    try {
      read_pickle(bytes.data(), bytes.size(), torch.handlers);
    } catch (const Error &error) {
      CHECK(std::string(error.what()).rfind("offset ", 0) == 0);
      ++refused;
    }
  }
  CHECK(refused > 3000);
}

TEST_CASE("pickle reader survives random corruption of a torch pickle") {
  for (const Bytes *pickle : {&kTorchLinear, &kTorchLinearP4}) {
    CAPTURE((*pickle)[1]);
    survive_corruption(*pickle);
  }
}

}  // namespace
}  // namespace statepack::pickle
