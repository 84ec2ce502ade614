// SPDX-License-Identifier: Apache-2.0
// Checksums for the host tools, on top of libxxhash (the reference implementation, and the
// oracle the runtime's own XXH32/XXH64 is tested against).
#include "statepack/tools/core/checksum.hpp"

// The state structs' definitions let a Hasher hold its state by value (one allocation, and
// copying a Hasher is a plain struct copy).
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

// Values outside the enum can arrive through a cast from file or user input; they are
// rejected here once rather than silently hashed with the wrong algorithm.
void require_known(ChecksumAlgo algo) {
  if (algo != ChecksumAlgo::kXxh64 && algo != ChecksumAlgo::kXxh32) {
    throw Error(ErrorKind::kInput,
                "unknown checksum algorithm " + std::to_string(static_cast<unsigned>(algo)));
  }
}

}  // namespace

uint64_t checksum(ChecksumAlgo algo, const void *data, size_t size) {
  require_known(algo);
  if (algo == ChecksumAlgo::kXxh32) return XXH32(data, size, 0);
  return XXH64(data, size, 0);
}

struct Hasher::State {
  XXH32_state_t xxh32;
  XXH64_state_t xxh64;
};

Hasher::Hasher(ChecksumAlgo algo) : algo_(algo) {
  require_known(algo);
  state_ = std::make_unique<State>();
  // Reset can fail only for a null state, which cannot happen here.
  if (algo_ == ChecksumAlgo::kXxh32) {
    XXH32_reset(&state_->xxh32, 0);
  } else {
    XXH64_reset(&state_->xxh64, 0);
  }
}

Hasher::~Hasher() = default;

Hasher::Hasher(const Hasher &other)
    : algo_(other.algo_), state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Hasher &Hasher::operator=(const Hasher &other) {
  if (this != &other) {
    algo_ = other.algo_;
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  }
  return *this;
}

Hasher::Hasher(Hasher &&other) noexcept = default;
Hasher &Hasher::operator=(Hasher &&other) noexcept = default;

void Hasher::update(const void *data, size_t size) {
  // libxxhash accepts (nullptr, 0); skipping empty updates keeps that true for any version.
  if (size == 0) return;
  if (algo_ == ChecksumAlgo::kXxh32) {
    XXH32_update(&state_->xxh32, data, size);
  } else {
    XXH64_update(&state_->xxh64, data, size);
  }
}

uint64_t Hasher::digest() const {
  if (algo_ == ChecksumAlgo::kXxh32) return XXH32_digest(&state_->xxh32);
  return XXH64_digest(&state_->xxh64);
}

std::string checksum_name(ChecksumAlgo algo) {
  switch (algo) {
    case ChecksumAlgo::kXxh64:
      return "xxh64";
    case ChecksumAlgo::kXxh32:
      return "xxh32";
  }
  return "unknown";
}

std::optional<ChecksumAlgo> checksum_from_name(std::string_view name) {
  if (name == "xxh64") return ChecksumAlgo::kXxh64;
  if (name == "xxh32") return ChecksumAlgo::kXxh32;
  return std::nullopt;
}

std::string hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (size_t i = 16; i-- > 0; value >>= 4) out[i] = kDigits[value & 0xFu];
  return out;
}

}  // namespace statepack
