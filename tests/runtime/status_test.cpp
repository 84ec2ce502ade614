// SPDX-License-Identifier: Apache-2.0
// Status codes are part of the ABI: their numbers never change and each has its own text.
#include <doctest/doctest.h>

#include <cstddef>
#include <set>
#include <string>

#include "statepack/statepack.h"

namespace {

// Every status and its number, as published. The numbers are checked at compile time, so a
// renumbering does not build; the list's completeness is checked at run time below.
struct Published {
  spk_status status;
  int number;
};
constexpr Published kAll[] = {
    {SPK_OK, 0},
    {SPK_ERR_INVALID_ARGUMENT, 100},
    {SPK_ERR_NOT_FOUND, 101},
    {SPK_ERR_OUT_OF_RANGE, 102},
    {SPK_ERR_BUFFER_TOO_SMALL, 103},
    {SPK_ERR_UNSUPPORTED, 104},
    {SPK_ERR_WRONG_KIND, 105},
    {SPK_ERR_TRUNCATED, 200},
    {SPK_ERR_BAD_MAGIC, 201},
    {SPK_ERR_UNSUPPORTED_VERSION, 202},
    {SPK_ERR_PREAMBLE_CHECKSUM, 203},
    {SPK_ERR_BAD_PREAMBLE, 204},
    {SPK_ERR_HEADER_CHECKSUM, 300},
    {SPK_ERR_HEADER_MALFORMED, 301},
    {SPK_ERR_HEADER_LIMIT, 302},
    {SPK_ERR_BAD_TENSOR, 303},
    {SPK_ERR_BAD_SEGMENT, 304},
    {SPK_ERR_NOT_SORTED, 305},
    {SPK_ERR_BAD_QUANTIZATION, 306},
    {SPK_ERR_BAD_METADATA, 307},
    {SPK_ERR_SEGMENT_CHECKSUM, 400},
    {SPK_ERR_PADDING_NOT_ZERO, 401},
    {SPK_ERR_CORRUPT_DATA, 402},
};
constexpr std::size_t kCount = sizeof(kAll) / sizeof(kAll[0]);

constexpr bool numbers_match() {
  for (const Published &p : kAll) {
    if (static_cast<int>(p.status) != p.number) return false;
  }
  return true;
}
static_assert(numbers_match(), "a status number changed: they are part of the ABI");
static_assert(kCount == 23, "a status was added: publish its number in kAll");

constexpr bool numbers_distinct() {
  for (std::size_t i = 0; i < kCount; ++i) {
    for (std::size_t j = i + 1; j < kCount; ++j) {
      if (kAll[i].number == kAll[j].number) return false;
    }
  }
  return true;
}
static_assert(numbers_distinct(), "two statuses share a number");

}  // namespace

TEST_CASE("every status has its own description, and no other number has one") {
  std::set<std::string> texts;
  for (const Published &p : kAll) {
    const std::string text = spk_status_str(p.status);
    INFO("status ", p.number, ": ", text);
    CHECK(text != "unknown status");
    CHECK(!text.empty());
    texts.insert(text);
  }
  CHECK(texts.size() == kCount);
  // Every other value the enum can hold (0 to 511: the enumerators need 9 bits) reads as
  // unknown, so a status the runtime describes but this list lacks fails here.
  for (int number = 0; number < 512; ++number) {
    bool published = false;
    for (const Published &p : kAll) published |= p.number == number;
    if (published) continue;
    INFO("number ", number);
    CHECK(std::string(spk_status_str(static_cast<spk_status>(number))) == "unknown status");
  }
}
