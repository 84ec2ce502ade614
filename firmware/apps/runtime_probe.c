/* SPDX-License-Identifier: Apache-2.0 */
/* The smallest useful firmware: open a blob linked into flash, find a tensor, verify every
 * checksum (one blob hashed with XXH64, one with XXH32) and dequantize the tensor. The size
 * report (tests/firmware/size_report.py) measures what the runtime adds to this image (so it
 * calls nothing else, not even spk_status_str: statuses print as numbers), and this program
 * measures on the target how much stack each of those calls really uses (stack painting). */
#include <stddef.h>
#include <stdint.h>

#include "board/console.h"
#include "board/stack_probe.h"
#include "probe_xxh32.h"
#include "probe_xxh64.h"
#include "statepack/statepack.h"

enum { kMaxValues = 1024 };
static float values[kMaxValues];

/* One call under measurement: its arguments in, its status out. */
struct call {
  const unsigned char *data;
  size_t size;
  spk_blob blob;
  spk_tensor tensor;
  spk_status status;
};

static void call_open(void *c) {
  struct call *k = c;
  k->status = spk_open(&k->blob, k->data, k->size, 0);
}
static void call_find(void *c) {
  struct call *k = c;
  k->status = spk_find(&k->blob, "0.weight", &k->tensor);
}
static void call_verify(void *c) {
  struct call *k = c;
  k->status = spk_verify(&k->blob);
}
static void call_dequantize(void *c) {
  struct call *k = c;
  k->status = spk_dequantize(&k->tensor, values, kMaxValues);
}

/* Runs one API call through the stack probe and prints "name  status  stack". */
static int measure(const char *name, void (*fn)(void *), struct call *k) {
  const uint32_t used = stack_probe_measure(fn, k);
  console_puts("  ");
  console_put_padded(name, 16);
  console_puts("status ");
  console_put_u64((uint64_t)k->status);
  console_puts("   ");
  console_put_u64(used);
  console_puts(" bytes of stack\n");
  return k->status == SPK_OK ? 0 : 1;
}

static int probe(const char *label, const unsigned char *data, size_t size) {
  static struct call k;
  k.data = data;
  k.size = size;
  console_puts(label);
  console_puts(":\n");
  int failures = measure("spk_open", call_open, &k);
  if (failures == 0) failures += measure("spk_find", call_find, &k);
  if (failures == 0) failures += measure("spk_verify", call_verify, &k);
  if (failures == 0) failures += measure("spk_dequantize", call_dequantize, &k);
  return failures;
}

int main(void) {
  int failures = probe("blob hashed with XXH64", probe_xxh64, probe_xxh64_size);
  failures += probe("blob hashed with XXH32", probe_xxh32, probe_xxh32_size);
  console_puts(failures == 0 ? "runtime probe: OK\n" : "runtime probe: FAILED\n");
  return failures == 0 ? 0 : 1;
}
