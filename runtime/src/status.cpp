// SPDX-License-Identifier: Apache-2.0
// Status descriptions. SPK_NO_STATUS_STRINGS drops them from size-constrained builds.
#include "statepack/statepack.h"

extern "C" const char *spk_status_str(spk_status status) {
#ifdef SPK_NO_STATUS_STRINGS
  (void)status;
  return "statepack status";
#else
  switch (status) {
    case SPK_OK:
      return "ok";
    case SPK_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case SPK_ERR_NOT_FOUND:
      return "not found";
    case SPK_ERR_OUT_OF_RANGE:
      return "index out of range";
    case SPK_ERR_BUFFER_TOO_SMALL:
      return "output buffer too small";
    case SPK_ERR_UNSUPPORTED:
      return "not supported by this build";
    case SPK_ERR_WRONG_KIND:
      return "metadata entry has another type";
    case SPK_ERR_TRUNCATED:
      return "blob truncated";
    case SPK_ERR_BAD_MAGIC:
      return "not a statepack blob (bad magic)";
    case SPK_ERR_UNSUPPORTED_VERSION:
      return "unsupported format version";
    case SPK_ERR_PREAMBLE_CHECKSUM:
      return "preamble checksum mismatch";
    case SPK_ERR_BAD_PREAMBLE:
      return "invalid preamble field";
    case SPK_ERR_HEADER_CHECKSUM:
      return "header checksum mismatch";
    case SPK_ERR_HEADER_MALFORMED:
      return "malformed header";
    case SPK_ERR_HEADER_LIMIT:
      return "header exceeds a limit";
    case SPK_ERR_BAD_TENSOR:
      return "invalid tensor record";
    case SPK_ERR_BAD_SEGMENT:
      return "invalid segment layout";
    case SPK_ERR_NOT_SORTED:
      return "names not sorted or duplicated";
    case SPK_ERR_BAD_QUANTIZATION:
      return "invalid quantization parameters";
    case SPK_ERR_BAD_METADATA:
      return "invalid metadata entry";
    case SPK_ERR_SEGMENT_CHECKSUM:
      return "segment checksum mismatch";
    case SPK_ERR_PADDING_NOT_ZERO:
      return "padding bytes not zero";
    case SPK_ERR_CORRUPT_DATA:
      return "corrupt tensor data";
  }
  return "unknown status";
#endif
}
