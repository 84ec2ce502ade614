/* SPDX-License-Identifier: Apache-2.0 */
/* Firmware demo on the emulated Cortex-M4: the bundled tiny MLP (examples/tiny_mlp), packed
 * and linked into flash at build time by statepack_add_blob, is
 *   1. checked as an over-the-air update would be: "received" in chunks of random sizes
 *      through a small receive buffer and fed to the stream verifier (spk_stream_*), once
 *      intact and twice with a byte damaged in transit (in a weight segment, in the header),
 *      where the damage must be reported at the exact byte it becomes certain;
 *   2. opened in place, listed and run: the forward pass must match PyTorch's output, which
 *      the example stores in the blob beside the weights.
 * Nothing is allocated: buffers are static, the blob stays in flash. Exit 0 when all checks
 * pass. The same source also builds for the host (board console on stdio), so one program
 * can be compared on both. The skeleton takes any model: swap the blob and the forward pass. */
#include <stddef.h>
#include <stdint.h>

#include "board/console.h"
#include "statepack/format.h"
#include "statepack/statepack.h"
#include "tiny_mlp_blob.h"

enum { kMaxValues = 1024, kReceiveBuffer = 128, kHeaderBuffer = 2048 };

static float w1[kMaxValues], b1[kMaxValues], w2[kMaxValues], b2[kMaxValues];
static float input[kMaxValues], expected[kMaxValues], hidden[kMaxValues];

static int failures;

static void check(int ok, const char *what) {
  console_puts(ok ? "  ok    " : "  FAIL  ");
  console_puts(what);
  console_puts("\n");
  if (!ok) ++failures;
}

/* ---- over-the-air check ------------------------------------------------------------------ */

/* xorshift32: reproducible chunk sizes without a C library. */
static uint32_t next_random(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

struct received {
  spk_status status;
  uint64_t offset;  /* spk_stream_offset when it ended */
  uint32_t segment; /* spk_stream_failed_segment */
  uint32_t chunks;
};

/* Streams blob[0, size) through a receive buffer in random-size chunks (1..kReceiveBuffer
 * bytes), XOR-ing `damage` into the byte at `damage_at` on the way, and stops at the first
 * failure as an updater would. */
static struct received receive(const uint8_t *blob, size_t size, size_t damage_at, uint8_t damage,
                               uint32_t seed) {
  static uint8_t header[kHeaderBuffer];
  static uint8_t rx[kReceiveBuffer];
  spk_stream stream;
  struct received r = {SPK_OK, 0, SPK_NO_SEGMENT, 0};
  spk_stream_begin(&stream, header, sizeof header);
  size_t at = 0;
  while (at < size && r.status == SPK_OK) {
    size_t n = 1 + next_random(&seed) % kReceiveBuffer;
    if (n > size - at) n = size - at;
    for (size_t i = 0; i < n; ++i) {
      rx[i] = blob[at + i];
      if (at + i == damage_at) rx[i] ^= damage;
    }
    r.status = spk_stream_feed(&stream, rx, n);
    at += n;
    ++r.chunks;
  }
  if (r.status == SPK_OK) r.status = spk_stream_finish(&stream);
  r.offset = spk_stream_offset(&stream);
  r.segment = spk_stream_failed_segment(&stream);
  return r;
}

static void print_received(const char *label, struct received r) {
  console_puts("  ");
  console_puts(label);
  console_puts(": ");
  console_puts(spk_status_str(r.status));
  console_puts(" after ");
  console_put_u64(r.offset);
  console_puts(" bytes in ");
  console_put_u64(r.chunks);
  console_puts(" chunks");
  if (r.segment != SPK_NO_SEGMENT) {
    console_puts(", segment ");
    console_put_u64(r.segment);
  }
  console_puts("\n");
}

static void over_the_air(const spk_blob *blob) {
  const uint8_t *data = tiny_mlp_blob;
  const size_t size = tiny_mlp_blob_size;
  console_puts("over-the-air check (spk_stream, ");
  console_put_u64(sizeof(spk_stream));
  console_puts("-byte state, random chunks of 1..128 bytes):\n");

  const struct received intact = receive(data, size, (size_t)-1, 0, 12345u);
  print_received("intact", intact);
  check(intact.status == SPK_OK && intact.offset == size, "an intact blob checks out");

  /* One flipped bit in the middle of 2.weight: certain only at its segment's last byte. */
  spk_tensor t;
  if (spk_find(blob, "2.weight", &t) != SPK_OK) {
    check(0, "2.weight is in the blob");
    return;
  }
  const size_t begin = (size_t)((const uint8_t *)t.data - data);
  const struct received flipped = receive(data, size, begin + t.stored_size / 2, 0x10, 777u);
  print_received("bit flipped in 2.weight", flipped);
  check(flipped.status == SPK_ERR_SEGMENT_CHECKSUM && flipped.segment == t.segment &&
            flipped.offset == begin + t.stored_size,
        "reported at the end of 2.weight's segment, naming that segment");

  /* A damaged header byte: certain when the header ends, before any tensor byte arrives. */
  uint32_t header_size = 0; /* the preamble's u64 (little-endian) is far below 4 GiB here */
  for (int i = 3; i >= 0; --i) header_size = header_size << 8 | data[SPK_PRE_HEADER_SIZE + i];
  const size_t header_end = SPK_PREAMBLE_SIZE_V1 + header_size;
  const struct received header = receive(data, size, 100, 0x01, 4242u);
  print_received("bit flipped in the header", header);
  check(header.status == SPK_ERR_HEADER_CHECKSUM && header.offset == header_end,
        "reported at the header's end");
}

/* ---- inference ----------------------------------------------------------------------------- */

static int load(const spk_blob *blob, const char *name, float *out, spk_tensor *t) {
  spk_status s = spk_find(blob, name, t);
  if (s == SPK_OK) s = spk_dequantize(t, out, kMaxValues);
  if (s != SPK_OK) {
    console_puts(name);
    console_puts(": ");
    console_puts(spk_status_str(s));
    console_puts("\n");
    return 0;
  }
  return 1;
}

static void list_tensors(const spk_blob *blob) {
  for (uint32_t i = 0; i < spk_tensor_count(blob); ++i) {
    spk_tensor t;
    if (spk_tensor_at(blob, i, &t) != SPK_OK) continue;
    console_puts("  ");
    console_put_padded(t.name, 26);
    console_put_padded(spk_dtype_name(t.dtype), 5);
    console_puts(" [");
    for (uint32_t d = 0; d < t.rank; ++d) {
      if (d != 0) console_puts(", ");
      console_put_u64(t.shape[d]);
    }
    console_puts("]  at 0x");
    console_put_hex((uintptr_t)t.data, 2 * sizeof(uintptr_t));
    console_puts("\n");
  }
}

static void inference(const spk_blob *blob) {
  spk_tensor tw1, tb1, tw2, tb2, tin, tout;
  if (!load(blob, "0.weight", w1, &tw1) || !load(blob, "0.bias", b1, &tb1) ||
      !load(blob, "2.weight", w2, &tw2) || !load(blob, "2.bias", b2, &tb2) ||
      !load(blob, "example.input", input, &tin) ||
      !load(blob, "example.expected_output", expected, &tout)) {
    check(0, "every tensor decodes");
    return;
  }
  const uint32_t n_in = (uint32_t)tw1.shape[1], n_hidden = (uint32_t)tw1.shape[0];
  const uint32_t n_out = (uint32_t)tw2.shape[0];
  if (tw1.rank != 2 || tw2.rank != 2 || tw2.shape[1] != n_hidden || tin.element_count != n_in ||
      tout.element_count != n_out || n_in * n_hidden > kMaxValues) {
    check(0, "shapes are those of the MLP");
    return;
  }
  for (uint32_t h = 0; h < n_hidden; ++h) {
    float acc = b1[h];
    for (uint32_t i = 0; i < n_in; ++i) acc += w1[h * n_in + i] * input[i];
    hidden[h] = acc > 0.0f ? acc : 0.0f;
  }
  float worst = 0.0f;
  console_puts("forward pass on the Cortex-M4 vs PyTorch:\n");
  for (uint32_t o = 0; o < n_out; ++o) {
    float acc = b2[o];
    for (uint32_t h = 0; h < n_hidden; ++h) acc += w2[o * n_hidden + h] * hidden[h];
    const float diff = acc > expected[o] ? acc - expected[o] : expected[o] - acc;
    if (diff > worst) worst = diff;
    console_puts("  y[");
    console_put_u64(o);
    console_puts("] = ");
    console_put_f32(acc, 6);
    console_puts("   (PyTorch ");
    console_put_f32(expected[o], 6);
    console_puts(")\n");
  }
  console_puts("  max abs difference: ");
  console_put_f32(worst, 9);
  console_puts("\n");
  check(worst <= 1e-5f, "outputs match PyTorch within 1e-5");
}

int main(void) {
  spk_blob blob;
  spk_status s = spk_open(&blob, tiny_mlp_blob, tiny_mlp_blob_size, 0);
  if (s == SPK_OK) s = spk_verify(&blob);
  console_puts("tiny_mlp blob in flash at 0x");
  console_put_hex((uintptr_t)tiny_mlp_blob, 2 * sizeof(uintptr_t));
  console_puts(", ");
  console_put_u64(tiny_mlp_blob_size);
  console_puts(" bytes: ");
  console_puts(spk_status_str(s));
  console_puts("\n");
  if (s != SPK_OK) return 1;
  list_tensors(&blob);
  over_the_air(&blob);
  inference(&blob);
  console_puts(failures == 0 ? "tiny_mlp firmware: all checks passed\n"
                             : "tiny_mlp firmware: FAILED\n");
  return failures == 0 ? 0 : 1;
}
