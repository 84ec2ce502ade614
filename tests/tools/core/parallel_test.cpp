// SPDX-License-Identifier: Apache-2.0
// The one way the library runs work in parallel: every index once, every thread joined, the
// first error passed on, background work stopped when nobody waits for it.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "statepack/tools/core/parallel.hpp"

using statepack::BackgroundTask;
using statepack::parallel_for;
using statepack::run_workers;

TEST_CASE("parallel_for calls the body once for every index, for any thread count") {
  for (unsigned threads : {0u, 1u, 2u, 4u, 16u}) {
    for (uint64_t count : {0u, 1u, 3u, 1000u}) {
      CAPTURE(threads);
      CAPTURE(count);
      std::vector<std::atomic<int>> calls(count);
      parallel_for(count, threads, [&](uint64_t i) { ++calls[i]; });
      for (uint64_t i = 0; i < count; ++i) CHECK(calls[i] == 1);
    }
  }
}

TEST_CASE("parallel_for rethrows the first error and skips the indices not yet started") {
  std::atomic<uint64_t> started{0};
  std::atomic<bool> failing{false};
  // Indices are handed out in order, so index 10 is always taken before 11. The later ones wait
  // until it fails and then take 20 us each: all 100000 could start only if the failing thread
  // stalled for over half a second between failing and being caught, so load cannot make the
  // check below flaky (without the wait, the other threads could run them all while the thread
  // holding index 10 was not scheduled).
  const auto body = [&](uint64_t i) {
    ++started;
    if (i == 10) {
      failing = true;
      throw std::runtime_error("index 10 failed");
    }
    if (i > 10) {
      while (!failing) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  };
  CHECK_THROWS_WITH_AS(parallel_for(100000, 4, body), "index 10 failed", std::runtime_error);
  CHECK(started < 100000);
}

TEST_CASE("run_workers runs the worker on every thread and tells the others to stop on error") {
  std::atomic<int> ran{0};
  run_workers(3, [&](const std::atomic<bool> &) { ++ran; });
  CHECK(ran == 3);

  std::atomic<int> stopped{0};
  CHECK_THROWS_AS(run_workers(3,
                              [&](const std::atomic<bool> &stop) {
                                if (ran.fetch_add(1) == 3) throw std::runtime_error("first");
                                while (!stop) std::this_thread::yield();
                                ++stopped;
                              }),
                  std::runtime_error);
  CHECK(stopped == 2);
}

TEST_CASE("a background task hands back its result or its error, to any number of callers") {
  const BackgroundTask<int> answer([](const std::atomic<bool> &) { return 42; });
  CHECK(answer.get() == 42);
  CHECK(answer.get() == 42);
  const BackgroundTask<int> failing(
      [](const std::atomic<bool> &) -> int { throw std::runtime_error("no answer"); });
  CHECK_THROWS_WITH(failing.get(), "no answer");
}

TEST_CASE("a background task nobody waits for is told to stop, and joined") {
  std::atomic<bool> saw_stop{false};
  {
    const BackgroundTask<int> endless([&](const std::atomic<bool> &stop) {
      while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      saw_stop = true;
      return 0;
    });
  }
  CHECK(saw_stop);  // the destructor waited for the work to see the flag and end
}
