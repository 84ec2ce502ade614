// SPDX-License-Identifier: Apache-2.0
// SHA-256 through libsodium (see sha256.hpp). sodium_init is called once before first use, as
// libsodium asks; it only selects implementations and cannot fail in a way that matters here
// (crypto_hash_sha256 has no alternative implementations), but its result is still checked.
#include "statepack/tools/core/sha256.hpp"

#include <sodium.h>

#include <stdexcept>

namespace statepack {
namespace {

void ensure_sodium() {
  static const int ready = sodium_init();
  if (ready < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

struct Sha256::State {
  crypto_hash_sha256_state state;
};

Digest256 sha256(const void *data, size_t size) {
  ensure_sodium();
  Digest256 digest{};
  static const unsigned char empty = 0;
  crypto_hash_sha256(digest.data(),
                     data != nullptr ? static_cast<const unsigned char *>(data) : &empty, size);
  return digest;
}

Sha256::Sha256() : state_(std::make_unique<State>()) {
  ensure_sodium();
  crypto_hash_sha256_init(&state_->state);
}

Sha256::~Sha256() = default;

void Sha256::update(const void *data, size_t size) {
  if (size == 0) return;
  crypto_hash_sha256_update(&state_->state, static_cast<const unsigned char *>(data), size);
}

Digest256 Sha256::final() {
  Digest256 digest{};
  crypto_hash_sha256_final(&state_->state, digest.data());
  return digest;
}

std::string hex_bytes(const uint8_t *data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    text += digits[data[i] >> 4];
    text += digits[data[i] & 15];
  }
  return text;
}

}  // namespace statepack
