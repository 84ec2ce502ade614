// SPDX-License-Identifier: Apache-2.0
#include "native_blob.hpp"

#include <pybind11/stl.h>

#include <optional>

#include "errors.hpp"
#include "numpy_views.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_unpack.hpp"
#include "statepack/tools/formats/checkpoint_reader.hpp"
#include "statepack/tools/report/blob_inspect.hpp"

namespace statepack::python {
namespace {

namespace py = pybind11;

py::object meta_to_python(const MetaValue &value) {
  switch (value.kind) {
    case MetaValue::Kind::kString:
      return py::str(value.string_value);
    case MetaValue::Kind::kInt:
      return py::int_(value.int_value);
    case MetaValue::Kind::kFloat:
      return py::float_(value.float_value);
    case MetaValue::Kind::kBool:
      return py::bool_(value.bool_value);
  }
  return py::none();
}

// An open blob; close() drops this object's hold on the mapping, which arrays still viewing
// it keep alive.
class NativeBlob {
 public:
  explicit NativeBlob(const std::string &path) {
    // A file that is missing or not a blob is an invalid input; a blob that fails the
    // runtime's checks is a damaged one.
    const InputFormat format = detect_format(path);
    if (format != InputFormat::kBlob) {
      fail_input(path, std::string("not a statepack blob (it is ") + format_name(format) +
                           "); pack it with statepack.pack first");
    }
    on_blob([&] { blob_.emplace(BlobFile::open(path)); });
  }

  const BlobFile &blob() const {
    if (!blob_) fail_usage("the blob is closed");
    return *blob_;
  }
  void close() { blob_.reset(); }
  bool closed() const { return !blob_; }

  spk_tensor find(const std::string &name) const {
    spk_tensor t{};
    if (spk_find(&blob().blob(), name.c_str(), &t) != SPK_OK || t.name_length != name.size()) {
      throw py::key_error(blob().path() + ": no tensor named \"" + name + "\"");
    }
    return t;
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> names;
    for (const spk_tensor &t : blob().tensors()) names.emplace_back(t.name, t.name_length);
    return names;
  }

  py::dict metadata() const {
    py::dict out;
    for (const auto &[key, value] : blob().metadata()) out[py::str(key)] = meta_to_python(value);
    return out;
  }

  py::array view(const std::string &name) const {
    const spk_tensor t = find(name);
    if (t.quant.scheme != SPK_QUANT_NONE) {
      fail_usage(blob().path() + ": tensor \"" + name +
                 "\" is quantized; use dequantize() for its values");
    }
    const std::vector<uint64_t> shape(t.shape, t.shape + t.rank);
    const BlobFile file = blob();  // held while the lock is released: close() may run
    LoadedBytes bytes;
    {
      py::gil_scoped_release released;
      bytes = on_blob([&] { return stored_bytes(file, t); });
    }
    return read_only_array(bytes, static_cast<DType>(t.dtype), shape, name);
  }

  py::array dequantize(const std::string &name) const {
    const spk_tensor t = find(name);
    if (t.dtype == SPK_DTYPE_C64) {
      fail_usage(blob().path() + ": tensor \"" + name + "\" is complex (C64), not real values");
    }
    const std::vector<uint64_t> shape(t.shape, t.shape + t.rank);
    const BlobFile file = blob();
    LoadedBytes bytes;
    {
      py::gil_scoped_release released;
      bytes = on_blob([&] { return dequantized_f32(file, t); });
    }
    return read_only_array(bytes, DType::kF32, shape, name);
  }

  // name -> (array, dtype name): what unpack would write, raw tensors as views.
  py::dict load(bool dequantize) const {
    UnpackOptions options;
    options.dequantize = dequantize;
    options.lossless_source = true;
    const Checkpoint checkpoint = on_blob([&] { return blob_to_checkpoint(blob(), options); });
    py::dict out;
    for (const Tensor &tensor : checkpoint.tensors) {
      LoadedBytes bytes{tensor.data, tensor.owner};
      if (tensor.load) {
        py::gil_scoped_release released;
        bytes = on_blob([&] { return tensor.load(); });
      }
      out[py::str(tensor.name)] =
          py::make_tuple(read_only_array(bytes, tensor.dtype, tensor.shape, tensor.name),
                         std::string(dtype_name(tensor.dtype)));
    }
    return out;
  }

  void verify(unsigned threads) const {
    const BlobFile file = blob();
    py::gil_scoped_release released;
    on_blob([&] { file.verify(threads); });
  }

  std::string inspect_json() const {
    return on_blob([&] { return describe_blob_json(blob()); });
  }

  py::tuple mapping_range() const {
    const auto &mapping = blob().mapping();
    return py::make_tuple(reinterpret_cast<uintptr_t>(mapping->data()), mapping->size());
  }

 private:
  std::optional<BlobFile> blob_;
};

}  // namespace

void register_blob(py::module_ &module) {
  py::class_<NativeBlob>(module, "BlobFile", "An open blob (use statepack.open).")
      .def(py::init<const std::string &>(), py::arg("path"))
      .def("close", &NativeBlob::close)
      .def_property_readonly("closed", &NativeBlob::closed)
      .def_property_readonly("path", [](const NativeBlob &b) { return b.blob().path(); })
      .def("keys", &NativeBlob::keys)
      .def("metadata", &NativeBlob::metadata)
      .def("view", &NativeBlob::view, py::arg("name"))
      .def("dequantize", &NativeBlob::dequantize, py::arg("name"))
      .def("load", &NativeBlob::load, py::arg("dequantize"))
      .def("verify", &NativeBlob::verify, py::arg("threads") = 0)
      .def("inspect_json", &NativeBlob::inspect_json)
      .def("mapping_range", &NativeBlob::mapping_range);
}

}  // namespace statepack::python
