#include "shard/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>

namespace tagindex::shard {

ThreadPool::ThreadPool(unsigned threads) : threads_(std::max(1u, threads)) {
  for (unsigned i = 1; i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  const size_t helpers = std::min<size_t>(n, threads_) - 1;
  if (helpers == 0) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  // Shared by the caller and the helpers; a helper that starts after all
  // items are taken returns at once. `running` counts helpers still inside.
  struct Job {
    std::atomic<size_t> next{0};
    size_t n = 0;
    const std::function<void(size_t)>* fn = nullptr;
    std::mutex mu;
    std::condition_variable done;
    size_t running = 0;
  };
  auto job = std::make_shared<Job>();
  job->n = n;
  job->fn = &fn;
  job->running = helpers;
  auto drain = [](Job& j) {
    for (size_t i; (i = j.next.fetch_add(1)) < j.n;) (*j.fn)(i);
  };
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t h = 0; h < helpers; ++h) {
      queue_.push_back([job, drain] {
        drain(*job);
        std::lock_guard<std::mutex> jl(job->mu);
        if (--job->running == 0) job->done.notify_all();
      });
    }
  }
  cv_.notify_all();
  drain(*job);
  // Every helper must have left `fn` (which lives in the caller's frame).
  std::unique_lock<std::mutex> l(job->mu);
  job->done.wait(l, [&] { return job->running == 0; });
}

}  // namespace tagindex::shard
