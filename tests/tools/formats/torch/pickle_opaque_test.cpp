// SPDX-License-Identifier: Apache-2.0
// Opaque pickle objects: which globals are refused by name and which are held as symbolic
// references; the values the reader builds for calls, states, dict/list/set items and keyword
// arguments of classes outside the allowlist, under the same limits; and how the torch
// flattener reads them: a torch.nn.Module as state_dict() would list it, numpy scalars as typed
// numbers, other objects' fields as metadata, and refusals that say what to do.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "formats/torch/pickle_dangerous_globals.hpp"
#include "formats/torch/torch_pickle_model.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/torch/pickle_opcodes.hpp"
#include "statepack/tools/formats/torch/pickle_reader.hpp"
#include "support/pickle_builder.hpp"

namespace statepack::pickle {
namespace {

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------------------------
// The dangerous-name matcher

TEST_CASE("dangerous globals are refused by exact name, module prefix and attribute path") {
  const std::pair<const char *, const char *> refused[] = {
      {"os", "system"},
      {"posix", "system"},
      {"nt", "system"},
      {"os.path", "exists"},
      {"subprocess", "Popen"},
      {"commands", "getoutput"},
      {"builtins", "eval"},
      {"__builtin__", "exec"},
      {"builtins", "getattr"},
      {"builtins", "__import__"},
      {"builtins", "globals"},
      {"builtins", "open"},
      {"sys", "modules"},
      {"importlib", "import_module"},
      {"pickle", "loads"},
      {"_pickle", "loads"},
      {"dill._dill", "loads"},
      {"shutil", "rmtree"},
      {"socket", "socket"},
      {"runpy", "run_path"},
      {"code", "InteractiveInterpreter"},
      {"webbrowser", "open"},
      {"http.client", "HTTPSConnection"},
      {"httplib", "HTTPConnection"},
      {"requests.api", "get"},
      {"aiohttp.client", "request"},
      {"urllib.request", "urlopen"},
      {"pip", "main"},
      {"pip._internal", "main"},
      {"ctypes", "CDLL"},
      {"operator", "attrgetter"},
      {"_operator", "methodcaller"},
      {"functools", "partial"},
      {"types", "CodeType"},
      {"torch", "load"},
      {"torch.hub", "load"},
      {"torch.serialization", "load"},
      {"torch.jit", "load"},
      {"torch.storage", "_load_from_bytes"},
      {"numpy", "load"},
      {"numpy.core.multiarray", "fromfile"},
      {"numpy.testing._private.utils", "runstring"},
      {"copyreg", "__newobj__"},
      {"argparse", "_os.system"},
      {"pathlib", "Path.unlink"},
      {"builtins", "object.__subclasses__"},
      {"mod", "Outer.Popen"},
      {"torch", "os.system"},
  };
  for (const auto &[module, name] : refused) {
    INFO(module, ".", name);
    CHECK(dangerous_global(module, name, std::string(module) + "." + name).has_value());
  }
  const std::pair<const char *, const char *> opaque[] = {
      {"argparse", "Namespace"},
      {"collections", "Counter"},
      {"collections", "defaultdict"},
      {"builtins", "int"},
      {"__builtin__", "long"},
      {"builtins", "set"},
      {"numpy.core.multiarray", "scalar"},
      {"numpy._core.multiarray", "scalar"},
      {"numpy", "dtype"},
      {"numpy.core.multiarray", "_reconstruct"},
      {"pathlib", "PosixPath"},
      {"__main__", "Config"},
      {"models.yolo", "DetectionModel"},
      {"mod", "Outer.Inner"},
      {"torch.nn.modules.conv", "Conv2d"},
      {"copyreg", "_reconstructor"},
      {"torch", "device"},
      {"osmosis", "system"},  // a module whose name starts like "os" is not os
  };
  for (const auto &[module, name] : opaque) {
    INFO(module, ".", name);
    CHECK_FALSE(dangerous_global(module, name, std::string(module) + "." + name).has_value());
  }
  CHECK(*dangerous_global("os", "system", "os.system") == "run os.system");
  CHECK(*dangerous_global("argparse", "_os.system", "argparse._os.system") ==
        "reach argparse._os.system through an attribute path");
}

TEST_CASE("only dotted Python identifiers name something importable") {
  for (const char *good : {"os", "a.b", "_x1", "Outer.Inner", "caf\xc3\xa9"}) {
    CHECK(is_dotted_identifier(good));
  }
  for (const char *bad : {"", ".", "a.", ".a", "a..b", "1a", "a b", "a\nb", "a-b", "a\x1b"}) {
    INFO(bad);
    CHECK_FALSE(is_dotted_identifier(bad));
  }
}

// ---------------------------------------------------------------------------------------------
// The values the reader builds

using test::Pickle;

Handlers opaque_handlers() {
  Handlers handlers;
  handlers.opaque_objects = true;
  return handlers;
}

ValuePtr read(const Bytes &bytes, const Handlers &handlers = opaque_handlers(),
              const Limits &limits = {}) {
  const auto [value, end] = read_pickle(bytes.data(), bytes.size(), handlers, limits);
  CHECK(end == bytes.size());
  REQUIRE(static_cast<bool>(value));
  return value;
}

std::string refusal(const Bytes &bytes, const Handlers &handlers = opaque_handlers(),
                    const Limits &limits = {}) {
  try {
    read_pickle(bytes.data(), bytes.size(), handlers, limits);
  } catch (const Error &error) {
    return error.what();
  }
  FAIL_CHECK("the pickle was accepted");
  return "";
}

TEST_CASE("an argparse.Namespace is an object holding its BUILD state, nothing called") {
  // NEWOBJ of the class with (), then BUILD {"lr": 5}: as protocol 2 pickles a Namespace.
  const ValuePtr v = read(Pickle()
                              .proto()
                              .global("argparse", "Namespace")
                              .op(Opcode::kEmptyTuple)
                              .op(Opcode::kNewObj)
                              .op(Opcode::kEmptyDict)
                              .short_str("lr")
                              .small(5)
                              .op(Opcode::kSetItem)
                              .op(Opcode::kBuild)
                              .stop());
  REQUIRE(v->kind == Kind::kObject);
  CHECK(v->module == "argparse");
  CHECK(v->name == "Namespace");
  CHECK(v->text == "argparse.Namespace");
  CHECK(v->items.size() == kObjectFirstItem);
  CHECK(v->items[kObjectArgs]->kind == Kind::kTuple);
  CHECK(v->items[kObjectKwargs]->kind == Kind::kNone);
  const Value &state = *v->items[kObjectState];
  REQUIRE(state.kind == Kind::kDict);
  REQUIRE(state.entries.size() == 1);
  CHECK(state.entries[0].second->int_value == 5);
  CHECK(describe(*v) == "object \"argparse.Namespace\"");
}

TEST_CASE("defaultdict's factory stays a class reference and its items are the object's") {
  const ValuePtr v = read(Pickle()
                              .proto()
                              .global("collections", "defaultdict")
                              .global("__builtin__", "long")
                              .op(Opcode::kTuple1)
                              .op(Opcode::kReduce)
                              .short_str("a")
                              .small(1)
                              .op(Opcode::kSetItem)
                              .stop());
  REQUIRE(v->kind == Kind::kObject);
  const Value &factory = *v->items[kObjectArgs]->items.at(0);
  CHECK(factory.kind == Kind::kGlobal);
  CHECK(factory.symbolic);
  CHECK(factory.text == "__builtin__.long");
  REQUIRE(v->entries.size() == 1);
  CHECK(v->entries[0].first->text == "a");
  // The same shape with os.system as the factory is refused at the global.
  CHECK(refusal(Pickle()
                    .proto()
                    .global("collections", "defaultdict")
                    .global("os", "system")
                    .op(Opcode::kTuple1)
                    .op(Opcode::kReduce)
                    .stop()) ==
        "offset 27: GLOBAL os.system: this file tries to run os.system when loaded; refused");
}

TEST_CASE("list subclasses take APPENDS; sets are builtins.set objects with their elements") {
  const ValuePtr list = read(Pickle()
                                 .proto()
                                 .global("mod", "Tags")
                                 .op(Opcode::kEmptyTuple)
                                 .op(Opcode::kNewObj)
                                 .op(Opcode::kMark)
                                 .small(1)
                                 .small(2)
                                 .op(Opcode::kAppends)
                                 .stop());
  CHECK(list->items.size() == kObjectFirstItem + 2);
  CHECK(list->items[kObjectFirstItem + 1]->int_value == 2);

  const ValuePtr set = read(Pickle()
                                .proto(4)
                                .op(Opcode::kEmptySet)
                                .op(Opcode::kMark)
                                .short_str("a")
                                .short_str("b")
                                .op(Opcode::kAddItems)
                                .stop());
  CHECK(set->text == "builtins.set");
  CHECK(set->items.size() == kObjectFirstItem + 2);
  const ValuePtr frozen =
      read(Pickle().proto(4).op(Opcode::kMark).small(7).op(Opcode::kFrozenSet).stop());
  CHECK(frozen->text == "builtins.frozenset");
  CHECK(frozen->items.back()->int_value == 7);
  CHECK(refusal(Pickle()
                    .proto(4)
                    .op(Opcode::kEmptyList)
                    .op(Opcode::kMark)
                    .small(1)
                    .op(Opcode::kAddItems)
                    .stop()) == "offset 6: ADDITEMS target is list of 0 items, not a set");
  // Without opaque objects, sets stay refused as before.
  CHECK(refusal(Pickle().proto(4).op(Opcode::kEmptySet).stop(), Handlers{}) ==
        "offset 2: opcode EMPTY_SET (0x8f) is not allowed");
}

TEST_CASE("NEWOBJ_EX records keyword arguments; an allowed class may take none") {
  const ValuePtr v = read(Pickle()
                              .proto(4)
                              .global("mod", "Config")
                              .op(Opcode::kEmptyTuple)
                              .op(Opcode::kEmptyDict)
                              .short_str("k")
                              .small(3)
                              .op(Opcode::kSetItem)
                              .op(Opcode::kNewObjEx)
                              .stop());
  REQUIRE(v->kind == Kind::kObject);
  REQUIRE(v->items[kObjectKwargs]->kind == Kind::kDict);
  CHECK(v->items[kObjectKwargs]->entries.size() == 1);
  CHECK(refusal(Pickle()
                    .proto(4)
                    .global("mod", "Config")
                    .op(Opcode::kEmptyTuple)
                    .small(1)
                    .op(Opcode::kNewObjEx)
                    .stop()) == "offset 17: NEWOBJ_EX: keyword arguments are an int, not a dict");
}

TEST_CASE("opaque objects obey the reader's rules and limits") {
  const Bytes newobj =
      Pickle().proto().global("mod", "Thing").op(Opcode::kEmptyTuple).op(Opcode::kNewObj).stop();
  Bytes twice(newobj.begin(), newobj.end() - 1);
  for (int i = 0; i < 2; ++i) {
    twice.push_back(static_cast<uint8_t>(Opcode::kEmptyDict));
    twice.push_back(static_cast<uint8_t>(Opcode::kBuild));
  }
  twice.push_back(static_cast<uint8_t>(Opcode::kStop));
  CHECK(refusal(twice) == "offset 18: BUILD applied twice to the same object");

  // An object that is its own BUILD state (through the memo) is refused before it could hold
  // itself: such a cycle would never be freed (found by the pickle fuzzer as a leak).
  CHECK(refusal(Pickle()
                    .proto()
                    .global("mod", "Thing")
                    .op(Opcode::kEmptyTuple)
                    .op(Opcode::kNewObj)
                    .op(Opcode::kBinPut)
                    .byte(0)
                    .op(Opcode::kBinGet)
                    .byte(0)
                    .op(Opcode::kBuild)
                    .stop())
            .find("BUILD target is already inside another container") != std::string::npos);

  // An object placed in a tuple cannot take items any more (no cycles, no late changes).
  CHECK(refusal(Pickle()
                    .proto()
                    .global("mod", "Thing")
                    .op(Opcode::kEmptyTuple)
                    .op(Opcode::kNewObj)
                    .op(Opcode::kBinPut)
                    .byte(0)
                    .op(Opcode::kTuple1)
                    .op(Opcode::kBinGet)
                    .byte(0)
                    .op(Opcode::kMark)
                    .small(1)
                    .op(Opcode::kAppends)
                    .stop())
            .find("APPENDS target is an object that is already inside another container") !=
        std::string::npos);
  // Nesting: objects holding objects count like containers.
  Pickle deep;
  deep.proto();
  for (int i = 0; i < 8; ++i) deep.global("mod", "Box");
  deep.op(Opcode::kEmptyTuple);
  for (int i = 0; i < 8; ++i) deep.op(Opcode::kTuple1).op(Opcode::kReduce);
  Limits limits;
  limits.max_depth = 6;
  CHECK(refusal(deep.stop(), opaque_handlers(), limits).find("max_depth=6") != std::string::npos);

  // Names that could not be imported are refused, and without opaque objects so is any
  // global outside the allowlist.
  CHECK(refusal(Pickle().proto().global("mod", "a b").stop()) ==
        "offset 2: GLOBAL \"mod.a b\" is not a Python name that could be imported");
  CHECK(refusal(Pickle().proto().global("argparse", "Namespace").stop(), Handlers{}) ==
        "offset 2: GLOBAL argparse.Namespace is not allowed");
}

}  // namespace
}  // namespace statepack::pickle

// ---------------------------------------------------------------------------------------------
// The flattener on opaque objects (values built by hand, as the reader would build them)

namespace statepack::torch_model {
namespace {

using pickle::Kind;
using pickle::Value;
using pickle::ValuePtr;

ValuePtr none() {
  return Value::make(Kind::kNone);
}

ValuePtr text(const std::string &s, Kind kind = Kind::kString) {
  ValuePtr v = Value::make(kind);
  v->text = s;
  return v;
}

ValuePtr number(int64_t n) {
  ValuePtr v = Value::make(Kind::kInt);
  v->int_value = n;
  return v;
}

ValuePtr tuple(std::vector<ValuePtr> items, Kind kind = Kind::kTuple) {
  ValuePtr v = Value::make(kind);
  v->items = std::move(items);
  return v;
}

ValuePtr dict(std::vector<std::pair<std::string, ValuePtr>> entries) {
  ValuePtr v = Value::make(Kind::kDict);
  for (auto &[key, value] : entries) v->entries.emplace_back(text(key), std::move(value));
  return v;
}

ValuePtr object(const std::string &module, const std::string &name, ValuePtr args, ValuePtr state) {
  ValuePtr v = Value::make(Kind::kObject);
  v->module = module;
  v->name = name;
  v->text = module + "." + name;
  v->items = {std::move(args), none(), std::move(state)};
  return v;
}

// A 1-element f32 tensor holding `value`, with its own storage.
ValuePtr tensor(float value) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(4);
  std::memcpy(bytes->data(), &value, 4);
  auto storage = std::make_shared<Storage>();
  storage->dtype = DType::kF32;
  storage->numel = 1;
  storage->data = bytes->data();
  storage->size = 4;
  storage->owner = bytes;
  auto view = std::make_shared<TensorView>();
  view->storage = storage;
  view->dtype = DType::kF32;
  view->shape = {1};
  view->stride = {1};
  ValuePtr v = Value::make(Kind::kExtension);
  v->extension_tag = kTensor;
  v->extension = view;
  return v;
}

// A module object: torch.nn.Module's __dict__ with the given members.
ValuePtr module(const std::string &cls, std::vector<std::pair<std::string, ValuePtr>> parameters,
                std::vector<std::pair<std::string, ValuePtr>> buffers,
                std::vector<std::string> non_persistent,
                std::vector<std::pair<std::string, ValuePtr>> children) {
  // Protocol 2 writes the set as builtins.set([names]).
  std::vector<ValuePtr> names;
  for (const std::string &n : non_persistent) names.push_back(text(n));
  ValuePtr set = object("__builtin__", "set", tuple({tuple(names, Kind::kList)}), none());
  ValuePtr training = Value::make(Kind::kBool);
  return object("models.net", cls, tuple({}),
                dict({{"training", training},
                      {"_parameters", dict(std::move(parameters))},
                      {"_buffers", dict(std::move(buffers))},
                      {"_non_persistent_buffers_set", set},
                      {"_modules", dict(std::move(children))}}));
}

std::vector<std::string> names_of(const Checkpoint &c) {
  std::vector<std::string> names;
  for (const Tensor &t : c.tensors) names.push_back(t.name);
  return names;
}

std::string flatten_error(const ValuePtr &root) {
  try {
    flatten("f.pt", root, false);
  } catch (const Error &error) {
    return error.what();
  }
  FAIL_CHECK("flatten accepted the tree");
  return "";
}

TEST_CASE("a whole module flattens as state_dict(): order, None, non-persistent, tied, shared") {
  const ValuePtr tied = tensor(1.5f);
  const ValuePtr body = module("Body", {{"weight", tensor(2)}, {"bias", none()}},
                               {{"mean", tensor(3)}, {"cache", tensor(4)}}, {"cache"}, {});
  const ValuePtr root = module("Net", {{"emb", tied}}, {{"scale", tensor(5)}, {"gone", none()}}, {},
                               {{"body", body},
                                {"head", module("Head", {{"weight", tied}}, {}, {}, {})},
                                {"skip", none()},
                                {"again", body}});
  const Checkpoint c = flatten("f.pt", dict({{"model", root}, {"epoch", number(3)}}), false);
  CHECK(names_of(c) == std::vector<std::string>{"model.emb", "model.scale", "model.body.weight",
                                                "model.body.mean", "model.head.weight",
                                                "model.again.weight", "model.again.mean"});
  CHECK(c.tensors[0].data == c.tensors[4].data);  // tied: the same bytes under both names
  CHECK(c.metadata.size() == 1);                  // "epoch"; nothing from the module's fields
  REQUIRE(c.opaque_objects.size() == 1);
  CHECK(c.opaque_objects[0].path == "model");
  CHECK(c.opaque_objects[0].class_name == "models.net.Net");
  CHECK(c.opaque_objects[0].note == "torch.nn.Module, 7 tensors as in state_dict()");

  // torch.save(model): the module is the saved object, its names have no prefix.
  CHECK(names_of(flatten("f.pt", body, false)) == std::vector<std::string>{"weight", "mean"});
}

TEST_CASE("a module whose parameters cannot be found is refused with advice") {
  const ValuePtr bad = module("Net", {{"weight", text("elsewhere")}}, {}, {}, {});
  CHECK(flatten_error(dict({{"model", bad}})) ==
        "f.pt: \"model\" is a torch.nn.Module (models.net.Net) whose parameters cannot be "
        "found: parameter \"weight\" is str \"elsewhere\", not a tensor; statepack reads weights "
        "without running code, so save them with torch.save(model.state_dict(), PATH)");
  ValuePtr quantized = module("Linear", {}, {}, {}, {});
  quantized->module = "torch.ao.nn.quantized.modules.linear";
  quantized->text = quantized->module + ".Linear";
  CHECK(flatten_error(dict({{"q", quantized}})).find("a quantized module computes") !=
        std::string::npos);
  const ValuePtr stateless = object("torch.nn.modules.linear", "Linear", tuple({}), none());
  CHECK(flatten_error(dict({{"w", tensor(1)}, {"model", stateless}}))
            .find("\"model\" is a torch.nn.Module (torch.nn.modules.linear.Linear) whose "
                  "parameters cannot be found: its pickled state has no _parameters") !=
        std::string::npos);
}

ValuePtr numpy_scalar(const std::string &code, const std::string &order, const std::string &raw) {
  ValuePtr state =
      tuple({number(3), text(order), none(), none(), none(), number(-1), number(-1), number(0)});
  ValuePtr dtype = object("numpy", "dtype", tuple({text(code), Value::make(Kind::kBool)}), state);
  return object("numpy.core.multiarray", "scalar", tuple({dtype, text(raw, Kind::kBytes)}), none());
}

TEST_CASE("numpy scalars become typed numbers; other objects give their plain fields") {
  const double f8 = 0.625;
  std::string f8_bytes(8, '\0');
  std::memcpy(&f8_bytes[0], &f8, 8);
  const ValuePtr namespace_args =
      object("argparse", "Namespace", tuple({}),
             dict({{"lr", number(7)}, {"name", text("run")}, {"note", none()}}));
  const ValuePtr path = object("pathlib", "PosixPath", tuple({text("data"), text("x")}), none());
  const ValuePtr root = dict({
      {"w", tensor(1)},
      {"acc", numpy_scalar("f8", "<", f8_bytes)},
      {"half", numpy_scalar("f2", "<", std::string("\x00\x38", 2))},         // 0.5
      {"big", numpy_scalar("i4", ">", std::string("\xff\xff\xff\xfe", 4))},  // -2
      {"flag", numpy_scalar("b1", "|", std::string("\x01", 1))},
      {"huge", numpy_scalar("u8", "<", std::string(8, '\xff'))},  // beyond int64: stays opaque
      {"args", namespace_args},
      {"path", path},
  });
  const Checkpoint c = flatten("f.pt", root, false);
  CHECK(c.metadata.at("acc").float_value == 0.625);
  CHECK(c.metadata.at("half").float_value == 0.5);
  CHECK(c.metadata.at("big").int_value == -2);
  CHECK(c.metadata.at("flag").bool_value);
  CHECK(c.metadata.count("huge") == 0);
  CHECK(c.metadata.at("args.lr").int_value == 7);
  CHECK(c.metadata.at("args.name").string_value == "run");
  CHECK(c.metadata.count("args.note") == 0);
  CHECK(c.metadata.count("path.args.0") == 0);  // call arguments give tensors only
  REQUIRE(c.opaque_objects.size() == 8);        // the 7 values and the dtype inside "huge"
  CHECK(c.opaque_objects[5].path == "huge.args.0");
  CHECK(c.opaque_objects[5].class_name == "numpy.dtype");
  CHECK(c.opaque_objects[0].note == "read as a float");
}

TEST_CASE("a file with no tensors is refused, saying what it holds") {
  const ValuePtr args = object("argparse", "Namespace", tuple({}), dict({{"lr", number(1)}}));
  CHECK(flatten_error(dict({{"args", args}, {"epoch", number(3)}})) ==
        "f.pt: holds no tensors (found 2 plain values and opaque objects \"args\" "
        "(argparse.Namespace)); statepack packs weights: save them with "
        "torch.save(model.state_dict(), PATH)");
}

}  // namespace
}  // namespace statepack::torch_model
