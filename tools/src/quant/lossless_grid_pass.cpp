// SPDX-License-Identifier: Apache-2.0
// The lossless-grid pass over a checkpoint (lossless_grid_pass.hpp).
#include "statepack/tools/quant/lossless_grid_pass.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/lossless_grid.hpp"
#include "statepack/tools/quant/palette.hpp"
#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

bool grid_source(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

// Element i of an F32, F16 or BF16 tensor, read in place (for the sample test).
float element_f32(const Tensor &t, uint64_t i) {
  if (t.dtype == DType::kF32) {
    const uint32_t bits = load_le32(t.data + 4 * i);
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
  const uint16_t half = load_le16(t.data + 2 * i);
  if (t.dtype == DType::kF16) return f16_to_f32(half);
  const uint32_t bits = static_cast<uint32_t>(half) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

uint64_t parameter_bytes(const QuantizedTensor &q) {
  return q.scales.size() + q.zero_points.size();
}

// Whether `palette` stores `t` in fewer bytes than `grid` (if any) or else `t` as it is: each
// candidate's coded bytes for the same elements from the tensor's middle, scaled to the whole,
// plus its parameters. Without `coded_size`, raw sizes (blobs stored raw).
bool palette_wins(const Tensor &t, const QuantizedTensor &palette, const QuantizedTensor *grid,
                  const CodedSize &coded_size) {
  const uint64_t n = t.element_count();
  // An even count from an even element, so the 4-bit indices start and end on whole bytes.
  uint64_t m = std::min(n, kPaletteSampleElements);
  uint64_t first = (n - m) / 2 / 2 * 2;
  if (m != n) m -= m % 2;
  auto coded = [&](const uint8_t *data, DType dtype) {
    const uint32_t bits = dtype_bits(dtype);
    const uint64_t begin = first * bits / 8, size = (m * bits + 7) / 8;
    return static_cast<double>(coded_size ? coded_size(data + begin, size, dtype) : size);
  };
  const double scale = static_cast<double>(n) / static_cast<double>(m);
  const double mine = coded(palette.data.data(), palette.dtype) * scale +
                      static_cast<double>(parameter_bytes(palette));
  const double other = grid != nullptr ? coded(grid->data.data(), grid->dtype) * scale +
                                             static_cast<double>(parameter_bytes(*grid))
                                       : coded(t.data, t.dtype) * scale;
  return mine < other;
}

bool matched_by_rule(const QuantPlan &plan, const std::string &name) {
  return std::any_of(plan.rules.begin(), plan.rules.end(), [&](const QuantRule &rule) {
    return fnmatch(rule.glob.c_str(), name.c_str(), 0) == 0;
  });
}

}  // namespace

std::vector<GridReportRow> apply_lossless_grids(Checkpoint &checkpoint, const QuantPlan &plan,
                                                const CodedSize &coded_size) {
  std::vector<Tensor *> order;
  for (Tensor &t : checkpoint.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const Tensor *a, const Tensor *b) { return a->name < b->name; });
  std::vector<GridReportRow> rows;
  for (Tensor *t : order) {
    if (t->quant || !grid_source(t->dtype) || t->data == nullptr || t->element_count() == 0 ||
        matched_by_rule(plan, t->name)) {
      continue;
    }
    // At least one byte an element plus a scale: a tensor of a few values never shrinks.
    if (t->element_count() + 4 >= t->size) continue;
    const Tensor &source = *t;
    std::optional<QuantizedTensor> grid;
    if (may_be_lossless_grid(t->shape, [&source](uint64_t i) { return element_f32(source, i); })) {
      const std::vector<float> values = to_f32(*t);
      grid = find_lossless_grid(values.data(), t->shape);
      if (grid && parameter_bytes(*grid) + grid->data.size() >= t->size) grid.reset();
    }
    std::optional<QuantizedTensor> palette;
    if (may_be_palette(*t)) palette = find_palette(*t);
    if (palette && !palette_wins(*t, *palette, grid ? &*grid : nullptr, coded_size)) {
      palette.reset();
    }
    std::optional<QuantizedTensor> &chosen = palette ? palette : grid;
    if (!chosen) continue;
    GridReportRow row;
    row.name = t->name;
    row.description = palette ? "palette" : grid_description(*chosen);
    row.source_dtype = t->dtype;
    row.stored_dtype = chosen->dtype;
    row.scales = palette ? palette->spec.group_size : chosen->slice_count;
    row.bytes_before = t->size;
    row.bytes_after = chosen->data.size() + parameter_bytes(*chosen);
    rows.push_back(row);

    MappedFile::release(t->data, t->size);
    SpilledBytes bytes = spill(chosen->data.data(), chosen->data.size());
    auto q = std::make_shared<QuantizedTensor>(std::move(*chosen));
    t->source_dtype = t->dtype;
    t->dtype = q->dtype;
    t->size = q->data.size();
    t->data = bytes.data;
    t->owner = std::move(bytes.owner);
    std::vector<uint8_t>().swap(q->data);
    t->quant = std::move(q);
  }
  return rows;
}

std::string format_grid_report(const std::vector<GridReportRow> &rows) {
  if (rows.empty()) return "";
  std::ostringstream out;
  uint64_t before = 0, after = 0;
  for (const GridReportRow &row : rows) {
    if (row.stored_dtype == DType::kU8 || row.stored_dtype == DType::kU4) {
      out << "palette " << printable_text(row.name) << ": " << row.scales << " values, lossless ("
          << dtype_name(row.source_dtype) << " -> " << dtype_name(row.stored_dtype) << " indices + "
          << row.scales << " F32 values)\n";
    } else {
      out << "grid " << printable_text(row.name) << ": " << row.description << ", lossless ("
          << dtype_name(row.source_dtype) << " -> I8 + " << row.scales
          << (row.scales == 1 ? " scale" : " scales") << ")\n";
    }
    before += row.bytes_before;
    after += row.bytes_after;
  }
  char line[256];
  std::snprintf(
      line, sizeof(line),
      "lossless grids and palettes: %zu %s, %s -> %s (%.1f%%) before compression, every value "
      "exact\n",
      rows.size(), rows.size() == 1 ? "tensor" : "tensors",
      human_bytes(static_cast<double>(before)).c_str(),
      human_bytes(static_cast<double>(after)).c_str(),
      100.0 * static_cast<double>(after) / static_cast<double>(before));
  out << line;
  return out.str();
}

}  // namespace statepack
