// SPDX-License-Identifier: Apache-2.0
// Human and machine descriptions of a blob: what `statepack inspect` prints.
#pragma once

#include <string>

#include "statepack/tools/blob/blob_file.hpp"

namespace statepack {

/// Summary line, tensor table and metadata, for people.
std::string describe_blob_table(const BlobFile &blob);

/// The same facts as a JSON document (stable keys, for scripts).
std::string describe_blob_json(const BlobFile &blob);

/// Sum of the sizes of the blob's segments (tensor data after deduplication).
uint64_t segment_bytes(const BlobFile &blob);

}  // namespace statepack
