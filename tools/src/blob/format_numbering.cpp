// SPDX-License-Identifier: Apache-2.0
// The blob format fixes the numbers of its enums (dtype, codec, filter, quantization scheme,
// checksum, metadata kind). They live three times: in the schema (the generated fb:: enums the
// writer uses), in the runtime's C enums (what devices read) and in the host's enum classes
// (what the packer computes with), joined by static_cast. The static_asserts below tie all
// three, so renumbering or appending in one place alone fails the build. No code is generated.
#include "statepack/statepack.h"
#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quant_schemes.hpp"
#include "statepack_generated.h"

namespace statepack {
namespace {

template <typename Host, typename Schema>
constexpr bool same(Host host, int runtime, Schema schema) {
  return static_cast<int>(host) == runtime && static_cast<int>(schema) == runtime;
}

#define SPK_SAME(host, runtime, schema) static_assert(same(host, runtime, schema), #host)

SPK_SAME(DType::kUnknown, SPK_DTYPE_UNKNOWN, fb::DType::Unknown);
SPK_SAME(DType::kF32, SPK_DTYPE_F32, fb::DType::F32);
SPK_SAME(DType::kF64, SPK_DTYPE_F64, fb::DType::F64);
SPK_SAME(DType::kF16, SPK_DTYPE_F16, fb::DType::F16);
SPK_SAME(DType::kBF16, SPK_DTYPE_BF16, fb::DType::BF16);
SPK_SAME(DType::kF8_E4M3, SPK_DTYPE_F8_E4M3, fb::DType::F8_E4M3);
SPK_SAME(DType::kF8_E5M2, SPK_DTYPE_F8_E5M2, fb::DType::F8_E5M2);
SPK_SAME(DType::kF8_E8M0, SPK_DTYPE_F8_E8M0, fb::DType::F8_E8M0);
SPK_SAME(DType::kF6_E2M3, SPK_DTYPE_F6_E2M3, fb::DType::F6_E2M3);
SPK_SAME(DType::kF6_E3M2, SPK_DTYPE_F6_E3M2, fb::DType::F6_E3M2);
SPK_SAME(DType::kF4_E2M1, SPK_DTYPE_F4_E2M1, fb::DType::F4_E2M1);
SPK_SAME(DType::kI8, SPK_DTYPE_I8, fb::DType::I8);
SPK_SAME(DType::kI16, SPK_DTYPE_I16, fb::DType::I16);
SPK_SAME(DType::kI32, SPK_DTYPE_I32, fb::DType::I32);
SPK_SAME(DType::kI64, SPK_DTYPE_I64, fb::DType::I64);
SPK_SAME(DType::kU8, SPK_DTYPE_U8, fb::DType::U8);
SPK_SAME(DType::kU16, SPK_DTYPE_U16, fb::DType::U16);
SPK_SAME(DType::kU32, SPK_DTYPE_U32, fb::DType::U32);
SPK_SAME(DType::kU64, SPK_DTYPE_U64, fb::DType::U64);
SPK_SAME(DType::kBool, SPK_DTYPE_BOOL, fb::DType::Bool);
SPK_SAME(DType::kC64, SPK_DTYPE_C64, fb::DType::C64);
SPK_SAME(DType::kI4, SPK_DTYPE_I4, fb::DType::I4);
SPK_SAME(DType::kU4, SPK_DTYPE_U4, fb::DType::U4);
// A dtype appended to the schema must be appended everywhere.
static_assert(fb::DType::MAX == fb::DType::U4, "a new schema DType needs a host and runtime value");

SPK_SAME(QuantScheme::kNone, SPK_QUANT_NONE, fb::QuantScheme::None);
SPK_SAME(QuantScheme::kInt8Channel, SPK_QUANT_INT8_CHANNEL, fb::QuantScheme::Int8Channel);
SPK_SAME(QuantScheme::kInt8Tensor, SPK_QUANT_INT8_TENSOR, fb::QuantScheme::Int8Tensor);
SPK_SAME(QuantScheme::kInt8Asym, SPK_QUANT_INT8_ASYM, fb::QuantScheme::Int8Asym);
SPK_SAME(QuantScheme::kInt8Group, SPK_QUANT_INT8_GROUP, fb::QuantScheme::Int8Group);
SPK_SAME(QuantScheme::kInt4Group, SPK_QUANT_INT4_GROUP, fb::QuantScheme::Int4Group);
SPK_SAME(QuantScheme::kInt4GroupAsym, SPK_QUANT_INT4_GROUP_ASYM, fb::QuantScheme::Int4GroupAsym);
SPK_SAME(QuantScheme::kF16Cast, SPK_QUANT_F16_CAST, fb::QuantScheme::F16Cast);
SPK_SAME(QuantScheme::kBF16Cast, SPK_QUANT_BF16_CAST, fb::QuantScheme::BF16Cast);
SPK_SAME(QuantScheme::kInt4K, SPK_QUANT_INT4_K, fb::QuantScheme::Int4K);
SPK_SAME(QuantScheme::kPalette, SPK_QUANT_PALETTE, fb::QuantScheme::Palette);
static_assert(fb::QuantScheme::MAX == fb::QuantScheme::Palette,
              "a new schema QuantScheme needs a host and runtime value");

SPK_SAME(Filter::kNone, SPK_FILTER_NONE, fb::Filter::None);
SPK_SAME(Filter::kByteGroup, SPK_FILTER_BYTE_GROUP, fb::Filter::ByteGroup);
SPK_SAME(Filter::kByteGroupRotate, SPK_FILTER_BYTE_GROUP_ROTATE, fb::Filter::ByteGroupRotate);
static_assert(fb::Filter::MAX == fb::Filter::ByteGroupRotate,
              "a new schema Filter needs a host and runtime value");

static_assert(static_cast<int>(fb::Codec::Raw) == SPK_CODEC_RAW, "codec numbering");
static_assert(static_cast<int>(fb::Codec::Zstd) == SPK_CODEC_ZSTD, "codec numbering");
static_assert(static_cast<int>(fb::Codec::ZstdAdaptive) == SPK_CODEC_ZSTD_ADAPTIVE,
              "codec numbering");
static_assert(fb::Codec::MAX == fb::Codec::ZstdAdaptive,
              "a new schema Codec needs a runtime value");

SPK_SAME(ChecksumAlgo::kXxh64, SPK_CHECKSUM_XXH64, fb::ChecksumAlgo::XXH64);
SPK_SAME(ChecksumAlgo::kXxh32, SPK_CHECKSUM_XXH32, fb::ChecksumAlgo::XXH32);
static_assert(fb::ChecksumAlgo::MAX == fb::ChecksumAlgo::XXH32,
              "a new schema ChecksumAlgo needs a host and runtime value");

SPK_SAME(MetaValue::Kind::kString, SPK_META_STRING, fb::MetaKind::String);
SPK_SAME(MetaValue::Kind::kInt, SPK_META_INT, fb::MetaKind::Int);
SPK_SAME(MetaValue::Kind::kFloat, SPK_META_FLOAT, fb::MetaKind::Float);
SPK_SAME(MetaValue::Kind::kBool, SPK_META_BOOL, fb::MetaKind::Bool);
static_assert(fb::MetaKind::MAX == fb::MetaKind::Bool,
              "a new schema MetaKind needs a host and runtime value");

#undef SPK_SAME

}  // namespace
}  // namespace statepack
