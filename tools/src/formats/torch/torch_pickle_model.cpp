// SPDX-License-Identifier: Apache-2.0
// torch.save's object model, interpreted without running anything: an exact allowlist of
// globals, symbolic results for the few calls a state dict needs, and strided tensor views
// materialised with overflow-checked bounds.
#include "torch_pickle_model.hpp"

#include <cstring>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/strided_copy.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/spill_file.hpp"

namespace statepack::torch_model {
namespace {

using pickle::Kind;
using pickle::Value;
using pickle::ValuePtr;

struct NamedDType {
  const char *name;
  DType dtype;
};

// torch.<Name>Storage classes (typed storages, as torch.save writes them).
const NamedDType kStorageClasses[] = {
    {"DoubleStorage", DType::kF64},       {"FloatStorage", DType::kF32},
    {"HalfStorage", DType::kF16},         {"BFloat16Storage", DType::kBF16},
    {"LongStorage", DType::kI64},         {"IntStorage", DType::kI32},
    {"ShortStorage", DType::kI16},        {"CharStorage", DType::kI8},
    {"ByteStorage", DType::kU8},          {"BoolStorage", DType::kBool},
    {"ComplexFloatStorage", DType::kC64}, {"UntypedStorage", DType::kU8},
};

// torch.<dtype> objects, as _rebuild_tensor_v3 receives them.
const NamedDType kDTypes[] = {
    {"float64", DType::kF64},
    {"float32", DType::kF32},
    {"float16", DType::kF16},
    {"bfloat16", DType::kBF16},
    {"int64", DType::kI64},
    {"int32", DType::kI32},
    {"int16", DType::kI16},
    {"int8", DType::kI8},
    {"uint8", DType::kU8},
    {"uint16", DType::kU16},
    {"uint32", DType::kU32},
    {"uint64", DType::kU64},
    {"bool", DType::kBool},
    {"float8_e4m3fn", DType::kF8_E4M3},
    {"float8_e5m2", DType::kF8_E5M2},
    {"float8_e8m0fnu", DType::kF8_E8M0},
    {"complex64", DType::kC64},
};

DType dtype_of_global(const Value &v) {
  if (v.kind != Kind::kGlobal || v.module != "torch") return DType::kUnknown;
  for (const auto &d : kDTypes) {
    if (v.name == d.name) return d.dtype;
  }
  return DType::kUnknown;
}

[[noreturn]] void refuse(const std::string &what) {
  throw Error(ErrorKind::kInput, what);
}

const Value &arg(const Value &args, size_t i, Kind kind, const char *call, const char *role) {
  if (i >= args.items.size() || args.items[i]->kind != kind) {
    refuse(std::string(call) + ": argument " + std::to_string(i) + " (" + role +
           ") has the wrong type");
  }
  return *args.items[i];
}

uint64_t non_negative(const Value &v, const char *what) {
  if (v.kind != Kind::kInt || v.int_value < 0)
    refuse(std::string(what) + " must be a non-negative int");
  return static_cast<uint64_t>(v.int_value);
}

std::vector<uint64_t> int_tuple(const Value &v, const char *what) {
  if (v.kind != Kind::kTuple) refuse(std::string(what) + " must be a tuple of ints");
  std::vector<uint64_t> out;
  for (const auto &item : v.items) out.push_back(non_negative(*item, what));
  return out;
}

void require_empty_hooks(const Value &hooks, const char *call) {
  // Backward hooks are functions: a non-empty hook dict would mean code, which we refuse.
  if (hooks.kind != Kind::kDict || !hooks.entries.empty()) {
    refuse(std::string(call) + ": backward hooks must be an empty dict");
  }
}

ValuePtr make_tensor(std::shared_ptr<Storage> storage, DType dtype, uint64_t offset,
                     std::vector<uint64_t> shape, std::vector<uint64_t> stride) {
  auto view = std::make_shared<TensorView>();
  view->storage = std::move(storage);
  view->dtype = dtype;
  view->offset = offset;
  view->shape = std::move(shape);
  view->stride = std::move(stride);
  if (view->shape.size() != view->stride.size()) refuse("tensor size and stride differ in rank");
  ValuePtr v = Value::make(Kind::kExtension);
  v->extension_tag = kTensor;
  v->extension = view;
  return v;
}

std::shared_ptr<Storage> storage_arg(const Value &args, const char *call) {
  const Value &s = arg(args, 0, Kind::kExtension, call, "storage");
  if (s.extension_tag != kStorage) refuse(std::string(call) + ": argument 0 is not a storage");
  return std::static_pointer_cast<Storage>(s.extension);
}

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta])
ValuePtr rebuild_tensor_v2(const Value &args) {
  const char *call = "_rebuild_tensor_v2";
  if (args.items.size() != 6 && args.items.size() != 7)
    refuse("_rebuild_tensor_v2: wrong argument count");
  auto storage = storage_arg(args, call);
  const uint64_t offset = non_negative(*args.items[1], "storage offset");
  require_empty_hooks(*args.items[5], call);
  const DType dtype = storage->untyped ? DType::kU8 : storage->dtype;
  return make_tensor(storage, dtype, offset, int_tuple(*args.items[2], "size"),
                     int_tuple(*args.items[3], "stride"));
}

// torch._utils._rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[,
// meta])
ValuePtr rebuild_tensor_v3(const Value &args) {
  const char *call = "_rebuild_tensor_v3";
  if (args.items.size() != 7 && args.items.size() != 8)
    refuse("_rebuild_tensor_v3: wrong argument count");
  auto storage = storage_arg(args, call);
  const uint64_t offset = non_negative(*args.items[1], "storage offset");
  require_empty_hooks(*args.items[5], call);
  const DType dtype = dtype_of_global(*args.items[6]);
  if (dtype == DType::kUnknown) refuse("_rebuild_tensor_v3: unsupported dtype");
  return make_tensor(storage, dtype, offset, int_tuple(*args.items[2], "size"),
                     int_tuple(*args.items[3], "stride"));
}

// _codecs.encode(text, 'latin1'): how protocol 2 pickles bytes objects.
ValuePtr codecs_encode(const Value &args) {
  if (args.items.size() != 2 || args.items[0]->kind != Kind::kString ||
      args.items[1]->kind != Kind::kString ||
      (args.items[1]->text != "latin1" && args.items[1]->text != "latin-1")) {
    refuse("_codecs.encode: only encode(str, 'latin1') is allowed");
  }
  ValuePtr out = Value::make(Kind::kBytes);
  const std::string &s = args.items[0]->text;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out->text.push_back(static_cast<char>(c));
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < s.size()) {
      out->text.push_back(static_cast<char>(((c & 0x03) << 6) | (s[++i] & 0x3F)));
    } else {
      refuse("_codecs.encode: text is not latin-1");
    }
  }
  return out;
}

// The allowed calls, symbolically.
ValuePtr reduce_allowed(const Value &callable, const Value &args) {
  const std::string &m = callable.module, &n = callable.name;
  if (m == "collections" && n == "OrderedDict") {
    if (!args.items.empty()) refuse("OrderedDict: only OrderedDict() is allowed");
    return Value::make(Kind::kDict);
  }
  if (m == "torch._utils" && n == "_rebuild_tensor_v2") return rebuild_tensor_v2(args);
  if (m == "torch._utils" && n == "_rebuild_tensor_v3") return rebuild_tensor_v3(args);
  if (m == "torch._utils" && (n == "_rebuild_parameter" || n == "_rebuild_parameter_with_state")) {
    // Parameter(data, requires_grad, hooks[, state]): the data is the tensor; the state is
    // the Python attributes a parameter subclass carries, which hold no weights.
    if (args.items.size() != (n == "_rebuild_parameter" ? 3u : 4u)) {
      refuse(n + ": wrong argument count");
    }
    const Value &data = arg(args, 0, Kind::kExtension, "_rebuild_parameter", "data");
    if (data.extension_tag != kTensor) refuse("_rebuild_parameter: data is not a tensor");
    require_empty_hooks(*args.items[2], "_rebuild_parameter");
    return args.items[0];
  }
  if (m == "_codecs" && n == "encode") return codecs_encode(args);
  if (m == "torch._tensor" && n == "_rebuild_from_type_v2") {
    // (func, type, args, state): a tensor of a subclass or with Python attributes. The inner
    // call must itself be an allowed tensor rebuild; the type and the attributes hold no
    // weights and are dropped, as Tensor.__reduce_ex__ added them.
    if (args.items.size() != 4) refuse(n + ": wrong argument count");
    const Value &inner = *args.items[0];
    if (inner.kind != Kind::kGlobal || inner.symbolic || inner.module != "torch._utils" ||
        inner.name.compare(0, 9, "_rebuild_") != 0) {
      refuse(n + ": the rebuild function must be an allowed torch._utils._rebuild_*");
    }
    const Value &inner_args = arg(args, 2, Kind::kTuple, "_rebuild_from_type_v2", "args");
    ValuePtr tensor = reduce_allowed(inner, inner_args);
    if (tensor->kind != Kind::kExtension || tensor->extension_tag != kTensor) {
      refuse(n + ": the rebuild function did not give a tensor");
    }
    return tensor;
  }
  refuse(m + "." + n + " cannot be called");
}

}  // namespace

DType dtype_of_storage_class(const std::string &module, const std::string &name) {
  if (module != "torch") return DType::kUnknown;
  for (const auto &s : kStorageClasses) {
    if (name == s.name) return s.dtype;
  }
  return DType::kUnknown;
}

pickle::Handlers make_handlers(StorageLoader load_storage) {
  pickle::Handlers h;
  h.opaque_objects = true;  // anything else not dangerous: held, never called
  h.allowed_globals = {{"collections", "OrderedDict"},
                       {"torch._utils", "_rebuild_tensor_v2"},
                       {"torch._utils", "_rebuild_tensor_v3"},
                       {"torch._utils", "_rebuild_parameter"},
                       {"torch._utils", "_rebuild_parameter_with_state"},
                       {"torch._tensor", "_rebuild_from_type_v2"},
                       {"_codecs", "encode"}};
  for (const auto &s : kStorageClasses) h.allowed_globals.insert({"torch", s.name});
  for (const auto &d : kDTypes) h.allowed_globals.insert({"torch", d.name});

  h.reduce = reduce_allowed;
  h.persistent_load = [load_storage](const Value &pid) -> ValuePtr {
    // The legacy format names each nn.Module class as ('module', cls, source_file, source) so
    // that torch.load can warn when the source changed: the class stays a symbolic reference
    // and its source text is never looked at.
    if (pid.kind == Kind::kTuple && pid.items.size() == 4 && pid.items[0]->kind == Kind::kString &&
        pid.items[0]->text == "module") {
      if (pid.items[1]->kind != Kind::kGlobal || !pid.items[1]->symbolic) {
        refuse("a module persistent id must name a class outside the allowlist");
      }
      return pid.items[1];
    }
    ValuePtr v = Value::make(Kind::kExtension);
    v->extension_tag = kStorage;
    v->extension = load_storage(pid);
    return v;
  };
  h.build = [](Value &object, const Value &state) {
    // A state dict's OrderedDict carries `_metadata` (module versions) as instance state:
    // accepted and ignored. Nothing else may be BUILT.
    if (object.kind != Kind::kDict || state.kind != Kind::kDict) {
      refuse("BUILD is only allowed on a dict with dict state");
    }
  };
  return h;
}

Tensor materialise(const std::string &where, const std::string &name, const TensorView &view,
                   bool big_endian) {
  const Storage &s = *view.storage;
  const std::string what = where + ": tensor \"" + name + "\"";
  const uint32_t bits = dtype_bits(view.dtype);
  if (bits == 0 || bits % 8 != 0)
    fail_input(where, "tensor \"" + name + "\" has an unsupported dtype");
  const uint64_t itemsize = bits / 8;
  if (s.data == nullptr && s.size != 0) fail_input(where, "storage \"" + s.key + "\" has no data");
  const uint64_t storage_elements = s.size / itemsize;

  uint64_t count = 1;
  for (uint64_t d : view.shape) {
    if (__builtin_mul_overflow(count, d, &count))
      throw Error(ErrorKind::kInput, what + ": element count overflows");
  }
  Tensor t;
  t.name = name;
  t.dtype = view.dtype;
  t.shape = view.shape;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(count, itemsize, &bytes))
    throw Error(ErrorKind::kInput, what + ": size overflows");
  if (count == 0) return t;

  // The furthest element the view touches must lie inside the storage.
  uint64_t last = view.offset;
  for (size_t i = 0; i < view.shape.size(); ++i) {
    uint64_t step = 0;
    if (__builtin_mul_overflow(view.shape[i] - 1, view.stride[i], &step) ||
        __builtin_add_overflow(last, step, &last)) {
      throw Error(ErrorKind::kInput, what + ": view geometry overflows");
    }
  }
  if (last >= storage_elements) {
    throw Error(ErrorKind::kInput, what + ": view reaches element " + std::to_string(last) +
                                       " of a storage holding " + std::to_string(storage_elements));
  }

  bool contiguous = true;
  uint64_t expected = 1;
  for (size_t i = view.shape.size(); i-- > 0;) {
    if (view.shape[i] != 1 && view.stride[i] != expected) contiguous = false;
    expected *= view.shape[i];
  }
  if (contiguous && !big_endian) {
    t.data = s.data + view.offset * itemsize;
    t.size = bytes;
    t.owner = s.owner;
    return t;
  }
  // Gather (and swap) into an owned buffer in C order.
  auto buffer = std::make_shared<std::vector<uint8_t>>(bytes);
  copy_strided(s.data, view.offset, view.shape, view.stride, itemsize,
               big_endian ? byte_swap_unit(view.dtype) : 1, buffer->data());
  // The storage range the view read can leave memory, and so can the gathered copy: every
  // tensor of the checkpoint is kept until the blob is written.
  MappedFile::release(s.data + view.offset * itemsize, (last - view.offset + 1) * itemsize);
  SpilledBytes spilled = spill(buffer->data(), bytes);
  t.data = spilled.data;
  t.size = bytes;
  t.owner = std::move(spilled.owner);
  return t;
}

}  // namespace statepack::torch_model
