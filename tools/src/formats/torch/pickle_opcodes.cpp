// SPDX-License-Identifier: Apache-2.0
// The pickle opcode table: names and protocols as CPython's pickletools lists them, so that a
// refusal names the opcode the way `python -m pickletools` would show it.
#include "statepack/tools/formats/torch/pickle_opcodes.hpp"

namespace statepack::pickle {
namespace {

struct OpcodeInfo {
  Opcode code;
  const char *name;
  int protocol;
};

constexpr OpcodeInfo kOpcodes[] = {
    {Opcode::kMark, "MARK", 0},
    {Opcode::kStop, "STOP", 0},
    {Opcode::kPop, "POP", 0},
    {Opcode::kDup, "DUP", 0},
    {Opcode::kFloat, "FLOAT", 0},
    {Opcode::kInt, "INT", 0},
    {Opcode::kLong, "LONG", 0},
    {Opcode::kNone, "NONE", 0},
    {Opcode::kPersId, "PERSID", 0},
    {Opcode::kReduce, "REDUCE", 0},
    {Opcode::kString, "STRING", 0},
    {Opcode::kUnicode, "UNICODE", 0},
    {Opcode::kAppend, "APPEND", 0},
    {Opcode::kBuild, "BUILD", 0},
    {Opcode::kGlobal, "GLOBAL", 0},
    {Opcode::kDict, "DICT", 0},
    {Opcode::kGet, "GET", 0},
    {Opcode::kInst, "INST", 0},
    {Opcode::kList, "LIST", 0},
    {Opcode::kPut, "PUT", 0},
    {Opcode::kSetItem, "SETITEM", 0},
    {Opcode::kTuple, "TUPLE", 0},
    {Opcode::kEmptyTuple, "EMPTY_TUPLE", 1},
    {Opcode::kPopMark, "POP_MARK", 1},
    {Opcode::kBinFloat, "BINFLOAT", 1},
    {Opcode::kBinInt, "BININT", 1},
    {Opcode::kBinInt1, "BININT1", 1},
    {Opcode::kBinInt2, "BININT2", 1},
    {Opcode::kBinPersId, "BINPERSID", 1},
    {Opcode::kBinString, "BINSTRING", 1},
    {Opcode::kShortBinString, "SHORT_BINSTRING", 1},
    {Opcode::kBinUnicode, "BINUNICODE", 1},
    {Opcode::kEmptyList, "EMPTY_LIST", 1},
    {Opcode::kAppends, "APPENDS", 1},
    {Opcode::kBinGet, "BINGET", 1},
    {Opcode::kLongBinGet, "LONG_BINGET", 1},
    {Opcode::kObj, "OBJ", 1},
    {Opcode::kBinPut, "BINPUT", 1},
    {Opcode::kLongBinPut, "LONG_BINPUT", 1},
    {Opcode::kSetItems, "SETITEMS", 1},
    {Opcode::kEmptyDict, "EMPTY_DICT", 1},
    {Opcode::kProto, "PROTO", 2},
    {Opcode::kNewObj, "NEWOBJ", 2},
    {Opcode::kExt1, "EXT1", 2},
    {Opcode::kExt2, "EXT2", 2},
    {Opcode::kExt4, "EXT4", 2},
    {Opcode::kTuple1, "TUPLE1", 2},
    {Opcode::kTuple2, "TUPLE2", 2},
    {Opcode::kTuple3, "TUPLE3", 2},
    {Opcode::kNewTrue, "NEWTRUE", 2},
    {Opcode::kNewFalse, "NEWFALSE", 2},
    {Opcode::kLong1, "LONG1", 2},
    {Opcode::kLong4, "LONG4", 2},
    {Opcode::kBinBytes, "BINBYTES", 3},
    {Opcode::kShortBinBytes, "SHORT_BINBYTES", 3},
    {Opcode::kShortBinUnicode, "SHORT_BINUNICODE", 4},
    {Opcode::kBinUnicode8, "BINUNICODE8", 4},
    {Opcode::kBinBytes8, "BINBYTES8", 4},
    {Opcode::kEmptySet, "EMPTY_SET", 4},
    {Opcode::kAddItems, "ADDITEMS", 4},
    {Opcode::kFrozenSet, "FROZENSET", 4},
    {Opcode::kNewObjEx, "NEWOBJ_EX", 4},
    {Opcode::kStackGlobal, "STACK_GLOBAL", 4},
    {Opcode::kMemoize, "MEMOIZE", 4},
    {Opcode::kFrame, "FRAME", 4},
    {Opcode::kByteArray8, "BYTEARRAY8", 5},
    {Opcode::kNextBuffer, "NEXT_BUFFER", 5},
    {Opcode::kReadonlyBuffer, "READONLY_BUFFER", 5},
};

const OpcodeInfo *find(uint8_t byte) {
  for (const OpcodeInfo &info : kOpcodes) {
    if (static_cast<uint8_t>(info.code) == byte) return &info;
  }
  return nullptr;
}

}  // namespace

const char *opcode_name(uint8_t byte) {
  const OpcodeInfo *info = find(byte);
  return info != nullptr ? info->name : nullptr;
}

int opcode_protocol(uint8_t byte) {
  const OpcodeInfo *info = find(byte);
  return info != nullptr ? info->protocol : -1;
}

}  // namespace statepack::pickle
