// SPDX-License-Identifier: Apache-2.0
#include "native_pack.hpp"

#include <pybind11/stl.h>

#include "numpy_views.hpp"
#include "statepack/tools/blob/pack_pipeline.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/text/meta_argument.hpp"

namespace statepack::python {
namespace {

namespace py = pybind11;

MetaValue meta_from_python(const std::string &key, const py::handle &value) {
  // bool before int: Python's bool is an int.
  if (py::isinstance<py::bool_>(value)) return MetaValue::of_bool(value.cast<bool>());
  if (py::isinstance<py::int_>(value)) return MetaValue::of_int(value.cast<int64_t>());
  if (py::isinstance<py::float_>(value)) return MetaValue::of_float(value.cast<double>());
  if (py::isinstance<py::str>(value)) return MetaValue::of_string(value.cast<std::string>());
  fail_usage("metadata \"" + key + "\" must be a str, int, float or bool, got " +
             std::string(py::str(value.get_type().attr("__name__"))));
}

// The options as the CLI spells them; None leaves the CLI's default.
PackSettings settings_from(const py::dict &options) {
  PackSettings s;
  for (const auto &[key_handle, value] : options) {
    const std::string key = py::str(key_handle);
    if (value.is_none()) continue;
    if (key == "quant") {
      s.quant = value.cast<std::string>();
    } else if (key == "rules") {
      for (const auto &rule : value) s.rules.push_back(rule.cast<std::string>());
    } else if (key == "compress") {
      s.compress = value.cast<std::string>();
    } else if (key == "bpw") {
      s.bpw = value.cast<double>();
    } else if (key == "sensitivity") {
      if (py::isinstance<py::str>(value)) {
        s.sensitivity_file = value.cast<std::string>();
      } else {
        s.sensitivity_values = value.cast<std::map<std::string, double>>();
      }
    } else if (key == "metadata") {
      for (const auto &[k, v] : value.cast<py::dict>()) {
        const std::string name = py::str(k);
        s.meta_values[name] = meta_from_python(name, v);
      }
    } else if (key == "checksum") {
      s.checksum = value.cast<std::string>();
    } else if (key == "align") {
      s.alignment = value.cast<uint32_t>();
    } else if (key == "threads") {
      s.threads = value.cast<unsigned>();
    } else if (key == "lossless_grids") {
      s.lossless_grids = value.cast<std::string>();
    } else if (key == "max_chunk") {
      s.max_chunk = value.cast<std::string>();
    } else if (key == "min_sqnr") {
      s.min_sqnr = value.cast<double>();
    } else if (key == "sign_key") {
      s.sign_key = value.cast<std::string>();
    } else {
      fail_usage("unknown option \"" + key + "\"");
    }
  }
  return s;
}

py::dict outcome_to_python(const PackOutcome &outcome, const std::vector<std::string> &warnings,
                           const std::vector<std::string> &notes, const std::string &text) {
  py::list tensors;
  for (const QuantReportRow &row : outcome.quant.rows) {
    py::dict r;
    r["name"] = row.name;
    r["scheme"] = row.scheme;
    r["shape"] = row.shape;
    r["bytes_before"] = row.bytes_before;
    r["bytes_after"] = row.bytes_after;
    r["sqnr_db"] = row.sqnr_db;
    r["max_abs_error"] = row.max_abs_error;
    r["underflow_count"] = row.underflow_count;
    tensors.append(r);
  }
  py::list grids;
  for (const GridReportRow &row : outcome.grids) {
    py::dict r;
    r["name"] = row.name;
    r["description"] = row.description;
    r["source_dtype"] = std::string(dtype_name(row.source_dtype));
    r["bytes_before"] = row.bytes_before;
    r["bytes_after"] = row.bytes_after;
    grids.append(r);
  }
  py::dict out;
  out["tensors"] = tensors;
  out["grids"] = grids;
  out["unused_rules"] = outcome.quant.unused_rules;
  out["size"] = outcome.written;
  out["tensor_count"] = outcome.tensor_count;
  if (outcome.automatic) {
    out["bpw_budget"] = outcome.auto_plan.budget_bpw;
    out["bpw"] = outcome.achieved_bpw;
    out["kept"] = outcome.auto_plan.kept;
  }
  out["warnings"] = warnings;
  out["notes"] = notes;
  out["text"] = text;
  return out;
}

// Packs with the GIL released; reports are collected, not printed.
py::dict run(Checkpoint &checkpoint, const ParsedPack &parsed,
             const std::vector<std::string> &inputs, const std::string &path,
             const std::string &select) {
  std::vector<std::string> warnings, notes;
  std::string text;
  PackHooks hooks;
  hooks.report = [&text](const std::string &t) { text += t; };
  hooks.warning = [&warnings](const std::string &line) { warnings.push_back(line); };
  hooks.note = [&notes](const std::string &line) { notes.push_back(line); };
  PackOutcome outcome;
  {
    py::gil_scoped_release released;
    if (!inputs.empty()) checkpoint = merge_inputs(inputs, select);
    outcome = pack_checkpoint(checkpoint, parsed, inputs, path, hooks);
  }
  return outcome_to_python(outcome, warnings, notes, text);
}

// Tensors from (name, buffer, dtype name, shape) entries, viewing the buffers in place.
Checkpoint checkpoint_from(const py::list &entries) {
  Checkpoint checkpoint;
  for (const auto &entry : entries) {
    const auto item = entry.cast<py::tuple>();
    Tensor t;
    t.name = item[0].cast<std::string>();
    t.dtype = dtype_from_name(item[2].cast<std::string>());
    t.shape = item[3].cast<std::vector<uint64_t>>();
    auto *buffer = new Py_buffer{};
    if (PyObject_GetBuffer(item[1].ptr(), buffer, PyBUF_C_CONTIGUOUS) != 0) {
      delete buffer;
      PyErr_Clear();
      fail_input(t.name, "not a C-contiguous buffer");
    }
    // Released with the lock held, whichever thread drops the last reference.
    t.owner = std::shared_ptr<const void>(buffer, [](const void *p) {
      py::gil_scoped_acquire acquired;
      auto *b = const_cast<Py_buffer *>(static_cast<const Py_buffer *>(p));
      PyBuffer_Release(b);
      delete b;
    });
    t.data = static_cast<const uint8_t *>(buffer->buf);
    t.size = static_cast<uint64_t>(buffer->len);
    uint64_t count = 1;
    for (const uint64_t extent : t.shape) count *= extent;
    const auto expected = byte_size(t.dtype, count);
    if (!expected || *expected != t.size) {
      fail_input(t.name, "buffer of " + std::to_string(t.size) + " bytes does not hold its " +
                             std::to_string(count) + " " + std::string(dtype_name(t.dtype)) +
                             " elements");
    }
    checkpoint.tensors.push_back(std::move(t));
  }
  return checkpoint;
}

}  // namespace

void register_pack(py::module_ &module) {
  module.def(
      "save",
      [](const py::list &entries, const std::string &path, const py::dict &options) {
        const ParsedPack parsed = parse_pack_settings(settings_from(options), {}, path);
        Checkpoint checkpoint = checkpoint_from(entries);
        return run(checkpoint, parsed, {}, path, "");
      },
      py::arg("entries"), py::arg("path"), py::arg("options"));
  module.def(
      "pack",
      [](const std::vector<std::string> &inputs, const std::string &path, const std::string &select,
         const py::dict &options) {
        if (inputs.empty()) fail_usage("pack needs at least one input");
        const ParsedPack parsed = parse_pack_settings(settings_from(options), inputs, path);
        Checkpoint checkpoint;
        return run(checkpoint, parsed, inputs, path, select);
      },
      py::arg("inputs"), py::arg("path"), py::arg("select"), py::arg("options"));
}

}  // namespace statepack::python
