// SPDX-License-Identifier: Apache-2.0
// Limits and edge rules of the runtime's header reader that the fuzzers pinned down: the name
// length limit, and vtables the FlatBuffers Verifier accepts although no builder writes them.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "support/blob_assembler.hpp"

namespace fb = statepack::fb;
using statepack::test::assemble_blob;
using statepack::test::make_tensor_header;
using statepack::test::TensorRecord;

TEST_CASE("tensor names of up to 65535 bytes open, longer ones are a header limit") {
  for (const size_t length : {size_t{65535}, size_t{65536}}) {
    CAPTURE(length);
    TensorRecord r;
    r.name = std::string(length, 'n');
    r.dtype = fb::DType::U8;
    r.shape = {4};
    r.stored_size = r.decoded_size = 4;
    const std::vector<uint8_t> blob =
        assemble_blob(make_tensor_header({r}), {std::vector<uint8_t>{1, 2, 3, 4}});
    spk_blob opened;
    CHECK(spk_open(&opened, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS) ==
          (length <= 65535 ? SPK_OK : SPK_ERR_HEADER_LIMIT));
  }
}

TEST_CASE("a vtable shorter than 4 bytes is a table without fields, as the Verifier has it") {
  // Root offset 12, "SPK1", a 0-byte vtable at 8, the root table at 12 pointing back to it.
  for (const uint16_t vtable_size : {uint16_t{0}, uint16_t{2}}) {
    CAPTURE(vtable_size);
    std::vector<uint8_t> header = {12, 0, 0, 0, 'S', 'P', 'K', '1', 0, 0, 0, 0, 4, 0, 0, 0};
    header[8] = static_cast<uint8_t>(vtable_size);
    flatbuffers::Verifier verifier(header.data(), header.size());
    REQUIRE(fb::VerifyHeaderBuffer(verifier));
    const std::vector<uint8_t> blob =
        assemble_blob([&](const std::vector<fb::Segment> &) { return header; }, {});
    spk_blob opened;
    REQUIRE(spk_open(&opened, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    CHECK(spk_tensor_count(&opened) == 0);
    CHECK(spk_alignment(&opened) == 64);  // the schema's default
  }
  // An odd size stays malformed for both.
  std::vector<uint8_t> header = {12, 0, 0, 0, 'S', 'P', 'K', '1', 3, 0, 0, 0, 4, 0, 0, 0};
  flatbuffers::Verifier verifier(header.data(), header.size());
  CHECK_FALSE(fb::VerifyHeaderBuffer(verifier));
  const std::vector<uint8_t> blob =
      assemble_blob([&](const std::vector<fb::Segment> &) { return header; }, {});
  spk_blob opened;
  CHECK(spk_open(&opened, blob.data(), blob.size(), 0) == SPK_ERR_HEADER_MALFORMED);
}
