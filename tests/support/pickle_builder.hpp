// SPDX-License-Identifier: Apache-2.0
// Test helper: writes a pickle opcode by opcode, so tests can build exactly the stream they mean,
// including malformed and hostile ones that no Python pickler would produce.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "statepack/tools/formats/torch/pickle_opcodes.hpp"

namespace statepack::test {

// Writes a pickle one opcode at a time.
class Pickle {
 public:
  using Bytes = std::vector<uint8_t>;

  Pickle &op(pickle::Opcode code) { return byte(static_cast<uint8_t>(code)); }
  Pickle &byte(uint8_t value) {
    bytes_.push_back(value);
    return *this;
  }
  Pickle &le(uint64_t value, int count) {
    for (int i = 0; i < count; ++i) {
      byte(i < 8 ? static_cast<uint8_t>(value >> (8 * i)) : uint8_t{0});  // sign bytes past 8: 0
    }
    return *this;
  }
  Pickle &raw(const std::string &text) {
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    return *this;
  }
  Pickle &proto(uint8_t version = 2) { return op(pickle::Opcode::kProto).byte(version); }
  Pickle &str(const std::string &text) {
    return op(pickle::Opcode::kBinUnicode).le(text.size(), 4).raw(text);
  }
  Pickle &short_str(const std::string &text) {
    return op(pickle::Opcode::kShortBinUnicode).byte(static_cast<uint8_t>(text.size())).raw(text);
  }
  // STACK_GLOBAL of module and name pushed as SHORT_BINUNICODE, as protocol 4 writes it.
  Pickle &stack_global(const std::string &module, const std::string &name) {
    return short_str(module).short_str(name).op(pickle::Opcode::kStackGlobal);
  }
  Pickle &frame(uint64_t length) { return op(pickle::Opcode::kFrame).le(length, 8); }
  Pickle &small(uint8_t value) { return op(pickle::Opcode::kBinInt1).byte(value); }
  Pickle &global(const std::string &module, const std::string &name) {
    return op(pickle::Opcode::kGlobal).raw(module + "\n" + name + "\n");
  }
  Pickle &put(uint8_t index) { return op(pickle::Opcode::kBinPut).byte(index); }
  Pickle &get(uint8_t index) { return op(pickle::Opcode::kBinGet).byte(index); }
  Pickle &repeat(pickle::Opcode code, int count) {
    for (int i = 0; i < count; ++i) op(code);
    return *this;
  }
  Bytes stop() const {
    Bytes bytes = bytes_;
    bytes.push_back(static_cast<uint8_t>(pickle::Opcode::kStop));
    return bytes;
  }
  Bytes bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

}  // namespace statepack::test
