/* SPDX-License-Identifier: Apache-2.0 */
/* The digits example: a 64 -> 32 -> 10 ReLU MLP trained on scikit-learn's digits
 * (train_digits.py), packed as int8 at build time (statepack_add_blob, `--quant int8 --rule
 * '*.weight=int8'`) and linked in as a const array, classifies the 360 held-out test images
 * (digits_test_data.h) and prints
 *
 *   int8 accuracy: N/360 = 0.XXXX
 *
 * which the tests compare with the count train_digits.py computes in PyTorch from the same
 * dequantized weights (expected_accuracy.json). Before that it checks the blob as an
 * over-the-air update would: fed to the stream verifier (spk_stream_*) in chunks of
 * pseudo-random sizes, intact and then as a RAM copy with one flipped byte, whose failure
 * offset it reports.
 *
 * No heap: the weights are decoded row by row (spk_dequantize_rows) into static float arrays,
 * the forward pass is plain float arithmetic. The same source builds for the Cortex-M4 under
 * QEMU (semihosting console) and for the host (console on stdio). Exit 0 when all is well. */
#include <stddef.h>
#include <stdint.h>

#include "board/console.h"
#include "digits_model.h"
#include "digits_test_data.h"
#include "statepack/statepack.h"

enum {
  kMaxIn = DIGITS_PIXELS,
  kMaxHidden = 64,
  kMaxOut = 16,
  kHeaderBuffer = 2048,
  kMaxChunk = 97,
  kMaxBlobCopy = 8192
};

static float w1[kMaxHidden * kMaxIn], b1[kMaxHidden];
static float w2[kMaxOut * kMaxHidden], b2[kMaxOut];
static uint32_t n_in, n_hidden, n_out;

static void report(const char *what, spk_status s) {
  console_puts(what);
  console_puts(": ");
  console_puts(spk_status_str(s));
  console_puts("\n");
}

/* ---- over-the-air check ------------------------------------------------------------------ */

static uint32_t next_random(uint32_t *state) { /* xorshift32 */
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

/* Feeds data[0, size) to a fresh stream verifier in chunks of 1..kMaxChunk bytes, stopping at
 * the first failure; *offset gets spk_stream_offset when it ended. */
static spk_status stream_check(const uint8_t *data, size_t size, uint32_t seed, uint64_t *offset,
                               uint32_t *segment, uint32_t *chunks) {
  static uint8_t header[kHeaderBuffer];
  spk_stream stream;
  spk_status s = spk_stream_begin(&stream, header, sizeof header);
  size_t at = 0;
  *chunks = 0;
  while (s == SPK_OK && at < size) {
    size_t n = 1 + next_random(&seed) % kMaxChunk;
    if (n > size - at) n = size - at;
    s = spk_stream_feed(&stream, data + at, n);
    at += n;
    ++*chunks;
  }
  if (s == SPK_OK) s = spk_stream_finish(&stream);
  *offset = spk_stream_offset(&stream);
  *segment = spk_stream_failed_segment(&stream);
  return s;
}

static int over_the_air(const spk_blob *blob) {
  static uint8_t copy[kMaxBlobCopy];
  uint64_t offset;
  uint32_t segment, chunks;
  const size_t size = digits_model_size;

  spk_status s = stream_check(digits_model, size, 2024u, &offset, &segment, &chunks);
  console_puts("over-the-air, intact: ");
  console_puts(spk_status_str(s));
  console_puts(" after ");
  console_put_u64(offset);
  console_puts(" bytes in ");
  console_put_u64(chunks);
  console_puts(" chunks\n");
  if (s != SPK_OK || offset != size) return 0;

  /* One flipped byte in the middle of 0.weight's int8 data, in a RAM copy of the blob. */
  spk_tensor t;
  s = spk_find(blob, "0.weight", &t);
  if (s != SPK_OK || size > sizeof copy) {
    console_puts("over-the-air: cannot prepare the damaged copy\n");
    return 0;
  }
  for (size_t i = 0; i < size; ++i) copy[i] = digits_model[i];
  const size_t begin = (size_t)((const uint8_t *)t.data - digits_model);
  const size_t flipped_at = begin + (size_t)t.stored_size / 2;
  copy[flipped_at] ^= 0xFF;
  s = stream_check(copy, size, 99u, &offset, &segment, &chunks);
  console_puts("over-the-air, byte ");
  console_put_u64(flipped_at);
  console_puts(" flipped: ");
  console_puts(spk_status_str(s));
  console_puts(" at offset ");
  console_put_u64(offset);
  console_puts(" (segment ");
  console_put_u64(segment);
  console_puts(", 0.weight's ends at ");
  console_put_u64(begin + t.stored_size);
  console_puts(") after ");
  console_put_u64(chunks);
  console_puts(" chunks\n");
  /* The damage is certain once the segment's last byte has arrived, not earlier or later. */
  return s == SPK_ERR_SEGMENT_CHECKSUM && segment == t.segment && offset == begin + t.stored_size;
}

/* ---- weights and inference --------------------------------------------------------------- */

/* Decodes `name` row by row into out (capacity `capacity` floats); *rows and *cols get its
 * shape (a vector is one column per row). */
static int load(const spk_blob *blob, const char *name, float *out, size_t capacity, uint32_t *rows,
                uint32_t *cols) {
  spk_tensor t;
  spk_status s = spk_find(blob, name, &t);
  if (s == SPK_OK && (t.rank < 1 || t.rank > 2 || t.element_count > capacity))
    s = SPK_ERR_BUFFER_TOO_SMALL;
  if (s == SPK_OK) {
    *rows = (uint32_t)t.shape[0];
    *cols = t.rank == 2 ? (uint32_t)t.shape[1] : 1;
    for (uint32_t r = 0; r < *rows && s == SPK_OK; ++r)
      s = spk_dequantize_rows(&t, r, 1, out + (size_t)r * *cols, *cols);
  }
  if (s != SPK_OK) {
    report(name, s);
    return 0;
  }
  console_puts("  ");
  console_put_padded(name, 10);
  console_put_padded(spk_dtype_name(t.dtype), 5);
  console_puts(t.quant.scheme != SPK_QUANT_NONE ? " quantized, " : " ");
  console_put_u64(t.stored_size);
  console_puts(" bytes stored\n");
  return 1;
}

static int load_model(const spk_blob *blob) {
  uint32_t r, c, r2, c2;
  if (!load(blob, "0.weight", w1, sizeof w1 / sizeof w1[0], &n_hidden, &n_in) ||
      !load(blob, "0.bias", b1, kMaxHidden, &r, &c) ||
      !load(blob, "2.weight", w2, sizeof w2 / sizeof w2[0], &n_out, &r2) ||
      !load(blob, "2.bias", b2, kMaxOut, &c2, &c))
    return 0;
  return n_in == DIGITS_PIXELS && r == n_hidden && r2 == n_hidden && c2 == n_out;
}

/* The MLP in float, as torch computes it: y = W2 relu(W1 x + b1) + b2; argmax of y. */
static uint32_t classify(const uint8_t *pixels) {
  float x[kMaxIn], h[kMaxHidden];
  for (uint32_t i = 0; i < n_in; ++i) x[i] = (float)pixels[i] / 16.0f;
  for (uint32_t j = 0; j < n_hidden; ++j) {
    float acc = 0.0f;
    for (uint32_t i = 0; i < n_in; ++i) acc += w1[j * n_in + i] * x[i];
    acc += b1[j];
    h[j] = acc > 0.0f ? acc : 0.0f;
  }
  uint32_t best = 0;
  float best_value = 0.0f;
  for (uint32_t o = 0; o < n_out; ++o) {
    float acc = 0.0f;
    for (uint32_t j = 0; j < n_hidden; ++j) acc += w2[o * n_hidden + j] * h[j];
    acc += b2[o];
    if (o == 0 || acc > best_value) { /* first maximum, as torch.argmax */
      best = o;
      best_value = acc;
    }
  }
  return best;
}

int main(void) {
  spk_blob blob;
  spk_status s = spk_open(&blob, digits_model, digits_model_size, 0);
  if (s == SPK_OK) s = spk_verify(&blob);
  console_puts("digits model: ");
  console_put_u64(digits_model_size);
  console_puts(" bytes, ");
  console_put_u64(spk_tensor_count(&blob));
  console_puts(" tensors: ");
  console_puts(spk_status_str(s));
  console_puts("\n");
  if (s != SPK_OK) return 1;

  const int ota_ok = over_the_air(&blob);
  if (!ota_ok) console_puts("over-the-air check FAILED\n");

  if (!load_model(&blob)) {
    console_puts("the blob does not hold the 64 -> hidden -> 10 MLP\n");
    return 1;
  }
  uint32_t correct = 0;
  for (uint32_t n = 0; n < DIGITS_TEST_COUNT; ++n)
    if (classify(digits_test_pixels[n]) == digits_test_labels[n]) ++correct;
  console_puts("int8 accuracy: ");
  console_put_u64(correct);
  console_puts("/");
  console_put_u64(DIGITS_TEST_COUNT);
  console_puts(" = ");
  console_put_f32((float)correct / (float)DIGITS_TEST_COUNT, 4);
  console_puts("\n");
  return ota_ok ? 0 : 1;
}
