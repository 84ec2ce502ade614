// SPDX-License-Identifier: Apache-2.0
// What a quantization cost: signal-to-quantization-noise ratio and the largest error, measured
// on the values the device will decode.
#include <cmath>
#include <limits>

#include "quant_internal.hpp"

namespace statepack::quant {

void measure_quality(const float *original, const std::vector<float> &reconstructed,
                     QuantizedTensor &q) {
  double signal = 0;
  double noise = 0;
  double max_error = 0;
  for (size_t i = 0; i < reconstructed.size(); ++i) {
    // NaN and infinities can only reach here through a cast, which keeps them as they are.
    if (!std::isfinite(original[i])) continue;
    const double x = original[i];
    const double error = std::fabs(x - static_cast<double>(reconstructed[i]));
    signal += x * x;
    noise += error * error;
    if (error > max_error) max_error = error;
  }
  q.max_abs_error = max_error;
  q.signal_energy = signal;
  q.noise_energy = noise;
  q.sqnr_db = sqnr_db_of(signal, noise);
}

void set_quality(const SlicedLevels &sliced, QuantizedTensor &q) {
  q.max_abs_error = sliced.max_error;
  q.signal_energy = sliced.signal;
  q.noise_energy = sliced.noise;
  q.sqnr_db = sqnr_db_of(sliced.signal, sliced.noise);
}

double sqnr_db_of(double signal, double noise) {
  const double infinity = std::numeric_limits<double>::infinity();
  if (noise == 0) return infinity;          // exact (this includes an all-zero tensor)
  if (std::isinf(noise)) return -infinity;  // a finite value became infinite
  return 10.0 * std::log10(signal / noise);
}

}  // namespace statepack::quant
