// SPDX-License-Identifier: Apache-2.0
// A bounds-checked reader of the FlatBuffers wire format, just enough for the statepack header.
// It never trusts an offset: every read checks range and alignment the way flatbuffers::Verifier
// does, so both accept and refuse the same buffers; failures return false, never read outside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace statepack {
namespace rt {

/// Little-endian loads that work at any address and on any host byte order.
inline uint16_t load_u16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t load_u32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_u64(const uint8_t *p) {
  return static_cast<uint64_t>(load_u32(p)) | (static_cast<uint64_t>(load_u32(p + 4)) << 32);
}

/// The header bytes. Size is below 2^31 (checked by the caller), so u32 positions suffice.
struct FbBuffer {
  const uint8_t *data;
  uint32_t size;
};

/// A table whose start and vtable were checked.
struct FbTable {
  uint32_t pos;     // table start (its soffset to the vtable)
  uint32_t vtable;  // vtable start
  uint16_t vtable_size;
  uint16_t table_size;  // as recorded (0 for a vtable under 4 bytes); not a bound: fields are
                        // checked against the buffer, as flatbuffers::Verifier does
};

/// A vector (or string) whose length and element range were checked.
struct FbVector {
  uint32_t pos;    // first element
  uint32_t count;  // element count (bytes for a string, without the NUL)
};

/// Reads the root table; checks the root offset and the 4-byte file identifier.
bool fb_root(const FbBuffer &buf, const char identifier[4], FbTable *root);

/// Checks the table at `pos` (alignment, vtable in range and well formed).
bool fb_table_at(const FbBuffer &buf, uint32_t pos, FbTable *table);

/// Offset of field `id` inside the table, 0 when the field is absent.
uint16_t fb_field_offset(const FbBuffer &buf, const FbTable &table, uint32_t id);

/// Reads a scalar field of `size` bytes (1, 2, 4 or 8) as an unsigned value; `fallback` when
/// absent. False when the field lies outside the table or is misaligned.
bool fb_scalar(const FbBuffer &buf, const FbTable &table, uint32_t id, uint32_t size,
               uint64_t fallback, uint64_t *value);

/// One scalar field of at most 4 bytes for fb_scalars32. `fallback` (the value when absent)
/// is sign-extended, so -1 stands for 0xFFFFFFFF and a description fits in 4 bytes.
struct FbScalarField {
  uint8_t id;
  uint8_t size;
  int16_t fallback;
};

/// Reads `count` scalar fields of a table into values[i], by fb_scalar's rules; false if any
/// lies outside the table or is misaligned. One call for a whole table keeps callers small.
bool fb_scalars32(const FbBuffer &buf, const FbTable &table, const FbScalarField *fields,
                  uint32_t count, uint32_t *values);

/// Follows an offset field to its target. *present is false (and true is returned) when the
/// field is absent.
bool fb_offset_field(const FbBuffer &buf, const FbTable &table, uint32_t id, bool *present,
                     uint32_t *target);

/// Checks a vector at `pos` whose elements are `element_size` bytes each.
bool fb_vector_at(const FbBuffer &buf, uint32_t pos, uint32_t element_size, FbVector *vector);

/// Checks a string at `pos`: in range and NUL-terminated.
bool fb_string_at(const FbBuffer &buf, uint32_t pos, FbVector *string);

/// Follows element `index` of a checked vector of tables.
bool fb_vector_table(const FbBuffer &buf, const FbVector &vector, uint32_t index, FbTable *table);

/// Convenience: an optional vector field (absent = empty vector at position 0).
bool fb_vector_field(const FbBuffer &buf, const FbTable &table, uint32_t id, uint32_t element_size,
                     FbVector *vector);

/// Convenience: an optional string field (absent: *present false).
bool fb_string_field(const FbBuffer &buf, const FbTable &table, uint32_t id, bool *present,
                     FbVector *string);

/// Convenience: an optional sub-table field.
bool fb_table_field(const FbBuffer &buf, const FbTable &table, uint32_t id, bool *present,
                    FbTable *sub);

}  // namespace rt
}  // namespace statepack
