// SPDX-License-Identifier: Apache-2.0
// Proves the zstd add-on decodes without touching the heap: this binary replaces malloc and
// friends (or, under AddressSanitizer, installs its allocation hooks) and counts every call
// made while the decoder runs. libzstd is reached through the same symbols, so a context or
// buffer it allocated behind our back would be counted too.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<long> calls{0};

void count() {
  if (counting.load(std::memory_order_relaxed)) calls.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// ASan owns malloc; it calls these hooks on every allocation and free instead.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *,
                                                                             size_t),
                                                         void (*free_hook)(const volatile void *));
namespace {
const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(
    [](const volatile void *, size_t) { count(); }, [](const volatile void *) { count(); });
}  // namespace
#else
// glibc's own allocator, under the names it exports for exactly this purpose.
extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

void *malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void free(void *p) {
  if (p != nullptr) count();
  __libc_free(p);
}
void *memalign(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
void *aligned_alloc(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void **out, size_t alignment, size_t n) {
  count();
  *out = __libc_memalign(alignment, n);
  return *out == nullptr ? 12 /* ENOMEM */ : 0;
}
}
#endif

TEST_CASE("the counter sees allocations at all") {
  counting = true;
  void *volatile p = std::malloc(32);
  std::free(p);
  counting = false;
  CHECK(calls.exchange(0) >= 2);
}

TEST_CASE("decoding and dequantizing compressed tensors never allocate") {
  // Built before counting starts: the packer allocates freely.
  statepack::Checkpoint c;
  std::vector<float> w(64 * 2000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  const auto *wb = reinterpret_cast<const uint8_t *>(w.data());
  c.tensors.push_back(statepack::test::owned_tensor("f32", statepack::DType::kF32, {64, 2000},
                                                    std::vector<uint8_t>(wb, wb + w.size() * 4)));
  c.tensors.push_back(statepack::test::owned_tensor("q", statepack::DType::kF32, {64, 2000},
                                                    std::vector<uint8_t>(wb, wb + w.size() * 4)));
  statepack::QuantPlan plan;
  plan.rules.push_back({"q", "q", *statepack::parse_scheme("int4-g32")});
  statepack::apply_quant_plan(c, plan);
  statepack::BlobOptions options;
  options.compression.zstd = true;
  // Chunks within the 64 KiB workspace bound this test uses.
  options.compression.max_chunk = SPK_ZSTD_DEFAULT_CHUNK_SIZE;
  const std::vector<uint8_t> bytes = statepack::build_blob(c, options);
  spk_blob blob;
  REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  std::vector<uint8_t> workspace(spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE));
  std::vector<uint8_t> out(w.size() * 4);
  std::vector<float> values(w.size());
  spk_tensor tensors[2];
  REQUIRE(spk_find(&blob, "f32", &tensors[0]) == SPK_OK);
  REQUIRE(spk_find(&blob, "q", &tensors[1]) == SPK_OK);

  spk_status status[6] = {};
  size_t sizes = 0;
  calls = 0;
  counting = true;
  for (int i = 0; i < 2; ++i) {
    sizes += spk_zstd_workspace_size(&tensors[i]) + spk_zstd_dequantize_workspace_size(&tensors[i]);
    status[3 * i] =
        spk_zstd_decode(&tensors[i], workspace.data(), workspace.size(), out.data(), out.size());
    status[3 * i + 1] = spk_zstd_dequantize(&tensors[i], workspace.data(), workspace.size(),
                                            values.data(), values.size());
    status[3 * i + 2] = spk_verify_tensor(&blob, &tensors[i]);
  }
  sizes += spk_zstd_blob_workspace_size(&blob);
  counting = false;
  CHECK(calls.load() == 0);
  CHECK(sizes > 0);
  for (spk_status s : status) CHECK(s == SPK_OK);
  CHECK(tensors[0].codec != SPK_CODEC_RAW);
  CHECK(tensors[1].codec != SPK_CODEC_RAW);
}
