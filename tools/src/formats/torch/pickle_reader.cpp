// SPDX-License-Identifier: Apache-2.0
// The restricted unpickler (see pickle_reader.hpp): a loop over opcodes that interprets only
// those torch.save writes, never imports or calls anything, and checks every resource against
// Limits. What it builds, and the rules for changing it, live in pickle_value_tree.cpp.
#include "statepack/tools/formats/torch/pickle_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <new>
#include <unordered_map>

#include "pickle_dangerous_globals.hpp"
#include "pickle_value_tree.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/formats/torch/pickle_opcodes.hpp"
#include "statepack/tools/text/quote.hpp"
#include "statepack/tools/text/utf8.hpp"

namespace statepack::pickle {
namespace {

// The highest protocol read: torch.save writes 2 by default and up to 5 when its pickle_protocol
// asks; protocols 4 and 5 add framing, STACK_GLOBAL, MEMOIZE and 8-byte lengths, all read here.
constexpr int kMaxProtocol = 5;

// Longest global name a message prints as it is; longer or unusual ones are quoted and cut.
constexpr size_t kMaxPlainName = 200;

std::string limit_text(const char *name, uint64_t value) {
  std::string text = std::string("limit ") + name + "=" + std::to_string(value);
  // The two limits a real checkpoint could legitimately exceed say how to raise them.
  if (std::strcmp(name, "max_bytes") == 0) text += raise_hint(kEnvPickleMaxBytes);
  if (std::strcmp(name, "max_string") == 0) text += raise_hint(kEnvPickleMaxString);
  return text;
}

std::string hex_byte(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", static_cast<unsigned>(byte));
  return text;
}

// "module.name" as it is when it is short printable ASCII, else quoted with escapes.
std::string global_text(const std::string &module, const std::string &name) {
  const std::string text = module + "." + name;
  const bool plain =
      text.size() <= kMaxPlainName &&
      std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
  return plain ? text : quote_for_message(text, kMaxPlainName);
}

class Reader {
 public:
  Reader(const uint8_t *data, uint64_t size, const Handlers &handlers, const Limits &limits)
      : data_(data),
        size_(size),
        end_(std::min(size, limits.max_bytes)),
        handlers_(handlers),
        limits_(limits) {}

  std::pair<ValuePtr, uint64_t> run();

 private:
  // --- errors
  [[noreturn]] void fail(const std::string &problem) const {
    throw Error(ErrorKind::kInput, "offset " + std::to_string(op_offset_) + ": " + problem);
  }
  [[noreturn]] void fail_past_end() const;
  std::string op_name() const;

  // --- arguments of the current opcode
  const uint8_t *take(uint64_t count);
  uint64_t take_le(size_t count) { return load_le(take(count), count); }
  int32_t take_i32();
  std::string take_line(const char *what);
  ValuePtr take_text(Kind kind, uint64_t length);
  ValuePtr take_long(uint64_t length);

  // --- stack and memo
  size_t frame_start() const { return marks_.empty() ? 0 : marks_.back(); }
  size_t frame_size() const { return stack_.size() - frame_start(); }
  void require(size_t count) const;
  void push(ValuePtr value);
  ValuePtr pop();
  std::vector<ValuePtr> pop_frame();
  void memo_put(uint64_t index);
  void memo_get(uint64_t index);

  // --- opcodes that need more than a few lines
  void load_frame();
  void load_global();
  void load_stack_global();
  void push_global(std::string module, std::string name);
  void load_call();
  void load_newobj_ex();
  ValuePtr call(const ValuePtr &callable, const ValuePtr &args, const ValuePtr &kwargs);
  void load_build();
  void make_set(const char *name, std::vector<ValuePtr> items);
  void load_persistent_id();
  [[noreturn]] void refuse_opcode() const;

  template <typename Call>
  auto call_handler(const std::string &what, Call call) -> decltype(call());
  bool allowed(const Value &global) const {
    return handlers_.allowed_globals.count({global.module, global.name}) != 0;
  }

  const uint8_t *data_;
  uint64_t size_;
  uint64_t end_;  // where this pickle must have ended: size or max_bytes, whichever is smaller
  const Handlers &handlers_;
  const Limits &limits_;

  uint64_t pos_ = 0;
  uint64_t op_offset_ = 0;
  uint8_t op_ = 0;
  uint64_t opcode_count_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;  // stack_ sizes at each open MARK
  std::unordered_map<uint64_t, ValuePtr> memo_;
  ValueTree tree_{limits_.max_depth, op_offset_};
};

// ---------------------------------------------------------------------------------------------
// Errors and arguments

void Reader::fail_past_end() const {
  if (size_ > limits_.max_bytes)
    fail("pickle exceeds " + limit_text("max_bytes", limits_.max_bytes));
  fail("truncated pickle: " + op_name() + " runs past the end of the data (" +
       std::to_string(end_ - pos_) + " bytes left)");
}

std::string Reader::op_name() const {
  const char *name = opcode_name(op_);
  return name != nullptr ? name : hex_byte(op_);
}

const uint8_t *Reader::take(uint64_t count) {
  if (count > end_ - pos_) fail_past_end();
  const uint8_t *bytes = data_ + pos_;
  pos_ += count;
  return bytes;
}

int32_t Reader::take_i32() {
  const auto bits = static_cast<uint32_t>(take_le(4));
  int32_t value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// One newline-terminated GLOBAL argument, without the newline.
std::string Reader::take_line(const char *what) {
  const uint64_t available = end_ - pos_;
  // Look one byte past max_string, so a longer line is told apart from a missing newline.
  const uint64_t scan = available <= limits_.max_string ? available : limits_.max_string + 1;
  const void *newline = scan == 0 ? nullptr : std::memchr(data_ + pos_, '\n', scan);
  if (newline == nullptr) {
    if (available > limits_.max_string) {
      fail(std::string("GLOBAL ") + what + " exceeds " +
           limit_text("max_string", limits_.max_string));
    }
    fail_past_end();
  }
  const auto length = static_cast<uint64_t>(static_cast<const uint8_t *>(newline) - (data_ + pos_));
  const uint8_t *bytes = take(length + 1);
  return std::string(reinterpret_cast<const char *>(bytes), length);
}

ValuePtr Reader::take_text(Kind kind, uint64_t length) {
  if (length > limits_.max_string) {
    fail(op_name() + " of " + std::to_string(length) + " bytes exceeds " +
         limit_text("max_string", limits_.max_string));
  }
  const uint8_t *bytes = take(length);
  ValuePtr value = Value::make(kind);
  value->text.assign(reinterpret_cast<const char *>(bytes), length);
  if (kind == Kind::kString) {
    if (const std::optional<size_t> bad = find_invalid_utf8(value->text)) {
      fail(op_name() + " is not valid UTF-8 (byte " + std::to_string(*bad) + " of the string)");
    }
  }
  return value;
}

// LONG1 and LONG4: a little-endian two's complement integer of `length` bytes.
ValuePtr Reader::take_long(uint64_t length) {
  if (length > 8) {
    fail(op_name() + " of " + std::to_string(length) + " bytes does not fit in 64 bits");
  }
  const auto count = static_cast<size_t>(length);
  uint64_t bits = take_le(count);
  if (count > 0 && count < 8 && (bits >> (8 * count - 1)) != 0) bits |= ~uint64_t{0} << (8 * count);
  ValuePtr value = Value::make(Kind::kInt);
  std::memcpy(&value->int_value, &bits, sizeof bits);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Stack and memo

void Reader::require(size_t count) const {
  if (frame_size() >= count) return;
  fail("stack underflow: " + op_name() + " needs " + std::to_string(count) + " value" +
       (count == 1 ? "" : "s") + " and finds " + std::to_string(frame_size()) +
       (marks_.empty() ? "" : " above the last MARK"));
}

void Reader::push(ValuePtr value) {
  if (stack_.size() + marks_.size() >= limits_.max_stack) {
    fail("stack exceeds " + limit_text("max_stack", limits_.max_stack));
  }
  stack_.push_back(std::move(value));
}

ValuePtr Reader::pop() {
  ValuePtr value = std::move(stack_.back());
  stack_.pop_back();
  return value;
}

std::vector<ValuePtr> Reader::pop_frame() {
  if (marks_.empty()) fail(op_name() + " without a MARK");
  const size_t start = marks_.back();
  marks_.pop_back();
  std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + start),
                              std::make_move_iterator(stack_.end()));
  stack_.resize(start);
  return items;
}

void Reader::memo_put(uint64_t index) {
  require(1);
  if (index >= limits_.max_memo) {
    fail("memo index " + std::to_string(index) + " exceeds " +
         limit_text("max_memo", limits_.max_memo));
  }
  memo_[index] = stack_.back();
}

void Reader::memo_get(uint64_t index) {
  const auto found = memo_.find(index);
  if (found == memo_.end()) {
    fail(op_name() + " " + std::to_string(index) + " refers to a memo entry that was never stored");
  }
  push(found->second);
}

// ---------------------------------------------------------------------------------------------
// Handlers

// Runs a handler. Its refusals, and library exceptions such as std::out_of_range from a careless
// .at(), become input errors that name the offset and the call; running out of memory does not.
template <typename Call>
auto Reader::call_handler(const std::string &what, Call call) -> decltype(call()) {
  try {
    return call();
  } catch (const Error &error) {
    throw Error(error.kind(),
                "offset " + std::to_string(op_offset_) + ": " + what + ": " + error.what());
  } catch (const std::bad_alloc &) {
    throw;
  } catch (const std::exception &error) {
    throw Error(ErrorKind::kInput,
                "offset " + std::to_string(op_offset_) + ": " + what + ": " + error.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Opcodes

// FRAME: protocol 4's hint that the next `length` bytes hold whole opcodes. Like CPython's C
// unpickler, the reader only checks that the frame lies within the data (a hostile length must
// not pass unnoticed) and otherwise reads on as if it were absent: nothing is allocated for it.
void Reader::load_frame() {
  const uint64_t length = take_le(8);
  if (length > end_ - pos_) {
    if (size_ > limits_.max_bytes) {
      fail("pickle exceeds " + limit_text("max_bytes", limits_.max_bytes));
    }
    fail("truncated pickle: FRAME of " + std::to_string(length) +
         " bytes runs past the end of the data (" + std::to_string(end_ - pos_) + " bytes left)");
  }
}

void Reader::load_global() {
  std::string module = take_line("module");
  std::string name = take_line("name");
  push_global(std::move(module), std::move(name));
}

// STACK_GLOBAL: GLOBAL with its module and name as the two strings on top of the stack.
void Reader::load_stack_global() {
  require(2);
  ValuePtr name = pop();
  ValuePtr module = pop();
  for (const ValuePtr *part : {&module, &name}) {
    if ((*part)->kind != Kind::kString) {
      fail("STACK_GLOBAL " + std::string(part == &module ? "module" : "name") + " is " +
           describe(**part) + ", not a str");
    }
  }
  push_global(module->text, name->text);  // copies: the strings may also be memo entries
}

// The one allowlist check for GLOBAL and STACK_GLOBAL: an exact (module, name) match, else a
// dangerous global refused by name, else (when the caller allows it) a symbolic reference.
void Reader::push_global(std::string module, std::string name) {
  const bool allowed_name = handlers_.allowed_globals.count({module, name}) != 0;
  if (!allowed_name) {
    const std::string text = global_text(module, name);
    if (const std::optional<std::string> reason = dangerous_global(module, name, text)) {
      fail(op_name() + " " + text + ": this file tries to " + *reason + " when loaded; refused");
    }
    if (!handlers_.opaque_objects) fail(op_name() + " " + text + " is not allowed");
    if (!is_dotted_identifier(module) || !is_dotted_identifier(name)) {
      fail(op_name() + " " + text + " is not a Python name that could be imported");
    }
  }
  ValuePtr global = Value::make(Kind::kGlobal);
  global->text = module + "." + name;
  global->module = std::move(module);
  global->name = std::move(name);
  global->symbolic = !allowed_name;
  push(std::move(global));
}

// REDUCE and NEWOBJ: a global applied to a tuple, through the reduce handler when the global is
// allowed, or as an opaque object when it is a symbolic reference.
void Reader::load_call() {
  require(2);
  ValuePtr args = pop();
  ValuePtr callable = pop();
  push(call(callable, args, nullptr));
}

// NEWOBJ_EX: cls, args and a dict of keyword arguments. An allowed class takes none.
void Reader::load_newobj_ex() {
  require(3);
  ValuePtr kwargs = pop();
  ValuePtr args = pop();
  ValuePtr callable = pop();
  if (kwargs->kind != Kind::kDict) {
    fail(op_name() + ": keyword arguments are " + kind_with_article(kwargs->kind) + ", not a dict");
  }
  push(call(callable, args, kwargs));
}

ValuePtr Reader::call(const ValuePtr &callable, const ValuePtr &args, const ValuePtr &kwargs) {
  if (callable->kind != Kind::kGlobal) {
    fail(op_name() + " callable is " + describe(*callable) + ", not an allowed global");
  }
  const std::string call_name = op_name() + " " + global_text(callable->module, callable->name);
  if (!callable->symbolic && !allowed(*callable)) fail(call_name + " is not allowed");
  if (args->kind != Kind::kTuple) {
    fail(call_name + ": arguments are " + kind_with_article(args->kind) + ", not a tuple");
  }
  if (callable->symbolic) {
    // Nothing is imported or called: the object records what the call would have received.
    tree_.hand_over(args);
    if (kwargs) tree_.hand_over(kwargs);
    return tree_.make_object(*callable, args, kwargs ? kwargs : Value::make(Kind::kNone));
  }
  if (kwargs && !kwargs->entries.empty()) fail(call_name + ": keyword arguments are not allowed");
  if (!handlers_.reduce) fail(call_name + " is not allowed: no reduce handler");
  tree_.hand_over(args);
  if (kwargs) tree_.hand_over(kwargs);
  ValuePtr result = call_handler(call_name, [&] { return handlers_.reduce(*callable, *args); });
  tree_.adopt_call_result(result, call_name);
  return result;
}

// EMPTY_SET and FROZENSET: a set is held as an opaque object of its builtin class whose
// elements are its added items (nothing here needs set semantics).
void Reader::make_set(const char *name, std::vector<ValuePtr> items) {
  if (!handlers_.opaque_objects) refuse_opcode();
  Value cls;
  cls.module = "builtins";
  cls.name = name;
  cls.text = cls.module + "." + cls.name;
  ValuePtr set =
      tree_.make_object(cls, tree_.make_sequence(Kind::kTuple, {}), Value::make(Kind::kNone));
  if (!items.empty()) tree_.append(set, std::move(items), op_name());
  push(std::move(set));
}

void Reader::load_build() {
  require(2);
  ValuePtr state = pop();
  const ValuePtr &object = stack_.back();
  if (object->kind == Kind::kObject) {
    // An opaque object keeps its state as it is: a dict of attributes, (dict, slots), or
    // whatever its class's __setstate__ would have received.
    // The state is placed first: an object that is its own state then fails begin_build
    // instead of becoming a cycle that nothing frees.
    tree_.hand_over(state);
    tree_.begin_build(object);
    object->items[kObjectState] = std::move(state);
    tree_.end_build(object);
    return;
  }
  if (!handlers_.build) fail("BUILD is not allowed: no build handler");
  tree_.hand_over(state);  // first, as above
  tree_.begin_build(object);
  call_handler("BUILD of " + describe(*object), [&] { handlers_.build(*object, *state); });
  tree_.end_build(object);
}

void Reader::load_persistent_id() {
  require(1);
  ValuePtr pid = pop();
  if (!handlers_.persistent_load) fail("BINPERSID is not allowed: no persistent_load handler");
  tree_.hand_over(pid);
  ValuePtr result = call_handler("BINPERSID", [&] { return handlers_.persistent_load(*pid); });
  tree_.adopt_persistent(result, "BINPERSID");
  push(std::move(result));
}

void Reader::refuse_opcode() const {
  const char *name = opcode_name(op_);
  if (name == nullptr) fail("unknown opcode " + hex_byte(op_));
  std::string problem = std::string("opcode ") + name + " (" + hex_byte(op_) + ") is not allowed";
  switch (static_cast<Opcode>(op_)) {
    case Opcode::kInt:
    case Opcode::kLong:
    case Opcode::kFloat:
    case Opcode::kString:
    case Opcode::kUnicode:
    case Opcode::kPut:
    case Opcode::kGet:
    case Opcode::kPersId:
      problem += ": text-protocol opcodes are not supported";
      break;
    case Opcode::kNextBuffer:
    case Opcode::kReadonlyBuffer:
      // The buffers live outside the pickle (pickle.dumps' buffer_callback); a file has none.
      problem += ": protocol 5 out-of-band buffers are not supported";
      break;
    default:
      break;
  }
  fail(problem);
}

std::pair<ValuePtr, uint64_t> Reader::run() {
  for (;;) {
    op_offset_ = pos_;
    if (pos_ >= end_) {
      if (size_ > limits_.max_bytes) {
        fail("pickle exceeds " + limit_text("max_bytes", limits_.max_bytes));
      }
      fail("truncated pickle: the data ends before STOP");
    }
    if (++opcode_count_ > limits_.max_opcodes) {
      fail("opcode count exceeds " + limit_text("max_opcodes", limits_.max_opcodes));
    }
    op_ = data_[pos_++];
    switch (static_cast<Opcode>(op_)) {
      case Opcode::kProto: {
        const uint64_t version = take_le(1);
        if (version > kMaxProtocol) {
          fail("PROTO " + std::to_string(version) + " is not supported (protocols 0-5 only)");
        }
        break;
      }
      case Opcode::kStop:
        if (!marks_.empty()) fail("STOP inside an unclosed MARK");
        if (stack_.size() != 1) {
          fail("STOP with " + std::to_string(stack_.size()) + " values on the stack (expected 1)");
        }
        return {stack_.back(), pos_};

      // Stack and memo.
      case Opcode::kMark:
        if (stack_.size() + marks_.size() >= limits_.max_stack) {
          fail("stack exceeds " + limit_text("max_stack", limits_.max_stack));
        }
        marks_.push_back(stack_.size());
        break;
      case Opcode::kPop:
        if (frame_size() > 0) {
          stack_.pop_back();
        } else if (!marks_.empty()) {
          marks_.pop_back();  // as CPython: POP on an empty frame discards its MARK
        } else {
          require(1);
        }
        break;
      case Opcode::kPopMark:
        pop_frame();
        break;
      case Opcode::kDup:
        require(1);
        push(stack_.back());
        break;
      case Opcode::kFrame:
        load_frame();
        break;
      case Opcode::kMemoize:
        memo_put(memo_.size());  // as CPython: the next index is the number of entries
        break;
      case Opcode::kBinPut:
        memo_put(take_le(1));
        break;
      case Opcode::kLongBinPut:
        memo_put(take_le(4));
        break;
      case Opcode::kBinGet:
        memo_get(take_le(1));
        break;
      case Opcode::kLongBinGet:
        memo_get(take_le(4));
        break;

      // Scalars.
      case Opcode::kNone:
        push(Value::make(Kind::kNone));
        break;
      case Opcode::kNewTrue:
      case Opcode::kNewFalse: {
        ValuePtr value = Value::make(Kind::kBool);
        value->bool_value = static_cast<Opcode>(op_) == Opcode::kNewTrue;
        push(std::move(value));
        break;
      }
      case Opcode::kBinInt:
      case Opcode::kBinInt1:
      case Opcode::kBinInt2: {
        ValuePtr value = Value::make(Kind::kInt);
        const auto opcode = static_cast<Opcode>(op_);
        value->int_value = opcode == Opcode::kBinInt    ? take_i32()
                           : opcode == Opcode::kBinInt1 ? static_cast<int64_t>(take_le(1))
                                                        : static_cast<int64_t>(take_le(2));
        push(std::move(value));
        break;
      }
      case Opcode::kLong1:
        push(take_long(take_le(1)));
        break;
      case Opcode::kLong4: {
        const int32_t length = take_i32();
        if (length < 0) fail("LONG4 with negative length " + std::to_string(length));
        push(take_long(static_cast<uint64_t>(length)));
        break;
      }
      case Opcode::kBinFloat: {
        const uint8_t *bytes = take(8);
        uint64_t bits = 0;
        for (size_t i = 0; i < 8; ++i) bits = (bits << 8) | bytes[i];  // big-endian
        ValuePtr value = Value::make(Kind::kFloat);
        std::memcpy(&value->float_value, &bits, sizeof bits);
        push(std::move(value));
        break;
      }
      case Opcode::kBinUnicode:
        push(take_text(Kind::kString, take_le(4)));
        break;
      case Opcode::kShortBinUnicode:
        push(take_text(Kind::kString, take_le(1)));
        break;
      case Opcode::kBinUnicode8:
        push(take_text(Kind::kString, take_le(8)));
        break;
      case Opcode::kBinBytes:
        push(take_text(Kind::kBytes, take_le(4)));
        break;
      case Opcode::kBinBytes8:
      case Opcode::kByteArray8:  // a bytearray is read as bytes: nothing here mutates it
        push(take_text(Kind::kBytes, take_le(8)));
        break;
      case Opcode::kShortBinBytes:
      case Opcode::kShortBinString:
        push(take_text(Kind::kBytes, take_le(1)));
        break;
      case Opcode::kBinString: {
        const int32_t length = take_i32();
        if (length < 0) fail("BINSTRING with negative length " + std::to_string(length));
        push(take_text(Kind::kBytes, static_cast<uint64_t>(length)));
        break;
      }

      // Containers.
      case Opcode::kEmptyTuple:
        push(tree_.make_sequence(Kind::kTuple, {}));
        break;
      case Opcode::kTuple1:
      case Opcode::kTuple2:
      case Opcode::kTuple3: {
        const size_t count = op_ - static_cast<uint8_t>(Opcode::kTuple1) + 1;
        require(count);
        std::vector<ValuePtr> items(std::make_move_iterator(stack_.end() - count),
                                    std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - count);
        push(tree_.make_sequence(Kind::kTuple, std::move(items)));
        break;
      }
      case Opcode::kTuple:
        push(tree_.make_sequence(Kind::kTuple, pop_frame()));
        break;
      case Opcode::kEmptyList:
        push(tree_.make_sequence(Kind::kList, {}));
        break;
      case Opcode::kList:
        push(tree_.make_sequence(Kind::kList, pop_frame()));
        break;
      case Opcode::kEmptyDict:
        push(tree_.make_dict({}, op_name()));
        break;
      case Opcode::kDict:
        push(tree_.make_dict(pop_frame(), op_name()));
        break;
      case Opcode::kAppend: {
        require(2);
        std::vector<ValuePtr> items{pop()};
        tree_.append(stack_.back(), std::move(items), op_name());
        break;
      }
      case Opcode::kAppends: {
        std::vector<ValuePtr> items = pop_frame();
        require(1);
        tree_.append(stack_.back(), std::move(items), op_name());
        break;
      }
      case Opcode::kSetItem: {
        require(3);
        std::vector<ValuePtr> items(2);
        items[1] = pop();
        items[0] = pop();
        tree_.set_items(stack_.back(), std::move(items), op_name());
        break;
      }
      case Opcode::kSetItems: {
        std::vector<ValuePtr> items = pop_frame();
        require(1);
        tree_.set_items(stack_.back(), std::move(items), op_name());
        break;
      }

      // Everything that reaches outside the pickle goes through the caller's handlers.
      case Opcode::kGlobal:
        load_global();
        break;
      case Opcode::kStackGlobal:
        load_stack_global();
        break;
      case Opcode::kReduce:
      case Opcode::kNewObj:
        load_call();
        break;
      case Opcode::kNewObjEx:
        if (!handlers_.opaque_objects) refuse_opcode();  // keyword arguments: opaque classes only
        load_newobj_ex();
        break;
      case Opcode::kEmptySet:
        make_set("set", {});
        break;
      case Opcode::kFrozenSet:
        if (!handlers_.opaque_objects) refuse_opcode();
        make_set("frozenset", pop_frame());
        break;
      case Opcode::kAddItems: {
        if (!handlers_.opaque_objects) refuse_opcode();
        std::vector<ValuePtr> items = pop_frame();
        require(1);
        const ValuePtr &set = stack_.back();
        if (set->kind != Kind::kObject || set->module != "builtins" || set->name != "set") {
          fail("ADDITEMS target is " + describe(*set) + ", not a set");
        }
        tree_.append(set, std::move(items), op_name());
        break;
      }
      case Opcode::kBuild:
        load_build();
        break;
      case Opcode::kBinPersId:
        load_persistent_id();
        break;

      default:
        refuse_opcode();
    }
  }
}

}  // namespace

std::pair<ValuePtr, uint64_t> read_pickle(const uint8_t *data, uint64_t size,
                                          const Handlers &handlers, const Limits &limits) {
  return Reader(data, size, handlers, limits).run();
}

}  // namespace statepack::pickle
