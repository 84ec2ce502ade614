// SPDX-License-Identifier: Apache-2.0
// A parser that knows only the few literals a plain array's header uses, so nothing in a file
// can make it do more than read them.
#include "numpy_header.hpp"

#include <optional>
#include <set>
#include <utility>

#include "statepack/statepack.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/text/quote.hpp"

namespace statepack {
namespace {

// Recursive descent over the header's dict literal: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } with any of the keys' orders, Python whitespace and either quote.
class HeaderParser {
 public:
  HeaderParser(const std::string &where, std::string_view text, uint64_t base_offset)
      : where_(where), text_(text), base_offset_(base_offset) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false;
    bool seen_fortran = false;
    bool seen_shape = false;
    skip_space();
    expect('{', "'{' opening the header dictionary");
    skip_space();
    while (!at('}')) {
      const size_t key_at = pos_;
      const std::string key = parse_string("a key");
      skip_space();
      expect(':', "':' after the key");
      skip_space();
      if (key == "descr") {
        mark_seen(seen_descr, key, key_at);
        header.descr = parse_descr();
      } else if (key == "fortran_order") {
        mark_seen(seen_fortran, key, key_at);
        header.fortran_order = parse_bool(key);
      } else if (key == "shape") {
        mark_seen(seen_shape, key, key_at);
        header.shape = parse_shape();
      } else {
        pos_ = key_at;
        fail("unknown key " + quote_for_message(key) +
             " (allowed: 'descr', 'fortran_order', 'shape')");
      }
      skip_space();
      if (at(',')) {
        ++pos_;
        skip_space();
      } else if (!at('}')) {
        fail("expected ',' or '}' after the value of '" + key + "'");
      }
    }
    ++pos_;
    // numpy pads the header with spaces and ends it with '\n'.
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dictionary");
    if (!seen_descr) fail_missing("descr");
    if (!seen_fortran) fail_missing("fortran_order");
    if (!seen_shape) fail_missing("shape");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string &problem) const {
    fail_input(where_, "invalid .npy header: " + problem + " at byte " +
                           std::to_string(base_offset_ + pos_));
  }

  [[noreturn]] void fail_missing(const char *key) const {
    fail_input(where_, std::string("invalid .npy header: the key '") + key + "' is missing");
  }

  void mark_seen(bool &seen, const std::string &key, size_t key_at) {
    if (seen) {
      pos_ = key_at;
      fail("the key '" + key + "' appears twice");
    }
    seen = true;
  }

  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  void expect(char c, const char *what) {
    if (!at(c)) fail(std::string("expected ") + what);
    ++pos_;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // A quoted string without escapes (no descr or key needs one).
  std::string parse_string(const char *what) {
    if (!at('\'') && !at('"')) fail(std::string("expected ") + what + " (a quoted string)");
    const char quote = text_[pos_++];
    const size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '\\') fail("escape sequences in strings are not supported");
      if (c < 0x20 || c >= 0x7F) fail("strings may hold only printable ASCII");
      ++pos_;
    }
    if (pos_ == text_.size()) fail("unterminated string");
    return std::string(text_.substr(begin, pos_++ - begin));
  }

  std::string parse_descr() {
    if (at('[')) {
      fail_input(where_,
                 "structured dtypes (a descr that is a list of fields) are not supported; "
                 "save each field as its own array");
    }
    if (!at('\'') && !at('"')) fail("the value of 'descr' must be a string");
    return parse_string("the descr");
  }

  bool parse_bool(const std::string &key) {
    for (const auto &[word, value] : {std::pair<std::string_view, bool>{"True", true},
                                      std::pair<std::string_view, bool>{"False", false}}) {
      if (text_.substr(pos_, word.size()) == word && !identifier_char(pos_ + word.size())) {
        pos_ += word.size();
        return value;
      }
    }
    fail("the value of '" + key + "' must be True or False");
  }

  bool identifier_char(size_t at_pos) const {
    if (at_pos >= text_.size()) return false;
    const char c = text_[at_pos];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }

  // A tuple of non-negative integers: (), (3,), (2, 3) or (2, 3,). "(3)" is an int in Python.
  std::vector<uint64_t> parse_shape() {
    if (!at('(')) fail("the value of 'shape' must be a tuple of integers");
    ++pos_;
    std::vector<uint64_t> shape;
    bool trailing_comma = false;
    skip_space();
    while (!at(')')) {
      if (shape.size() == SPK_MAX_RANK) {
        fail("shape has more than " + std::to_string(SPK_MAX_RANK) +
             " dimensions, the most statepack supports");
      }
      shape.push_back(parse_dimension());
      skip_space();
      trailing_comma = at(',');
      if (trailing_comma) {
        ++pos_;
        skip_space();
      } else if (!at(')')) {
        fail("expected ',' or ')' in the shape");
      }
    }
    if (shape.size() == 1 && !trailing_comma) {
      fail("shape (" + std::to_string(shape[0]) + ") is an integer in Python, not a tuple");
    }
    ++pos_;
    return shape;
  }

  uint64_t parse_dimension() {
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
      fail("shape dimensions must be non-negative integers");
    }
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9') {
      fail("a dimension has a leading zero");
    }
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (__builtin_mul_overflow(value, uint64_t{10}, &value) ||
          __builtin_add_overflow(value, digit, &value)) {
        fail("a dimension exceeds 2^64-1");
      }
      ++pos_;
    }
    if (identifier_char(pos_)) fail("a dimension is followed by a letter");
    return value;
  }

  const std::string &where_;
  std::string_view text_;
  uint64_t base_offset_;
  size_t pos_ = 0;
};

}  // namespace

NpyHeader parse_npy_header(const std::string &where, std::string_view text, uint64_t base_offset) {
  return HeaderParser(where, text, base_offset).parse();
}

}  // namespace statepack
