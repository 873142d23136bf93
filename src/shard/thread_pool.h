// A fixed pool of threads for per-shard work. ParallelFor(n, fn) runs fn(0..n-1)
// on up to `threads` threads, the calling thread included, and returns when
// every call is done. Calls from many threads at once are fine (each caller
// works on its own items too, so a caller never waits for a busy pool).
#ifndef TAGINDEX_SHARD_THREAD_POOL_H_
#define TAGINDEX_SHARD_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tagindex::shard {

class ThreadPool {
 public:
  // `threads` counts the caller: threads - 1 workers are started (0 or 1: none).
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned threads() const { return threads_; }
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

 private:
  void WorkerLoop();

  unsigned threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace tagindex::shard

#endif  // TAGINDEX_SHARD_THREAD_POOL_H_
