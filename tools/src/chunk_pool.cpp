// The ordered worker pool behind `pack --threads`.
#include "statepack/tools/chunk_pool.hpp"

namespace statepack {

unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

ChunkPool::ChunkPool(unsigned threads, size_t window, int level)
    : slots_(window == 0 ? 1 : window) {
  if (threads == 0) threads = 1;
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

ChunkResult ChunkPool::take() {
  std::unique_lock<std::mutex> lock(mutex_);
  Slot &slot = slots_[taken_ % slots_.size()];
  result_ready_.wait(lock, [&] { return slot.done; });
  ++taken_;
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.result);
}

void ChunkPool::work(int level) {
  ChunkCompressor compressor(level);
  std::vector<uint8_t> frame;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || started_ < submitted_; });
    if (stopping_) return;
    Slot &slot = slots_[started_ % slots_.size()];
    ++started_;
    const ChunkJob job = slot.job;
    lock.unlock();
    ChunkResult result;
    std::exception_ptr error;
    try {
      result.compressed = compressor.compress(job.data, job.length, job.encoding, result.frame);
      if (!result.compressed) result.frame.clear();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    slot.result = std::move(result);
    slot.error = error;
    slot.done = true;
    result_ready_.notify_all();
  }
}

}  // namespace statepack
