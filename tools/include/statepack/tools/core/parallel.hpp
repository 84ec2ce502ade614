// SPDX-License-Identifier: Apache-2.0
// The one way the host library runs work in parallel: a team of workers that share a job and
// join before the call returns (run_workers, parallel_for), and a task that computes one result
// in the background while the caller goes on (BackgroundTask). Both join every thread they
// start, on every path, and hand the first exception back to the caller, so no thread ever
// outlives the data it uses and no error is lost. The ordered compression pipeline (ChunkPool)
// builds on the same rules with its own queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace statepack {

/// Threads to use for `requested` (0 = every core the system reports, at least 1).
unsigned resolve_threads(unsigned requested);

/// Runs `worker` on `threads` threads at once (the calling thread is one of them; 0 or 1 means
/// the caller alone) and returns when every one has returned. Workers share their job through
/// state they capture (an atomic counter, say). The first exception a worker throws is
/// rethrown here once all have stopped; `stop` (passed to every worker) is set when one throws,
/// so the others can give up early.
void run_workers(unsigned threads,
                 const std::function<void(const std::atomic<bool> &stop)> &worker);

/// Calls body(i) for every i in [0, count), indices handed out in increasing order to up to
/// `threads` threads; remaining indices are skipped once a body throws, and the first exception
/// is rethrown after all threads stopped.
void parallel_for(uint64_t count, unsigned threads, const std::function<void(uint64_t)> &body);

/// One result computed on a thread of its own. get() waits for it (and rethrows what the work
/// threw); destroying the task sets the stop flag the work was given, then waits for the
/// thread, so work that polls the flag ends early when nobody asked for its result, and none
/// outlives its owner. Share it through a shared_ptr where several owners need the result.
template <typename T>
class BackgroundTask {
 public:
  /// Starts `work(stop)` on a new thread.
  explicit BackgroundTask(std::function<T(const std::atomic<bool> &stop)> work)
      : thread_([this, work = std::move(work)] {
          try {
            result_ = work(stop_);
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  ~BackgroundTask() {
    stop_ = true;
    std::lock_guard<std::mutex> lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }
  BackgroundTask(const BackgroundTask &) = delete;
  BackgroundTask &operator=(const BackgroundTask &) = delete;

  /// Waits for the work and returns its result, or rethrows what it threw. Any thread, any
  /// number of times.
  const T &get() const {
    {
      std::lock_guard<std::mutex> lock(join_mutex_);
      if (thread_.joinable()) thread_.join();
    }
    if (error_) std::rethrow_exception(error_);
    return result_;
  }

 private:
  std::atomic<bool> stop_{false};
  T result_{};
  std::exception_ptr error_;
  mutable std::mutex join_mutex_;
  mutable std::thread thread_;  // last: started once the members it uses exist
};

}  // namespace statepack
