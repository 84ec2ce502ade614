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

bool matched_by_rule(const QuantPlan &plan, const std::string &name) {
  return std::any_of(plan.rules.begin(), plan.rules.end(), [&](const QuantRule &rule) {
    return fnmatch(rule.glob.c_str(), name.c_str(), 0) == 0;
  });
}

}  // namespace

std::vector<GridReportRow> apply_lossless_grids(Checkpoint &checkpoint, const QuantPlan &plan) {
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
    if (!may_be_lossless_grid(t->shape, [&source](uint64_t i) { return element_f32(source, i); })) {
      continue;
    }
    const std::vector<float> values = to_f32(*t);
    std::optional<QuantizedTensor> grid = find_lossless_grid(values.data(), t->shape);
    if (!grid) continue;
    const uint64_t stored = grid->data.size() + grid->scales.size() + grid->zero_points.size();
    if (stored >= t->size) continue;
    GridReportRow row;
    row.name = t->name;
    row.description = grid_description(*grid);
    row.source_dtype = t->dtype;
    row.scales = grid->slice_count;
    row.bytes_before = t->size;
    row.bytes_after = stored;
    rows.push_back(row);

    MappedFile::release(t->data, t->size);
    SpilledBytes bytes = spill(grid->data.data(), grid->data.size());
    auto q = std::make_shared<QuantizedTensor>(std::move(*grid));
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
    out << "grid " << printable_text(row.name) << ": " << row.description << ", lossless ("
        << dtype_name(row.source_dtype) << " -> I8 + " << row.scales
        << (row.scales == 1 ? " scale" : " scales") << ")\n";
    before += row.bytes_before;
    after += row.bytes_after;
  }
  char line[256];
  std::snprintf(line, sizeof(line),
                "lossless grids: %zu %s, %s -> %s (%.1f%%) before compression, every value "
                "exact\n",
                rows.size(), rows.size() == 1 ? "tensor" : "tensors",
                human_bytes(static_cast<double>(before)).c_str(),
                human_bytes(static_cast<double>(after)).c_str(),
                100.0 * static_cast<double>(after) / static_cast<double>(before));
  out << line;
  return out.str();
}

}  // namespace statepack
