// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the signed-blob add-on's Ed25519 verification (runtime/sign/crypto) against
// libsodium 1.0.18's crypto_sign_verify_detached. The input describes a case (ed25519_cases.hpp):
// byte 0 = mutation, 32 bytes of key seed, a message length byte and the message, then the
// mutation's parameters (bit to flip, multiple of L, small-order encoding, scalars, random
// bytes). The key pair and signature come from libsodium; the two verifiers must then decide
// alike on every input: the policy in spk_crypto.hpp allows no difference.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "sign_crypto/ed25519_cases.hpp"
#include "spk_crypto.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const bool ready = sodium_init() >= 0;
  FUZZ_CHECK(ready);
  const statepack::test::Ed25519Case c = statepack::test::make_ed25519_case(data, size);
  const bool ours = statepack::crypto::ed25519_verify(c.signature, c.message.data(),
                                                      c.message.size(), c.public_key);
  FUZZ_CHECK(ours == statepack::test::libsodium_accepts(c));
  return 0;
}
