/* SPDX-License-Identifier: Apache-2.0 */
/* Reads a statepack blob through the C API on Linux and runs the tiny MLP it holds.
 *
 * The blob is mmap'd, opened and fully verified; every tensor is listed; the weights are decoded
 * into static buffers (the runtime allocates nothing, and neither does this program) and the
 * forward pass is checked against the output PyTorch computed when the example was made.
 * Usage: run_tiny_mlp BLOB            Exit 0 when the outputs match, 1 otherwise.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statepack/statepack.h"

enum { kMaxValues = 1024 };

static float w1[kMaxValues], b1[kMaxValues], w2[kMaxValues], b2[kMaxValues];
static float input[kMaxValues], expected[kMaxValues], hidden[kMaxValues];

/* Finds `name` and decodes it into `out`; prints why and returns 0 on failure. */
static int load(const spk_blob *blob, const char *name, float *out, spk_tensor *t) {
  spk_status s = spk_find(blob, name, t);
  if (s == SPK_OK) s = spk_dequantize(t, out, kMaxValues);
  if (s != SPK_OK) {
    fprintf(stderr, "%s: %s\n", name, spk_status_str(s));
    return 0;
  }
  return 1;
}

static void list_tensors(const spk_blob *blob) {
  for (uint32_t i = 0; i < spk_tensor_count(blob); ++i) {
    spk_tensor t;
    if (spk_tensor_at(blob, i, &t) != SPK_OK) continue;
    printf("  %-26s %-5s [", t.name, spk_dtype_name(t.dtype));
    for (uint32_t d = 0; d < t.rank; ++d)
      printf(d ? ", %llu" : "%llu", (unsigned long long)t.shape[d]);
    printf("]  %llu bytes at offset %lld\n", (unsigned long long)t.stored_size,
           (long long)((const uint8_t *)t.data - blob->data));
  }
}

static int run(const spk_blob *blob) {
  spk_tensor tw1, tb1, tw2, tb2, tin, tout;
  if (!load(blob, "0.weight", w1, &tw1) || !load(blob, "0.bias", b1, &tb1) ||
      !load(blob, "2.weight", w2, &tw2) || !load(blob, "2.bias", b2, &tb2) ||
      !load(blob, "example.input", input, &tin) ||
      !load(blob, "example.expected_output", expected, &tout)) {
    return 1;
  }
  const uint64_t n_in = tw1.shape[1], n_hidden = tw1.shape[0], n_out = tw2.shape[0];
  if (tw1.rank != 2 || tw2.rank != 2 || tw2.shape[1] != n_hidden || tin.element_count != n_in ||
      tout.element_count != n_out) {
    fprintf(stderr, "unexpected shapes\n");
    return 1;
  }
  for (uint64_t h = 0; h < n_hidden; ++h) {
    float acc = b1[h];
    for (uint64_t i = 0; i < n_in; ++i) acc += w1[h * n_in + i] * input[i];
    hidden[h] = acc > 0.0f ? acc : 0.0f;
  }
  float worst = 0.0f;
  printf("output (statepack runtime) vs PyTorch:\n");
  for (uint64_t o = 0; o < n_out; ++o) {
    float acc = b2[o];
    for (uint64_t h = 0; h < n_hidden; ++h) acc += w2[o * n_hidden + h] * hidden[h];
    const float diff = fabsf(acc - expected[o]);
    if (diff > worst) worst = diff;
    printf("  y[%llu] = %+.6f   (PyTorch %+.6f)\n", (unsigned long long)o, acc, expected[o]);
  }
  printf("max abs difference: %.3g\n", worst);
  return worst <= 1e-5f ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BLOB\n", argv[0]);
    return 2;
  }
  const int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
    perror(argv[1]);
    return 1;
  }
  void *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) {
    perror(argv[1]);
    return 1;
  }
  spk_blob blob;
  spk_status s = spk_open(&blob, data, (size_t)st.st_size, 0);
  if (s == SPK_OK) s = spk_verify(&blob);
  if (s != SPK_OK) {
    fprintf(stderr, "%s: %s\n", argv[1], spk_status_str(s));
    return 1;
  }
  printf("%s: %u tensors, verified (%s)\n", argv[1], spk_tensor_count(&blob),
         spk_checksum_algo(&blob) == SPK_CHECKSUM_XXH64 ? "xxh64" : "xxh32");
  list_tensors(&blob);
  const int rc = run(&blob);
  munmap(data, (size_t)st.st_size);
  return rc;
}
