// SPDX-License-Identifier: Apache-2.0
// Teams of worker threads that always join, and pass the first error on.
#include "statepack/tools/core/parallel.hpp"

#include <mutex>
#include <vector>

namespace statepack {

unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

void run_workers(unsigned threads,
                 const std::function<void(const std::atomic<bool> &stop)> &worker) {
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto guarded = [&] {
    try {
      worker(stop);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> team;
  try {
    for (unsigned i = 1; i < threads; ++i) team.emplace_back(guarded);
  } catch (...) {
    // A thread that could not start: the ones that did must not outlive this frame.
    stop = true;
    for (std::thread &t : team) t.join();
    throw;
  }
  guarded();
  for (std::thread &t : team) t.join();
  if (error) std::rethrow_exception(error);
}

void parallel_for(uint64_t count, unsigned threads, const std::function<void(uint64_t)> &body) {
  std::atomic<uint64_t> next{0};
  const unsigned team = static_cast<unsigned>(std::min<uint64_t>(std::max(1u, threads), count));
  run_workers(team, [&](const std::atomic<bool> &stop) {
    for (uint64_t i = next++; i < count && !stop; i = next++) body(i);
  });
}

}  // namespace statepack
