// SPDX-License-Identifier: Apache-2.0
// Bounds- and alignment-checked FlatBuffers access; see flatbuffer_reader.hpp for why.
#include "flatbuffer_reader.hpp"

namespace statepack {
namespace rt {
namespace {

// FlatBuffers offsets are unsigned 32-bit but a valid one never exceeds 2^31 - 1 (the format's
// size limit); the Verifier refuses larger ones, and so do we.
constexpr uint32_t kMaxOffset = 0x7FFFFFFFu;

bool in_range(const FbBuffer &buf, uint64_t pos, uint64_t length) {
  return pos <= buf.size && length <= buf.size - pos;
}

bool aligned(uint64_t pos, uint32_t alignment) {
  return (pos & (alignment - 1u)) == 0;
}

// Reads the uoffset at `pos` and returns its target.
bool follow(const FbBuffer &buf, uint32_t pos, uint32_t *target) {
  if (!aligned(pos, 4) || !in_range(buf, pos, 4)) return false;
  const uint32_t offset = load_u32(buf.data + pos);
  if (offset == 0 || offset > kMaxOffset) return false;
  const uint64_t end = static_cast<uint64_t>(pos) + offset;
  if (end >= buf.size) return false;
  *target = static_cast<uint32_t>(end);
  return true;
}

// A little-endian unsigned value of `size` bytes (at most 8).
uint64_t load_le(const uint8_t *p, uint32_t size) {
  uint64_t value = 0;
  for (uint32_t b = size; b-- > 0;) value = (value << 8) | p[b];
  return value;
}

}  // namespace

bool fb_root(const FbBuffer &buf, const char identifier[4], FbTable *root) {
  // Root offset (4) + identifier (4) at least.
  if (buf.size < 8) return false;
  if (std::memcmp(buf.data + 4, identifier, 4) != 0) return false;
  uint32_t pos = 0;
  return follow(buf, 0, &pos) && fb_table_at(buf, pos, root);
}

bool fb_table_at(const FbBuffer &buf, uint32_t pos, FbTable *table) {
  if (!aligned(pos, 4) || !in_range(buf, pos, 4)) return false;
  // The vtable sits at table - soffset (signed, either side of the table).
  const auto soffset = static_cast<int32_t>(load_u32(buf.data + pos));
  const int64_t vtable = static_cast<int64_t>(pos) - soffset;
  if (vtable < 0 || !aligned(static_cast<uint64_t>(vtable), 2) ||
      !in_range(buf, static_cast<uint64_t>(vtable), 2)) {
    return false;
  }
  // Exactly the Verifier's rule: an even vtable size whose bytes lie in the buffer. A vtable of
  // 0 or 2 bytes is valid and has no fields (the Verifier accepts it, so we do too); the table
  // size it records is not a bound anyone relies on: each field is checked against the buffer.
  const auto vpos = static_cast<uint32_t>(vtable);
  const uint16_t vsize = load_u16(buf.data + vpos);
  if ((vsize & 1u) != 0 || !in_range(buf, vpos, vsize)) return false;
  table->pos = pos;
  table->vtable = vpos;
  table->vtable_size = vsize;
  table->table_size = vsize >= 4 ? load_u16(buf.data + vpos + 2) : 0;
  return true;
}

uint16_t fb_field_offset(const FbBuffer &buf, const FbTable &table, uint32_t id) {
  const uint32_t entry = 4u + 2u * id;
  if (entry + 2u > table.vtable_size) return 0;
  return load_u16(buf.data + table.vtable + entry);
}

bool fb_scalar(const FbBuffer &buf, const FbTable &table, uint32_t id, uint32_t size,
               uint64_t fallback, uint64_t *value) {
  if (size != 1 && size != 2 && size != 4 && size != 8) return false;
  const uint16_t field = fb_field_offset(buf, table, id);
  if (field == 0) {
    *value = fallback;
    return true;
  }
  const uint32_t pos = table.pos + field;
  if (!in_range(buf, pos, size) || !aligned(pos, size)) return false;
  *value = load_le(buf.data + pos, size);
  return true;
}

bool fb_scalars32(const FbBuffer &buf, const FbTable &table, const FbScalarField *fields,
                  uint32_t count, uint32_t *values) {
  // The same rules as fb_scalar, without calling it: this loop is on spk_open's deepest stack
  // chain, where one frame fewer is what keeps it under the device budget.
  for (uint32_t i = 0; i < count; ++i) {
    const FbScalarField &f = fields[i];
    uint32_t value = static_cast<uint32_t>(static_cast<int32_t>(f.fallback));
    const uint16_t field = fb_field_offset(buf, table, f.id);
    if (field != 0) {
      const uint32_t pos = table.pos + field;
      if (f.size > 4 || !in_range(buf, pos, f.size) || !aligned(pos, f.size)) return false;
      value = static_cast<uint32_t>(load_le(buf.data + pos, f.size));
    }
    values[i] = value;
  }
  return true;
}

bool fb_offset_field(const FbBuffer &buf, const FbTable &table, uint32_t id, bool *present,
                     uint32_t *target) {
  const uint16_t field = fb_field_offset(buf, table, id);
  *present = field != 0;
  if (field == 0) return true;
  return follow(buf, table.pos + field, target);
}

bool fb_vector_at(const FbBuffer &buf, uint32_t pos, uint32_t element_size, FbVector *vector) {
  if (!aligned(pos, 4) || !in_range(buf, pos, 4)) return false;
  const uint32_t count = load_u32(buf.data + pos);
  const uint64_t bytes = static_cast<uint64_t>(count) * element_size;
  if (!in_range(buf, static_cast<uint64_t>(pos) + 4u, bytes)) return false;
  vector->pos = pos + 4u;
  vector->count = count;
  return true;
}

bool fb_string_at(const FbBuffer &buf, uint32_t pos, FbVector *string) {
  if (!fb_vector_at(buf, pos, 1, string)) return false;
  const uint64_t terminator = static_cast<uint64_t>(string->pos) + string->count;
  return terminator < buf.size && buf.data[terminator] == 0;
}

bool fb_vector_table(const FbBuffer &buf, const FbVector &vector, uint32_t index, FbTable *table) {
  if (index >= vector.count) return false;
  uint32_t target = 0;
  return follow(buf, vector.pos + 4u * index, &target) && fb_table_at(buf, target, table);
}

bool fb_vector_field(const FbBuffer &buf, const FbTable &table, uint32_t id, uint32_t element_size,
                     FbVector *vector) {
  bool present = false;
  uint32_t target = 0;
  if (!fb_offset_field(buf, table, id, &present, &target)) return false;
  if (!present) {
    vector->pos = 0;
    vector->count = 0;
    return true;
  }
  return fb_vector_at(buf, target, element_size, vector);
}

bool fb_string_field(const FbBuffer &buf, const FbTable &table, uint32_t id, bool *present,
                     FbVector *string) {
  uint32_t target = 0;
  if (!fb_offset_field(buf, table, id, present, &target)) return false;
  return !*present || fb_string_at(buf, target, string);
}

bool fb_table_field(const FbBuffer &buf, const FbTable &table, uint32_t id, bool *present,
                    FbTable *sub) {
  uint32_t target = 0;
  if (!fb_offset_field(buf, table, id, present, &target)) return false;
  return !*present || fb_table_at(buf, target, sub);
}

}  // namespace rt
}  // namespace statepack
