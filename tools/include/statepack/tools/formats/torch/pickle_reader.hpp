// SPDX-License-Identifier: Apache-2.0
// A restricted unpickler: it turns a pickle into a tree of plain values and never imports or
// calls anything. GLOBAL names are matched against the caller's exact allowlist, REDUCE and
// BUILD go to caller-supplied handlers that build symbolic values, and every container
// operation is type-checked. Limits bound size, opcodes, stack, memo and nesting. When the
// caller asks for opaque objects, a global outside the allowlist becomes a symbolic class
// reference and calls on it become opaque objects holding their arguments and state, except for
// the known-dangerous globals (pickle_dangerous_globals.hpp), which are refused by name.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "statepack/tools/core/input_limits.hpp"

namespace statepack::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

/// What a Value is. Containers hold shared pointers, so memo references stay references.
enum class Kind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kBytes,
  kTuple,
  kList,
  kDict,
  kGlobal,     ///< a (module, name) pair, not called: allowed, or `symbolic` (opaque)
  kExtension,  ///< a value a handler built (a storage, a tensor, a dtype, ...)
  kObject,     ///< an opaque object: a symbolic global called, never run (layout below)
};

/// kObject children: items[kObjectArgs] is the call's argument tuple, items[kObjectKwargs] its
/// keyword dict (NEWOBJ_EX) or None, items[kObjectState] what BUILD gave it (None until then),
/// and items from kObjectFirstItem on what APPEND, APPENDS or ADDITEMS added (a list or set
/// subclass); entries hold what SETITEM and SETITEMS added (a dict subclass). module and name
/// name its class (or function), text is "module.name". Sets (EMPTY_SET, FROZENSET) are
/// objects of builtins.set and builtins.frozenset whose elements are the added items.
constexpr size_t kObjectArgs = 0;
constexpr size_t kObjectKwargs = 1;
constexpr size_t kObjectState = 2;
constexpr size_t kObjectFirstItem = 3;

/// A node of the object tree.
struct Value {
  Kind kind = Kind::kNone;
  bool bool_value = false;
  int64_t int_value = 0;
  double float_value = 0;
  std::string text;  ///< kString (UTF-8), kBytes (raw), kGlobal and kObject: "module.name"
  std::vector<ValuePtr> items;                         ///< kTuple, kList, kObject (see kObjectArgs)
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  ///< kDict, kObject, in insertion order
  std::string module, name;                            ///< kGlobal, kObject
  bool symbolic = false;  ///< kGlobal: outside the allowlist, held as a name (opaque objects)
  int extension_tag = 0;  ///< kExtension: the handler's own type tag
  std::shared_ptr<void> extension;  ///< kExtension payload

  /// A new value of `kind` with every other field at its default.
  static ValuePtr make(Kind kind);
};

/// Caps on resources an untrusted pickle may use.
struct Limits {
  /// Pickle size; STATEPACK_PICKLE_MAX_BYTES overrides the default (input_limits.hpp).
  uint64_t max_bytes = configured_limit(kEnvPickleMaxBytes, 256u << 20);
  uint64_t max_opcodes = 50'000'000;
  uint64_t max_stack = 1'000'000;  ///< values on the stack (all marks together)
  uint64_t max_memo = 10'000'000;  ///< memo entries (and largest memo index + 1)
  /// Bytes of one string or bytes object; STATEPACK_PICKLE_MAX_STRING overrides the default.
  uint64_t max_string = configured_limit(kEnvPickleMaxString, 64u << 20);
  uint32_t max_depth = 200;  ///< container nesting of the result
};

/// What the caller allows and how allowed calls become values.
struct Handlers {
  /// Exact (module, name) pairs GLOBAL may name; anything else is refused.
  std::set<std::pair<std::string, std::string>> allowed_globals;
  /// REDUCE(callable, args) and NEWOBJ(cls, args): callable is always an allowed kGlobal; args
  /// always a kTuple. Returns the symbolic result (never null), or throws a statepack::Error
  /// with a reason, which read_pickle prefixes with the offset and the callable's name.
  /// Absent: REDUCE and NEWOBJ are refused.
  std::function<ValuePtr(const Value &callable, const Value &args)> reduce;
  /// BINPERSID(pid): returns the symbolic storage. Absent: persistent ids are refused.
  std::function<ValuePtr(const Value &pid)> persistent_load;
  /// BUILD(object, state): may update object; absent or throwing: refused. object is always a
  /// value the reduce handler returned and not yet placed in a container; one BUILD per object.
  std::function<void(Value &object, const Value &state)> build;
  /// When set, a GLOBAL outside allowed_globals that is a Python name and not dangerous becomes
  /// a symbolic kGlobal; REDUCE, NEWOBJ and NEWOBJ_EX on it make a kObject without calling any
  /// handler, BUILD stores its state, and SETITEM(S), APPEND(S) fill it; EMPTY_SET, ADDITEMS and
  /// FROZENSET make set objects. A dangerous global is refused either way, by name ("this file
  /// tries to run os.system when loaded"). Unset: every global outside the allowlist is refused.
  bool opaque_objects = false;
  // Handlers may keep the values they receive but must not change them (nor a value they
  // returned earlier): the reader has already checked their nesting. A handler's result is
  // checked like any other value (nesting depth, no cycles) before it goes on the stack.
};

/// Lower-case Python name of a kind ("None", "int", "str", "list", "global", "extension").
const char *kind_name(Kind kind);

/// A kind for the middle of a sentence: "a list", "an int", "None".
std::string kind_with_article(Kind kind);

/// A short printable description of a value for messages: scalars with their value (strings
/// quoted, escaped and cut), containers with their size, globals with their name. Never looks
/// deeper than the value itself, so it is safe on any tree.
std::string describe(const Value &value);

/// Thrown (as statepack::Error) for anything refused: the message names the opcode or the
/// global and its byte offset, e.g. "offset 57: GLOBAL foo.bar is not allowed" or "offset 57:
/// GLOBAL os.system: this file tries to run os.system when loaded; refused".
/// Reads one pickle from data[0, size) (the binary opcodes of protocols 0-5 that plain data and
/// torch.save use; FRAME lengths are checked against the data, STACK_GLOBAL meets the same
/// allowlist as GLOBAL; sets and NEWOBJ_EX only with Handlers::opaque_objects; out-of-band
/// buffers, EXT, INST, OBJ and the text opcodes are refused) and
/// returns its result and the offset just past STOP. Bytes after STOP are not read, so size may
/// run to the end of a file holding several pickles; max_bytes bounds how far this pickle may
/// reach. Dict keys must be hashable scalars or tuples of them, and a
/// key that appears twice in one dict (by Python equality: 1 == 1.0 == True) is refused. A list,
/// dict or opaque object may not change once it is inside another container, so recursive
/// structures (which no checkpoint has) are refused and the result is always a tree or a DAG of
/// bounded depth.
std::pair<ValuePtr, uint64_t> read_pickle(const uint8_t *data, uint64_t size,
                                          const Handlers &handlers, const Limits &limits = {});

}  // namespace statepack::pickle
