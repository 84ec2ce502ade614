// SPDX-License-Identifier: Apache-2.0
// Parallel chunk compression with results handed back in order: the writer submits chunks as
// far ahead as a fixed window allows and takes results in submission order, so the output is
// the same for any thread count and memory holds at most `window` chunks whatever the model.
// Result buffers circulate between the pool and the writer instead of being allocated per
// chunk: the allocator hands a freed 64 KiB buffer back to the system (it trims the heap's top
// and unmaps big blocks), so every chunk paid for page faults on a fresh result buffer. With one
// thread there are no workers at all: a chunk is compressed by the thread that takes it, which
// saves the handoff (futex wake-ups and context switches per chunk) that a second thread only pays
// back when it runs on another core.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/parallel.hpp"

namespace statepack {

/// One chunk to encode. The bytes (and the previous chunk's) must stay valid until its result
/// is taken.
struct ChunkJob {
  const uint8_t *data = nullptr;
  size_t length = 0;
  SegmentEncoding encoding;
  const uint8_t *previous = nullptr;  ///< the segment's previous chunk, null for the first
  size_t previous_length = 0;
};

/// The encoded chunk: a zstd frame, or `compressed == false` to store the chunk raw (`frame` is
/// then empty). `frame` keeps its capacity when handed back to the pool by take().
struct ChunkResult {
  bool compressed = false;
  ChunkKind kind = ChunkKind::kFiltered;  ///< of the frame, when compressed
  std::vector<uint8_t> frame;
};

/// A fixed set of worker threads, each with its own ChunkCompressor; or, for one thread, a
/// ChunkCompressor used by the caller of take().
class ChunkPool {
 public:
  /// Starts `threads` workers (none when `threads` <= 1: take() compresses); at most `window`
  /// jobs may be outstanding.
  ChunkPool(unsigned threads, size_t window, int level);
  /// Stops and joins the workers (outstanding results are dropped).
  ~ChunkPool();
  ChunkPool(const ChunkPool &) = delete;
  ChunkPool &operator=(const ChunkPool &) = delete;

  /// True while fewer than `window` jobs are submitted and not yet taken.
  bool has_room() const;
  /// Queues a job; requires has_room().
  void submit(const ChunkJob &job);
  /// Jobs submitted and not yet taken.
  size_t outstanding() const;
  /// Waits for the oldest outstanding job and swaps its result into `result`; rethrows its
  /// exception. The buffer `result` held before goes back to the pool, which encodes a later
  /// chunk into it, so a caller that passes the same results again allocates nothing.
  void take(ChunkResult &result);

 private:
  struct Slot {
    ChunkJob job;
    ChunkResult result;
    std::exception_ptr error;
    bool done = false;
  };
  void work(int level);
  void stop();
  /// Encodes `job` into `result` (replacing its contents, keeping its capacity).
  static void encode(ChunkCompressor &compressor, const ChunkJob &job, ChunkResult &result);

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable result_ready_;
  std::vector<Slot> slots_;
  uint64_t submitted_ = 0, started_ = 0, taken_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::optional<ChunkCompressor> caller_compressor_;  // one thread: the caller of take()
};

}  // namespace statepack
