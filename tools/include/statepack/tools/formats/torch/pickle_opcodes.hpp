// SPDX-License-Identifier: Apache-2.0
// The pickle opcode table: every opcode byte of protocols 0-5 with the name pickletools gives it
// and the protocol that introduced it. The reader uses it to name what it refuses; tests use the
// enum to write pickles byte by byte.
#pragma once

#include <cstdint>

namespace statepack::pickle {

/// Opcode bytes, named after CPython's pickletools (kBinPut is BINPUT, kStackGlobal is
/// STACK_GLOBAL). Listing an opcode here does not mean the reader accepts it.
enum class Opcode : uint8_t {
  // Protocol 0 (the text ones carry decimal or newline-terminated arguments).
  kMark = 0x28,
  kStop = 0x2e,
  kPop = 0x30,
  kDup = 0x32,
  kFloat = 0x46,
  kInt = 0x49,
  kLong = 0x4c,
  kNone = 0x4e,
  kPersId = 0x50,
  kReduce = 0x52,
  kString = 0x53,
  kUnicode = 0x56,
  kAppend = 0x61,
  kBuild = 0x62,
  kGlobal = 0x63,
  kDict = 0x64,
  kGet = 0x67,
  kInst = 0x69,
  kList = 0x6c,
  kPut = 0x70,
  kSetItem = 0x73,
  kTuple = 0x74,
  // Protocol 1.
  kEmptyTuple = 0x29,
  kPopMark = 0x31,
  kBinFloat = 0x47,
  kBinInt = 0x4a,
  kBinInt1 = 0x4b,
  kBinInt2 = 0x4d,
  kBinPersId = 0x51,
  kBinString = 0x54,
  kShortBinString = 0x55,
  kBinUnicode = 0x58,
  kEmptyList = 0x5d,
  kAppends = 0x65,
  kBinGet = 0x68,
  kLongBinGet = 0x6a,
  kObj = 0x6f,
  kBinPut = 0x71,
  kLongBinPut = 0x72,
  kSetItems = 0x75,
  kEmptyDict = 0x7d,
  // Protocol 2.
  kProto = 0x80,
  kNewObj = 0x81,
  kExt1 = 0x82,
  kExt2 = 0x83,
  kExt4 = 0x84,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  // Protocol 3.
  kBinBytes = 0x42,
  kShortBinBytes = 0x43,
  // Protocol 4.
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
  // Protocol 5.
  kByteArray8 = 0x96,
  kNextBuffer = 0x97,
  kReadonlyBuffer = 0x98,
};

/// The pickletools name of an opcode byte ("STACK_GLOBAL"), or nullptr for a byte that no
/// protocol defines.
const char *opcode_name(uint8_t byte);

/// The protocol (0-5) that introduced an opcode byte, or -1 for a byte that no protocol defines.
int opcode_protocol(uint8_t byte);

}  // namespace statepack::pickle
