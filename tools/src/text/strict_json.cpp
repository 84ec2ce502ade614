// SPDX-License-Identifier: Apache-2.0
// Strict JSON parsing: nlohmann's SAX parser (which checks grammar, string escapes and trailing
// input) feeding our own DOM builder, which adds what nlohmann lets through: duplicate keys
// (it keeps the last one, other readers keep the first) and unbounded nesting.
#include "statepack/tools/text/strict_json.hpp"

#include <cstdio>
#include <iterator>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/text/quote.hpp"
#include "statepack/tools/text/utf8.hpp"

namespace statepack {
namespace {

using nlohmann::json;

// Longest error detail we quote from nlohmann (its "last read" can be a whole 100 MB string).
constexpr size_t kMaxDetailBytes = 300;

// nlohmann reads its input through an iterator; this one publishes how far it has got, so the
// DOM builder can say where a duplicate key or a too-deep bracket is.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char *;
  using reference = const char &;

  TrackingIterator(const char *position, const char **cursor)
      : position_(position), cursor_(cursor) {}
  reference operator*() const { return *position_; }
  TrackingIterator &operator++() {
    ++position_;
    *cursor_ = position_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator &other) const { return position_ == other.position_; }
  bool operator!=(const TrackingIterator &other) const { return position_ != other.position_; }

 private:
  const char *position_;
  const char **cursor_;
};

// Builds the value like nlohmann's own DOM parser, but stops at the first duplicate key or
// too-deep container and remembers what went wrong and where.
class StrictDomBuilder : public nlohmann::json_sax<json> {
 public:
  StrictDomBuilder(std::string_view text, const char *const *cursor, size_t max_depth)
      : text_(text), cursor_(cursor), max_depth_(max_depth) {}

  bool null() override { return insert(json(nullptr)) != nullptr; }
  bool boolean(bool value) override { return insert(json(value)) != nullptr; }
  bool number_integer(number_integer_t value) override { return insert(json(value)) != nullptr; }
  bool number_unsigned(number_unsigned_t value) override { return insert(json(value)) != nullptr; }
  bool number_float(number_float_t value, const string_t & /*text*/) override {
    return insert(json(value)) != nullptr;
  }
  bool string(string_t &value) override { return insert(json(std::move(value))) != nullptr; }
  bool binary(binary_t & /*value*/) override {
    // Only the binary formats (CBOR, BSON...) produce these; JSON text never does.
    return fail(consumed(), "unexpected binary value");
  }
  bool start_object(std::size_t /*elements*/) override { return open(json::value_t::object); }
  bool start_array(std::size_t /*elements*/) override { return open(json::value_t::array); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t &value) override {
    json::object_t &object = stack_.back()->get_ref<json::object_t &>();
    if (object.count(value) != 0) {
      return fail(key_offset(), "duplicate key " + quote_for_message(value));
    }
    key_ = std::move(value);
    return true;
  }

  bool parse_error(std::size_t position, const std::string & /*last_token*/,
                   const nlohmann::detail::exception &error) override {
    // nlohmann counts the offending byte as read (and end of input as one more byte).
    return fail(position == 0 ? 0 : position - 1, describe(error.what()));
  }

  bool failed() const { return failed_; }
  size_t error_offset() const { return error_offset_; }
  const std::string &error() const { return error_; }
  json take_result() { return std::move(root_); }

 private:
  size_t consumed() const { return static_cast<size_t>(*cursor_ - text_.data()); }

  // nlohmann calls key() just after reading the key's closing quote. Walk back to the opening
  // quote: the first '"' not escaped by an odd run of backslashes.
  size_t key_offset() const {
    size_t closing = consumed() - 1;
    for (size_t i = closing; i-- > 0;) {
      if (text_[i] != '"') continue;
      size_t backslashes = 0;
      while (backslashes < i && text_[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return i;
    }
    return closing;
  }

  // Drops nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 5: "
  // prefix (we give a byte offset instead) and keeps the message printable and short.
  static std::string describe(const std::string &what) {
    const size_t colon = what.find(": ");
    const std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    std::string out;
    for (size_t i = 0; i < detail.size(); ++i) {
      if (out.size() >= kMaxDetailBytes) {
        out += "...";
        break;
      }
      const auto byte = static_cast<unsigned char>(detail[i]);
      if (byte < 0x20 || byte >= 0x7F) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\x%02X", byte);
        out += escaped;
      } else {
        out += detail[i];
      }
    }
    return out;
  }

  bool open(json::value_t type) {
    if (stack_.size() >= max_depth_) {
      return fail(consumed() - 1, "nesting deeper than " + std::to_string(max_depth_) + " levels");
    }
    json *node = insert(json(type));
    stack_.push_back(node);
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  // Places a value at the top level, at the end of the open array, or under the pending key.
  // Pointers on the stack stay valid: a container only grows while it is on top of the stack.
  json *insert(json &&value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json &parent = *stack_.back();
    if (parent.is_array()) {
      json::array_t &array = parent.get_ref<json::array_t &>();
      array.push_back(std::move(value));
      return &array.back();
    }
    json::object_t &object = parent.get_ref<json::object_t &>();
    return &object.emplace(std::move(key_), std::move(value)).first->second;
  }

  bool fail(size_t offset, std::string message) {
    failed_ = true;
    error_offset_ = offset;
    error_ = std::move(message);
    return false;
  }

  std::string_view text_;
  const char *const *cursor_;
  size_t max_depth_;
  json root_;
  std::vector<json *> stack_;
  std::string key_;
  bool failed_ = false;
  size_t error_offset_ = 0;
  std::string error_;
};

}  // namespace

json parse_strict_json(std::string_view text, const std::string &file, const std::string &what,
                       uint64_t base_offset, size_t max_depth) {
  const auto fail_at = [&](uint64_t offset, const std::string &problem) {
    fail_input(file, "invalid " + what + ": " + problem + " at byte " +
                         std::to_string(base_offset + offset));
  };

  // Checked before parsing so that bytes outside strings get a clear message too, and so that
  // nlohmann's own messages below never quote broken UTF-8.
  if (const std::optional<size_t> bad = find_invalid_utf8(text)) {
    fail_at(*bad, "invalid UTF-8");
  }
  // nlohmann takes a NUL byte for the end of the input, so "{}\0junk" would pass as "{}". JSON
  // has no place for a raw NUL (inside strings it must be escaped), so refuse it outright.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) fail_at(nul, "NUL byte");
  // nlohmann skips a UTF-8 byte-order mark; RFC 8259 forbids sending one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") fail_at(0, "byte-order mark");

  const char *cursor = text.data();
  TrackingIterator first(text.data(), &cursor);
  TrackingIterator last(text.data() + text.size(), &cursor);
  StrictDomBuilder builder(text, &cursor, max_depth);
  const bool parsed = json::sax_parse(first, last, &builder, json::input_format_t::json,
                                      /*strict=*/true, /*ignore_comments=*/false);
  if (builder.failed()) fail_at(builder.error_offset(), builder.error());
  if (!parsed) fail_at(text.size(), "parse failed");  // every failure reports itself above
  return builder.take_result();
}

}  // namespace statepack
