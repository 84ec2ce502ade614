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
#include <memory>
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
void run_workers(unsigned threads, const std::function<void(const std::atomic<bool> &stop)> &worker);

/// Calls body(i) for every i in [0, count), indices handed out in increasing order to up to
/// `threads` threads; remaining indices are skipped once a body throws, and the first exception
/// is rethrown after all threads stopped.
void parallel_for(uint64_t count, unsigned threads, const std::function<void(uint64_t)> &body);

/// One result computed on a thread of its own. get() waits for it (and rethrows what the work
/// threw); destroying the task without get() sets the stop flag the work was given, then waits
/// for the thread, so work that polls the flag ends early and none outlives its owner.
template <typename T>
class BackgroundTask {
 public:
  /// Starts `work(stop)` on a new thread.
  explicit BackgroundTask(std::function<T(const std::atomic<bool> &stop)> work)
      : state_(std::make_shared<State>()) {
    state_->thread = std::thread([state = state_, work = std::move(work)] {
      try {
        state->result = work(state->stop);
      } catch (...) {
        state->error = std::current_exception();
      }
    });
  }
  ~BackgroundTask() {
    if (state_ == nullptr) return;  // moved from
    state_->stop = true;
    if (state_->thread.joinable()) state_->thread.join();
  }
  BackgroundTask(BackgroundTask &&) noexcept = default;
  BackgroundTask &operator=(BackgroundTask &&) = delete;
  BackgroundTask(const BackgroundTask &) = delete;
  BackgroundTask &operator=(const BackgroundTask &) = delete;

  /// Waits for the work and returns its result (once: the result is moved out), or rethrows.
  T get() {
    if (state_->thread.joinable()) state_->thread.join();
    if (state_->error) std::rethrow_exception(state_->error);
    return std::move(state_->result);
  }

 private:
  struct State {
    std::atomic<bool> stop{false};
    T result{};
    std::exception_ptr error;
    std::thread thread;
  };
  std::shared_ptr<State> state_;
};

}  // namespace statepack
