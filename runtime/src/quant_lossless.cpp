// SPDX-License-Identifier: Apache-2.0
// The Quantization table's `lossless` flag, read on request rather than by spk_open: it is
// for the host (unpack restores the source dtype) and for callers that ask, so devices that
// never call it pay no code (this file is its own object in the static library) and no stack
// on spk_open's deepest chain.
#include "blob_internal.hpp"
#include "flatbuffer_reader.hpp"

using namespace statepack::rt;

extern "C" spk_status spk_quant_lossless(const spk_blob *blob, const spk_tensor *t,
                                         uint8_t *lossless) {
  if (blob == nullptr || t == nullptr || lossless == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  *lossless = 0;
  if (t->index >= blob->tensor_count) return SPK_ERR_OUT_OF_RANGE;
  const FbBuffer buf = header_buffer(blob);
  FbTable tensor{};
  FbTable quant{};
  bool present = false;
  uint64_t value = 0;
  if (!fb_vector_table(buf, FbVector{blob->tensors, blob->tensor_count}, t->index, &tensor) ||
      !fb_table_field(buf, tensor, tensor_field::kQuant, &present, &quant)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!present) return SPK_OK;
  if (!fb_scalar(buf, quant, quant_field::kLossless, 1, 0, &value)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  // Only an integer scheme can be a grid; a flag on anything else is not believed.
  const uint8_t scheme = t->quant.scheme;
  *lossless = value != 0 && scheme != SPK_QUANT_NONE && scheme != SPK_QUANT_F16_CAST &&
                      scheme != SPK_QUANT_BF16_CAST
                  ? 1
                  : 0;
  return SPK_OK;
}
