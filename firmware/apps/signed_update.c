/* SPDX-License-Identifier: Apache-2.0 */
/* Signed over-the-air update on the emulated Cortex-M4 (statepack/statepack_sign.h): the
 * device holds one public key (embedded as a C array, `statepack pubkey`) and accepts an
 * update only if its signature checks out.
 *   1. The signed blob linked into flash verifies in place (spk_verify_signature); a wrong key,
 *      an unsigned blob and a blob signed by another key are refused. Each call's time (SysTick)
 *      and stack (stack painting) are printed for the firmware_s table (run under
 *      `qemu-system-arm -icount shift=0`, one instruction per nanosecond of virtual time, so
 *      a 25 MHz tick is 40 instructions; without -icount the ticks follow the host's clock).
 *   2. The update "arrives" in random chunks through spk_signed_stream: a chunk is staged into
 *      the inactive slot only after the stream accepted it, and the device switches to the slot
 *      only after spk_signed_stream_finish. A blob signed by another key is refused before a
 *      byte of its segments is staged; a byte changed in transit is refused at its segment's
 *      end, and the slot is never switched to.
 * No heap; exit 0 when every check passes. */
#include <stddef.h>
#include <stdint.h>

#include "board/console.h"
#include "board/stack_probe.h"
#include "fw_other_blob.h"
#include "fw_plain_blob.h"
#include "fw_public_key.h"
#include "fw_signed_blob.h"
#include "statepack/format.h"
#include "statepack/statepack.h"
#include "statepack/statepack_sign.h"

enum { kSlot = 8192, kReceiveBuffer = 96, kHeaderBuffer = 2048 };

static int failures;

static void check(int ok, const char *what) {
  console_puts(ok ? "  ok    " : "  FAIL  ");
  console_puts(what);
  console_puts("\n");
  if (!ok) ++failures;
}

/* ---- SysTick: 24-bit down-counter on the processor clock (25 MHz on mps2-an386) ---------- */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static uint32_t ticks_origin;

/* Starts the counter from its reload value (a write to CVR clears it; it reloads on the next
 * tick, so wait for that) and remembers where it started. */
static void ticks_start(void) {
  SYST_CSR = 0;
  SYST_RVR = 0x00FFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 5u; /* enable, processor clock, no interrupt */
  while (SYST_CVR == 0) {
  }
  ticks_origin = SYST_CVR;
}

/* Ticks since ticks_start (at most 2^24 - 1: 0.67 s at 25 MHz, plenty for one call). */
static uint32_t ticks_elapsed(void) {
  return (ticks_origin - SYST_CVR) & 0x00FFFFFFu;
}

/* ---- in place ----------------------------------------------------------------------------- */

struct call {
  const uint8_t *data;
  size_t size;
  const uint8_t *key;
  uint32_t flags;
  spk_blob blob;
  spk_status status;
  uint32_t ticks;
};

static void call_verify(void *c) {
  struct call *k = c;
  k->status = spk_open(&k->blob, k->data, k->size, 0);
  ticks_start();
  if (k->status == SPK_OK) {
    k->status = k->key == NULL ? spk_verify(&k->blob)
                               : spk_verify_signature_with(&k->blob, k->key, k->flags, NULL, NULL);
  }
  k->ticks = ticks_elapsed();
}

static spk_status measure(const char *name, const uint8_t *data, size_t size, const uint8_t *key,
                          uint32_t flags) {
  static struct call k;
  k.data = data;
  k.size = size;
  k.key = key;
  k.flags = flags;
  const uint32_t stack = stack_probe_measure(call_verify, &k);
  console_puts("  ");
  console_put_padded(name, 34);
  console_puts("status ");
  console_put_u64((uint64_t)k.status);
  console_puts("  ticks ");
  console_put_u64(k.ticks);
  console_puts("  stack ");
  console_put_u64(stack);
  console_puts("\n");
  return k.status;
}

/* ---- over the air ------------------------------------------------------------------------- */

static uint32_t next_random(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

static uint8_t slot[kSlot]; /* the inactive slot an update is staged into */

struct update {
  spk_status status;
  uint64_t offset; /* spk_signed_stream_offset at the end */
  uint64_t staged; /* bytes written to the slot */
  int switched;    /* the device switched to the slot */
};

/* Receives blob[0, size) in random chunks, XOR-ing `damage` into byte `damage_at`, staging each
 * chunk only after the stream accepted it; switches only after finish returned SPK_OK. */
static struct update receive(const uint8_t *blob, size_t size, size_t damage_at, uint8_t damage,
                             uint32_t seed) {
  static uint8_t header[kHeaderBuffer];
  static uint8_t rx[kReceiveBuffer];
  static spk_signed_stream st;
  struct update u = {SPK_OK, 0, 0, 0};
  spk_signed_stream_begin(&st, header, sizeof header, fw_public_key, NULL, NULL);
  size_t at = 0;
  while (at < size && u.status == SPK_OK) {
    size_t n = 1 + next_random(&seed) % kReceiveBuffer;
    if (n > size - at) n = size - at;
    for (size_t i = 0; i < n; ++i) {
      rx[i] = blob[at + i];
      if (at + i == damage_at) rx[i] ^= damage;
    }
    u.status = spk_signed_stream_feed(&st, rx, n);
    if (u.status == SPK_OK && at + n <= kSlot) {
      for (size_t i = 0; i < n; ++i) slot[at + i] = rx[i];
      u.staged = at + n;
    }
    at += n;
  }
  if (u.status == SPK_OK) u.status = spk_signed_stream_finish(&st);
  u.offset = spk_signed_stream_offset(&st);
  if (u.status == SPK_OK && u.staged == size) {
    spk_blob b;
    spk_tensor t;
    u.switched = spk_open(&b, slot, size, 0) == SPK_OK && spk_find(&b, "0.weight", &t) == SPK_OK;
  }
  return u;
}

static uint64_t header_end(const uint8_t *blob) {
  uint64_t size = 0;
  for (int i = 7; i >= 0; --i) size = (size << 8) | blob[SPK_PRE_HEADER_SIZE + i];
  return SPK_PREAMBLE_SIZE_DIGESTS + size;
}

int main(void) {
  console_puts("signed blob in flash:\n");
  const uint8_t wrong_key[32] = {1};
  /* The core's own check of the same blob (every XXH32 checksum), for comparison. */
  check(measure("spk_verify (core, XXH32)", fw_signed_blob, fw_signed_blob_size, NULL, 0) == SPK_OK,
        "the core's checksums pass");
  check(measure("spk_verify_signature (whole blob)", fw_signed_blob, fw_signed_blob_size,
                fw_public_key, 0) == SPK_OK,
        "signed blob verifies");
  check(measure("spk_verify_signature header only", fw_signed_blob, fw_signed_blob_size,
                fw_public_key, SPK_SIGN_HEADER_ONLY) == SPK_OK,
        "header-only verification");
  check(
      measure("wrong key", fw_signed_blob, fw_signed_blob_size, wrong_key, 0) == SPK_ERR_SIGNATURE,
      "a wrong key is refused");
  check(measure("unsigned blob", fw_plain_blob, fw_plain_blob_size, fw_public_key, 0) ==
            SPK_ERR_UNSIGNED,
        "an unsigned blob is refused");
  check(measure("signed by another key", fw_other_blob, fw_other_blob_size, fw_public_key, 0) ==
            SPK_ERR_SIGNATURE,
        "another signer's blob is refused");

  console_puts("signed update over the air:\n");
  struct update u = receive(fw_signed_blob, fw_signed_blob_size, (size_t)-1, 0, 7);
  check(u.status == SPK_OK && u.switched, "intact update: verified, staged, switched to");
  u = receive(fw_other_blob, fw_other_blob_size, (size_t)-1, 0, 8);
  check(u.status == SPK_ERR_SIGNATURE && !u.switched, "another signer's update is refused");
  check(u.staged <= header_end(fw_other_blob), "  before any segment byte was staged");
  const size_t last = fw_signed_blob_size - 1;
  u = receive(fw_signed_blob, fw_signed_blob_size, last, 0x20, 9);
  check(u.status == SPK_ERR_SEGMENT_CHECKSUM && !u.switched,
        "a byte changed in transit is refused, the slot never switched to");
  check(u.offset == fw_signed_blob_size, "  at the end of its segment");
  u = receive(fw_signed_blob, fw_signed_blob_size, SPK_PRE_SIGNATURE + 5, 0x01, 10);
  check(u.status != SPK_OK && !u.switched, "a changed signature byte is refused");
  check(u.staged < header_end(fw_signed_blob), "  before the header was even accepted");

  console_puts(failures == 0 ? "signed update: OK\n" : "signed update: FAILED\n");
  return failures == 0 ? 0 : 1;
}
