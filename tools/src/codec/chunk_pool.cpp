// SPDX-License-Identifier: Apache-2.0
// The ordered worker pool behind `pack --threads`.
#include "statepack/tools/codec/chunk_pool.hpp"

#include <utility>

namespace statepack {

ChunkPool::ChunkPool(unsigned threads, size_t window, int level)
    : slots_(window == 0 ? 1 : window) {
  if (threads <= 1) {
    caller_compressor_.emplace(level);
    return;
  }
  try {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this, level] { work(level); });
  } catch (...) {
    stop();  // a thread that could not start: join the others before the members go
    throw;
  }
}

ChunkPool::~ChunkPool() {
  stop();
}

void ChunkPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread &t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

bool ChunkPool::has_room() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_ - taken_ < slots_.size();
}

size_t ChunkPool::outstanding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<size_t>(submitted_ - taken_);
}

void ChunkPool::submit(const ChunkJob &job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Slot &slot = slots_[submitted_ % slots_.size()];
    slot.job = job;
    slot.done = false;
    slot.error = nullptr;
    ++submitted_;
  }
  work_ready_.notify_one();
}

void ChunkPool::encode(ChunkCompressor &compressor, const ChunkJob &job, ChunkResult &result) {
  result.compressed = compressor.compress(job.data, job.length, job.encoding, result.frame,
                                          job.previous, job.previous_length);
  result.kind = result.compressed ? compressor.kind() : ChunkKind::kFiltered;
  if (!result.compressed) result.frame.clear();
}

void ChunkPool::take(ChunkResult &result) {
  std::unique_lock<std::mutex> lock(mutex_);
  Slot &slot = slots_[taken_ % slots_.size()];
  if (caller_compressor_) {
    // No other thread exists: the job is encoded straight into the caller's buffer.
    ++taken_;
    const ChunkJob job = slot.job;
    lock.unlock();
    encode(*caller_compressor_, job, result);
    return;
  }
  result_ready_.wait(lock, [&] { return slot.done; });
  ++taken_;
  if (slot.error) std::rethrow_exception(slot.error);
  // The slot keeps the caller's previous buffer, for the worker that encodes its next job.
  std::swap(slot.result, result);
}

void ChunkPool::work(int level) {
  ChunkCompressor compressor(level);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || started_ < submitted_; });
    if (stopping_) return;
    Slot &slot = slots_[started_ % slots_.size()];
    ++started_;
    const ChunkJob job = slot.job;
    lock.unlock();
    std::exception_ptr error;
    // The slot is this worker's until it is marked done: encoding into its buffer outside the
    // lock races with nothing, and reuses the capacity the buffer has from earlier chunks.
    try {
      encode(compressor, job, slot.result);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    slot.error = error;
    slot.done = true;
    result_ready_.notify_all();
  }
}

}  // namespace statepack
