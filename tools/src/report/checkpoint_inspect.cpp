// SPDX-License-Identifier: Apache-2.0
// Rendering of an input checkpoint's contents as a table or JSON.
#include "statepack/tools/report/checkpoint_inspect.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

std::string shape_text(const std::vector<uint64_t> &shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

nlohmann::json meta_json(const MetaValue &v) {
  switch (v.kind) {
    case MetaValue::Kind::kInt:
      return v.int_value;
    case MetaValue::Kind::kFloat:
      return v.float_value;
    case MetaValue::Kind::kBool:
      return v.bool_value;
    case MetaValue::Kind::kString:
      break;
  }
  return v.string_value;
}

// "args: argparse.Namespace, not executed (...)": one line per opaque object.
std::string opaque_line(const OpaqueObject &object) {
  std::string line =
      (object.path.empty() ? std::string("(the saved object)") : printable_text(object.path)) +
      ": " + printable_text(object.class_name) + ", not executed";
  if (!object.note.empty()) line += " (" + object.note + ")";
  return line;
}

}  // namespace

std::string describe_checkpoint_table(const std::string &path, const std::string &format,
                                      const Checkpoint &checkpoint) {
  uint64_t total = 0;
  size_t name_width = 4;
  for (const Tensor &t : checkpoint.tensors) {
    total += t.size;
    name_width = std::max(name_width, display_width(printable_text(t.name)));
  }
  name_width = std::min<size_t>(name_width, 60);
  std::ostringstream out;
  out << path << ": " << format << ", " << checkpoint.tensors.size() << " tensors, " << total
      << " bytes of tensor data\n\n";
  char line[512];
  std::snprintf(line, sizeof(line), "%s  %-8s %-22s %12s\n", text_cell("name", name_width).c_str(),
                "dtype", "shape", "bytes");
  out << line;
  for (const Tensor &t : checkpoint.tensors) {
    const std::string name = text_cell(t.name, name_width);
    std::snprintf(line, sizeof(line), "%s  %-8s %-22s %12llu\n", name.c_str(),
                  std::string(dtype_name(t.dtype)).c_str(), shape_text(t.shape).c_str(),
                  static_cast<unsigned long long>(t.size));
    out << line;
  }
  if (!checkpoint.metadata.empty()) {
    out << "\nmetadata\n";
    for (const auto &[key, value] : checkpoint.metadata) {
      out << "  " << printable_text(key) << " = "
          << meta_json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    }
  }
  if (!checkpoint.opaque_objects.empty()) {
    // What a pickle held beyond plain data: read as names and values, never imported or run.
    out << "\nopaque objects\n";
    for (const OpaqueObject &object : checkpoint.opaque_objects) {
      out << "  " << opaque_line(object) << "\n";
    }
  }
  return out.str();
}

std::string describe_checkpoint_json(const std::string &path, const std::string &format,
                                     const Checkpoint &checkpoint) {
  nlohmann::json doc;
  doc["file"] = path;
  doc["format"] = format;
  nlohmann::json tensors = nlohmann::json::array();
  for (const Tensor &t : checkpoint.tensors) {
    tensors.push_back({{"name", t.name},
                       {"dtype", std::string(dtype_name(t.dtype))},
                       {"shape", t.shape},
                       {"bytes", t.size}});
  }
  doc["tensors"] = std::move(tensors);
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto &[key, value] : checkpoint.metadata) metadata[key] = meta_json(value);
  doc["metadata"] = std::move(metadata);
  if (!checkpoint.opaque_objects.empty()) {
    nlohmann::json opaque = nlohmann::json::array();
    for (const OpaqueObject &object : checkpoint.opaque_objects) {
      opaque.push_back({{"path", object.path},
                        {"class", object.class_name},
                        {"executed", false},
                        {"note", object.note}});
    }
    doc["opaque_objects"] = std::move(opaque);
  }
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace statepack
