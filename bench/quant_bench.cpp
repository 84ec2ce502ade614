// SPDX-License-Identifier: Apache-2.0
// Quantization quality against GGUF's reference formats and against brute force: prints SQNR
// and bits per weight for our schemes beside Q8_0, Q4_0, plain max-abs rounding, a 1000-ratio
// clipping search (per channel) and an exhaustive search over every f16 scale (groups), on
// seeded synthetic weights and on the float tensors of safetensors files named on the command
// line. A benchmark, not a test.
//
// Usage: quant_bench [--seed N] [--dense N] [--ceiling-groups N] [FILE.safetensors ...]
//        quant_bench --throughput [--scheme NAME ...] [--seed N] [FILE.safetensors ...]
// The second form prints only quantize()'s throughput per scheme (GB of f32 input per processor
// second) at 1 and 2 threads, and the pooled SQNR.
//
// Each tensor of rank >= 2 with >= 1024 elements is quantized with its stored shape; groups run
// along rows (a slice of axis 0, later axes flattened; FORMAT.md), and the GGUF blocks of 32
// run along the same rows, so both sides pay the same bits. "mean" averages each tensor's SQNR,
// "pooled" is total signal over total noise. Times are processor seconds of single-threaded
// quantize() calls (for ours: search, packing and the quality measurement).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf_kquant_reference.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace {

using statepack::QuantizedTensor;
using statepack::SchemeSpec;

// A named tensor of f32 values with its stored shape, seen as rows of `cols`.
struct Weights {
  std::string name;
  std::vector<uint64_t> shape;
  std::vector<float> values;
  size_t rows() const { return shape[0]; }
  size_t cols() const { return values.size() / shape[0]; }
};

// ---- Seeded synthetic weights: portable generators, so every platform sees the same data. --

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
  double normal() {  // Box-Muller, one value per call
    const double pi = 3.14159265358979323846;
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * pi * uniform());
  }
  double student_t4() {  // Z / sqrt(chi2_4 / 4)
    double chi2 = 0;
    for (int i = 0; i < 4; ++i) {
      const double z = normal();
      chi2 += z * z;
    }
    return normal() / std::sqrt(chi2 / 4.0);
  }
};

// 512 x 2048 weights: Student-t (nu = 4) heavy tails, row scales log-normal (sigma 0.5),
// overall scale like a trained linear layer.
Weights synthetic_weights(uint64_t seed) {
  Weights w;
  w.name = "synthetic";
  w.shape = {512, 2048};
  w.values.resize(512 * 2048);
  SplitMix64 rng{seed};
  for (size_t r = 0; r < 512; ++r) {
    const double row_scale = 0.02 * std::exp(0.5 * rng.normal());
    for (size_t c = 0; c < 2048; ++c) {
      w.values[r * 2048 + c] = static_cast<float>(row_scale * rng.student_t4());
    }
  }
  return w;
}

std::vector<Weights> load_safetensors(const std::string &path) {
  std::vector<Weights> out;
  const statepack::Checkpoint checkpoint = statepack::read_safetensors(path);
  for (const statepack::Tensor &t : checkpoint.tensors) {
    const bool floating = t.dtype == statepack::DType::kF32 || t.dtype == statepack::DType::kF16 ||
                          t.dtype == statepack::DType::kBF16;
    if (!floating || t.shape.size() < 2 || t.element_count() < 1024) continue;
    out.push_back(Weights{t.name, t.shape, statepack::to_f32(t)});
  }
  return out;
}

// ---- Reference quantizers on one block (row segment); each writes its reconstruction. ----

float f16_round(float value) {
  return statepack::f16_to_f32(statepack::f32_to_f16(value));
}

// Nearest level by x * (1/s) and the 1.5 * 2^23 rounding trick: fast enough to brute-force.
float level(float x, float inverse, float lo, float hi) {
  const float t = std::clamp(x * inverse, lo, hi);
  return (t + 12582912.0f) - 12582912.0f;
}

// GGUF Q8_0 (REFERENCE.md): d = amax / 127, q = round(x / d), f16 d stored.
void q8_0_block(const float *x, size_t n, float *y) {
  float amax = 0;
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float stored = f16_round(d);
  for (size_t i = 0; i < n; ++i) y[i] = (d != 0 ? std::round(x[i] / d) : 0.0f) * stored;
}

// GGUF Q4_0 (REFERENCE.md): d = (signed value of largest magnitude) / -8,
// q = min(15, (int)(x / d + 8.5)), decoded (q - 8) * d with the f16 d.
void q4_0_block(const float *x, size_t n, float *y) {
  float amax = 0;
  float max = 0;
  for (size_t i = 0; i < n; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  const float d = max / -8.0f;
  const float stored = f16_round(d);
  for (size_t i = 0; i < n; ++i) {
    const int q = d != 0 ? std::min(15, static_cast<int>(x[i] / d + 8.5f)) : 8;
    y[i] = static_cast<float>(q - 8) * stored;
  }
}

// Plain per-channel int8: s = amax / 127 (f32), nearest level.
void maxabs_int8_block(const float *x, size_t n, float *y) {
  float amax = 0;
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float s = amax / 127.0f;
  for (size_t i = 0; i < n; ++i) y[i] = s != 0 ? level(x[i], 1.0f / s, -127, 127) * s : 0.0f;
}

double block_error(const float *x, size_t n, float s, float lo, float hi) {
  const float inverse = 1.0f / s;
  double partial[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - level(x[i], inverse, lo, hi) * s;
    partial[i % 4] += d * d;
  }
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}

void write_block(const float *x, size_t n, float s, float lo, float hi, float *y) {
  for (size_t i = 0; i < n; ++i) y[i] = s != 0 ? level(x[i], 1.0f / s, lo, hi) * s : 0.0f;
}

// Per-channel int8 by brute force: the best of `steps` clipping ratios k / steps (k = 1..steps)
// of the max-abs scale.
void dense_int8_block(const float *x, size_t n, float *y, int steps) {
  float amax = 0;
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  double best = std::numeric_limits<double>::infinity();
  float best_scale = 0;
  for (int k = 1; k <= steps && amax > 0; ++k) {
    const auto s = static_cast<float>(static_cast<double>(k) / steps * amax / 127.0);
    const double error = block_error(x, n, s, -127, 127);
    if (error < best) {
      best = error;
      best_scale = s;
    }
  }
  write_block(x, n, best_scale, -127, 127, y);
}

// The best symmetric group quantizer with an f16 scale, by trying every f16 value (both signs
// when the levels are lopsided, as int4's -8..7) from amax / (2 * 8) (or 2 * 127) up to
// 2 * amax / 7 (or / 127): for a fixed scale the nearest levels are optimal, so this is the
// format's optimum unless it lies outside a factor-4 window around the max-abs scale.
void exhaustive_f16_block(const float *x, size_t n, float *y, int lo, int hi) {
  float amax = 0;
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  double best = 0;
  for (size_t i = 0; i < n; ++i) best += static_cast<double>(x[i]) * x[i];
  float best_scale = 0;
  const uint16_t first = statepack::f32_to_f16(amax / static_cast<float>(2 * -lo));
  const uint16_t last = statepack::f32_to_f16(2 * amax / static_cast<float>(hi));
  for (uint32_t h = std::max<uint32_t>(first, 1); h <= last && h < 0x7C00u; ++h) {
    const float magnitude = statepack::f16_to_f32(static_cast<uint16_t>(h));
    for (const float s : {magnitude, -magnitude}) {
      if (s < 0 && lo == -hi) continue;  // symmetric levels: the sign changes nothing
      const double error = block_error(x, n, s, static_cast<float>(lo), static_cast<float>(hi));
      if (error < best) {
        best = error;
        best_scale = s;
      }
    }
  }
  write_block(x, n, best_scale, static_cast<float>(lo), static_cast<float>(hi), y);
}

// ---- Measurement. ----

struct Outcome {
  double signal = 0;
  double noise = 0;
  double bits = 0;
  double weights = 0;
  double seconds = 0;
};

void add_error(const float *x, const float *y, size_t n, Outcome &o) {
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    o.signal += static_cast<double>(x[i]) * x[i];
    o.noise += d * d;
  }
  o.weights += static_cast<double>(n);
}

// Processor time, so figures taken on a busy machine stay comparable.
double cpu_seconds_since(std::clock_t start) {
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

// A reference quantizer over blocks of `block` along each row (ragged at the row's end), on
// every `stride`-th block only; `overhead` bits per block plus `bits` per weight.
using BlockFn = std::function<void(const float *, size_t, float *)>;
Outcome blockwise(const Weights &w, size_t block, double overhead, double bits, const BlockFn &fn,
                  size_t stride = 1) {
  Outcome o;
  std::vector<float> y(block);
  size_t index = 0;
  const std::clock_t start = std::clock();
  for (size_t r = 0; r < w.rows(); ++r) {
    for (size_t c = 0; c < w.cols(); c += block, ++index) {
      if (index % stride != 0) continue;
      const size_t n = std::min(block, w.cols() - c);
      const float *x = w.values.data() + r * w.cols() + c;
      fn(x, n, y.data());
      add_error(x, y.data(), n, o);
      o.bits += overhead + bits * static_cast<double>(n);
    }
  }
  o.seconds = cpu_seconds_since(start);
  return o;
}

// Ours: quantize() on the stored shape, measured on reconstruct(), on every `stride`-th block
// of `block` (to compare with a brute force run on the same blocks).
Outcome ours(const Weights &w, const SchemeSpec &spec, size_t block = 0, size_t stride = 1) {
  Outcome o;
  const std::clock_t start = std::clock();
  const QuantizedTensor q = statepack::quantize(w.name, w.values.data(), w.shape, spec);
  o.seconds = cpu_seconds_since(start);
  const std::vector<float> y = statepack::reconstruct(q, w.shape);
  const double bytes = static_cast<double>(q.data.size() + q.scales.size() + q.zero_points.size());
  if (block == 0) {
    add_error(w.values.data(), y.data(), y.size(), o);
    o.bits = 8 * bytes;
    return o;
  }
  size_t index = 0;
  for (size_t r = 0; r < w.rows(); ++r) {
    for (size_t c = 0; c < w.cols(); c += block, ++index) {
      if (index % stride != 0) continue;
      const size_t at = r * w.cols() + c;
      add_error(w.values.data() + at, y.data() + at, std::min(block, w.cols() - c), o);
    }
  }
  o.bits = 8 * bytes * o.weights / static_cast<double>(y.size());  // this share of the bits
  return o;
}

struct Row {
  std::string method;
  Outcome total;
  double sqnr_sum = 0;
  int tensors = 0;

  void add(const Outcome &o) {
    total.signal += o.signal;
    total.noise += o.noise;
    total.bits += o.bits;
    total.weights += o.weights;
    total.seconds += o.seconds;
    sqnr_sum += o.noise > 0 ? 10 * std::log10(o.signal / o.noise) : 300.0;
    ++tensors;
  }
  double mean_db() const { return sqnr_sum / tensors; }
  double pooled_db() const { return 10 * std::log10(total.signal / total.noise); }
  double bpw() const { return total.bits / total.weights; }
};

void print_row(const Row &row) {
  std::printf("%-52s %6.3f %8.2f %8.2f %8.2f\n", row.method.c_str(), row.bpw(), row.mean_db(),
              row.pooled_db(), row.total.seconds);
  std::fflush(stdout);
}

struct Options {
  bool throughput = false;
  std::vector<std::string> schemes;  // --scheme: only these in --throughput
  uint64_t seed = 1;
  int dense_steps = 1000;
  size_t ceiling_groups = 16384;  // groups per set for the exhaustive f16 search
  std::vector<std::string> files;
};

// The comparison table for one set of tensors, then the targets.
void compare_set(const std::string &title, const std::vector<Weights> &set, const Options &opt) {
  size_t count = 0;
  size_t groups = 0;
  for (const Weights &w : set) {
    count += w.values.size();
    groups += w.rows() * ((w.cols() + 31) / 32);
  }
  const size_t stride = std::max<size_t>(1, groups / opt.ceiling_groups);
  std::printf("\n%s: %zu tensors, %zu weights\n", title.c_str(), set.size(), count);
  std::printf("%-52s %6s %8s %8s %8s\n", "method", "bpw", "mean dB", "pool dB", "time s");

  auto run = [&](const std::string &method, const std::function<Outcome(const Weights &)> &fn) {
    Row row;
    row.method = method;
    for (const Weights &w : set) row.add(fn(w));
    print_row(row);
    return row;
  };
  auto scheme = [&](const char *name, size_t block = 0, size_t every = 1) {
    const SchemeSpec spec = *statepack::parse_scheme(name);
    std::string label = std::string("ours ") + name;
    if (every > 1) label += " (same 1/" + std::to_string(every) + " of groups)";
    return run(label, [&](const Weights &w) { return ours(w, spec, block, every); });
  };
  const std::string sample = stride > 1 ? " (1/" + std::to_string(stride) + " of groups)" : "";

  const Row q8 = run("GGUF Q8_0 (reference formula)",
                     [](const Weights &w) { return blockwise(w, 32, 16, 8, q8_0_block); });
  const Row i8g = scheme("int8-g32");
  run("best f16 scale, int8-g32 (exhaustive)" + sample, [&](const Weights &w) {
    return blockwise(
        w, 32, 16, 8,
        [](const float *x, size_t n, float *y) { exhaustive_f16_block(x, n, y, -127, 127); },
        stride);
  });
  if (stride > 1) scheme("int8-g32", 32, stride);
  const Row q4 = run("GGUF Q4_0 (reference formula)",
                     [](const Weights &w) { return blockwise(w, 32, 16, 4, q4_0_block); });
  const Row i4g = scheme("int4-g32");
  const Row ceiling4 = run("best f16 scale, int4-g32 (exhaustive)" + sample, [&](const Weights &w) {
    return blockwise(
        w, 32, 16, 4,
        [](const float *x, size_t n, float *y) { exhaustive_f16_block(x, n, y, -8, 7); }, stride);
  });
  const Row i4g_sample = stride > 1 ? scheme("int4-g32", 32, stride) : i4g;
  const Row q4k = run("GGUF Q4_K (reference algorithm, super-blocks of 256)", [](const Weights &w) {
    return blockwise(w, 256, 128, 4, gguf_reference::q4_k_block);
  });
  const Row iq4nl = run("GGUF IQ4_NL (reference algorithm)", [](const Weights &w) {
    return blockwise(w, 32, 16, 4, gguf_reference::iq4_nl_block);
  });
  const Row i4k = scheme("int4-k");
  scheme("int4-g64");
  scheme("int4-g128");
  const Row i4a = scheme("int4-g32-asym");
  scheme("int4-g64-asym");
  scheme("int4-g128-asym");
  const Row plain = run("max-abs int8 per channel", [](const Weights &w) {
    return blockwise(w, w.cols(), 32, 8, maxabs_int8_block);
  });
  const Row i8 = scheme("int8");
  const Row dense =
      run("best of " + std::to_string(opt.dense_steps) + " ratios, int8 per channel",
          [&](const Weights &w) {
            return blockwise(w, w.cols(), 32, 8, [&](const float *x, size_t n, float *y) {
              dense_int8_block(x, n, y, opt.dense_steps);
            });
          });
  scheme("int8-asym");
  scheme("int8-tensor");
  scheme("f16");
  scheme("bf16");

  // Ragged row ends cost both sides the same extra scales, so "<= 4.5 bpw" means no more bits
  // than the GGUF format on the same rows.
  auto verdict = [](bool met) { return met ? "met" : "MISSED"; };
  const double d4 = i4g.mean_db() - q4.mean_db();
  const double d8 = i8g.mean_db() - q8.mean_db();
  const double dc = i8.mean_db() - dense.mean_db();
  std::printf("targets:\n");
  std::printf("  int4-g32 vs Q4_0: %+.2f dB mean (%+.2f pooled), %.4f vs %.4f bpw: %s (>= +1 dB)\n",
              d4, i4g.pooled_db() - q4.pooled_db(), i4g.bpw(), q4.bpw(),
              verdict(d4 >= 1 && i4g.bpw() <= std::max(4.5, q4.bpw())));
  std::printf(
      "    the best f16 scale per group (exhaustive) is %+.2f dB over ours on the same "
      "groups; int4-g32-asym: %+.2f dB at %.4f bpw\n",
      ceiling4.mean_db() - i4g_sample.mean_db(), i4a.mean_db() - q4.mean_db(), i4a.bpw());
  const double dk = i4k.mean_db() - q4k.mean_db();
  std::printf(
      "  int4-k vs Q4_K: %+.2f dB mean (%+.2f pooled), %.4f vs %.4f bpw: %s (>= +0.5 dB); "
      "IQ4_NL %+.2f dB over Q4_0 at %.4f bpw; int4-k %.3f GB/s of f32 per CPU-second: %s "
      "(>= 0.25)\n",
      dk, i4k.pooled_db() - q4k.pooled_db(), i4k.bpw(), q4k.bpw(),
      verdict(dk >= 0.5 && i4k.bpw() <= std::max(4.5, q4k.bpw())), iq4nl.mean_db() - q4.mean_db(),
      iq4nl.bpw(), 4e-9 * i4k.total.weights / i4k.total.seconds,
      verdict(4e-9 * i4k.total.weights / i4k.total.seconds >= 0.25));
  std::printf(
      "  int8-g32 vs Q8_0: %+.2f dB mean (%+.2f pooled), %.4f vs %.4f bpw: %s (>= +0.5 dB)\n", d8,
      i8g.pooled_db() - q8.pooled_db(), i8g.bpw(), q8.bpw(),
      verdict(d8 >= 0.5 && i8g.bpw() <= std::max(8.5, q8.bpw())));
  std::printf(
      "  int8 per channel: %.2f dB mean (max-abs %.2f), %+.2f dB vs the best of %d "
      "ratios: %s (within 0.3 dB); %s (>= 40 dB, the ResNet-18 target)\n",
      i8.mean_db(), plain.mean_db(), dc, opt.dense_steps, verdict(dc >= -0.3),
      verdict(i8.mean_db() >= 40));
}

// Bytes of f32 input quantized per processor second, for each integer scheme, at 1 and 2
// threads (processor time of the whole process: threads add their time, so a perfect split
// keeps the figure), with the SQNR pooled over the set (the same at any thread count).
void throughput_set(const std::string &title, const std::vector<Weights> &set,
                    std::vector<std::string> schemes) {
  double bytes = 0;
  for (const Weights &w : set) bytes += 4.0 * static_cast<double>(w.values.size());
  std::printf("\n%s: %zu tensors, %.1f MB of f32\n", title.c_str(), set.size(), bytes / 1e6);
  std::printf("%-16s %8s %14s %14s %10s\n", "scheme", "threads", "GB/s per CPU-s", "wall s",
              "pool dB");
  if (schemes.empty()) {
    schemes = {"int8",          "int8-asym", "int8-tensor", "int8-g32",      "int4-g32",
               "int4-g32-asym", "int4-g64",  "int4-g128",   "int4-g128-asym"};
  }
  for (const std::string &name : schemes) {
    const auto parsed = statepack::parse_scheme(name);
    if (!parsed) throw std::runtime_error("unknown scheme " + name);
    const SchemeSpec spec = *parsed;
    for (unsigned threads : {1u, 2u}) {
      double signal = 0, noise = 0;
      const std::clock_t start = std::clock();
      const auto wall_start = std::chrono::steady_clock::now();
      for (const Weights &w : set) {
        const QuantizedTensor q =
            statepack::quantize(w.name, w.values.data(), w.shape, spec, {}, threads);
        signal += q.signal_energy;
        noise += q.noise_energy;
      }
      const double cpu = cpu_seconds_since(start);
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
      std::printf("%-16s %8u %14.3f %14.3f %10.2f\n", name.c_str(), threads, bytes / cpu / 1e9,
                  wall, 10 * std::log10(signal / noise));
      std::fflush(stdout);
    }
  }
}

Options parse_options(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--throughput") {
      opt.throughput = true;
    } else if (arg == "--scheme" && i + 1 < argc) {
      opt.schemes.push_back(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      opt.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--dense" && i + 1 < argc) {
      opt.dense_steps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--ceiling-groups" && i + 1 < argc) {
      opt.ceiling_groups = std::max<size_t>(1, std::strtoull(argv[++i], nullptr, 10));
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr,
                   "usage: quant_bench [--throughput] [--seed N] [--dense N] [--ceiling-groups N] "
                   "[FILE.safetensors ...]\n");
      std::exit(2);
    } else {
      opt.files.push_back(arg);
    }
  }
  return opt;
}

}  // namespace

int main(int argc, char **argv) {
  const Options opt = parse_options(argc, argv);
  try {
    if (opt.throughput) {
      throughput_set("synthetic 512x2048, seed " + std::to_string(opt.seed),
                     {synthetic_weights(opt.seed)}, opt.schemes);
      for (const std::string &path : opt.files) {
        throughput_set(path, load_safetensors(path), opt.schemes);
      }
      return 0;
    }
    compare_set(
        "synthetic 512x2048, Student-t(4), log-normal row scales, seed " + std::to_string(opt.seed),
        {synthetic_weights(opt.seed)}, opt);
    for (const std::string &path : opt.files) {
      const std::vector<Weights> set = load_safetensors(path);
      if (set.empty()) {
        std::printf("\n%s: no float tensors of rank >= 2 with >= 1024 elements\n", path.c_str());
        continue;
      }
      compare_set(path, set, opt);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "quant_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
