// Status codes are part of the ABI: their numbers never change and each has its own text.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "statepack/statepack.h"

TEST_CASE("status numbers are stable") {
  CHECK(SPK_OK == 0);
  CHECK(SPK_ERR_INVALID_ARGUMENT == 100);
  CHECK(SPK_ERR_BUFFER_TOO_SMALL == 103);
  CHECK(SPK_ERR_TRUNCATED == 200);
  CHECK(SPK_ERR_BAD_MAGIC == 201);
  CHECK(SPK_ERR_HEADER_CHECKSUM == 300);
  CHECK(SPK_ERR_BAD_SEGMENT == 304);
  CHECK(SPK_ERR_SEGMENT_CHECKSUM == 400);
  CHECK(SPK_ERR_PADDING_NOT_ZERO == 401);
}

TEST_CASE("every status has its own description") {
  const spk_status all[] = {SPK_OK,
                            SPK_ERR_INVALID_ARGUMENT,
                            SPK_ERR_NOT_FOUND,
                            SPK_ERR_OUT_OF_RANGE,
                            SPK_ERR_BUFFER_TOO_SMALL,
                            SPK_ERR_UNSUPPORTED,
                            SPK_ERR_WRONG_KIND,
                            SPK_ERR_TRUNCATED,
                            SPK_ERR_BAD_MAGIC,
                            SPK_ERR_UNSUPPORTED_VERSION,
                            SPK_ERR_PREAMBLE_CHECKSUM,
                            SPK_ERR_BAD_PREAMBLE,
                            SPK_ERR_HEADER_CHECKSUM,
                            SPK_ERR_HEADER_MALFORMED,
                            SPK_ERR_HEADER_LIMIT,
                            SPK_ERR_BAD_TENSOR,
                            SPK_ERR_BAD_SEGMENT,
                            SPK_ERR_NOT_SORTED,
                            SPK_ERR_BAD_QUANTIZATION,
                            SPK_ERR_BAD_METADATA,
                            SPK_ERR_SEGMENT_CHECKSUM,
                            SPK_ERR_PADDING_NOT_ZERO,
                            SPK_ERR_CORRUPT_DATA};
  std::set<std::string> texts;
  for (spk_status s : all) {
    const std::string text = spk_status_str(s);
    CHECK(text != "unknown status");
    texts.insert(text);
  }
  CHECK(texts.size() == sizeof(all) / sizeof(all[0]));
  CHECK(std::string(spk_status_str(static_cast<spk_status>(499))) == "unknown status");
}
