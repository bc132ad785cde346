#include "parallel.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if !defined(_WIN32)
#include <pthread.h>
#endif
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#define FASTDESCENT_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define FASTDESCENT_PAUSE() __asm__ __volatile__("yield")
#else
#define FASTDESCENT_PAUSE() ((void)0)
#endif

namespace fastdescent {

namespace {

// A worker that finishes its share watches for the next job this long before it sleeps.  Waking a
// sleeping thread took 50-70 us on the 2-core development VM (the idle virtual CPU halts): more than
// the work of a step on 10^5 parameters or of a full-batch epoch on 10^4 rows, while the next job
// of a fit (the next epoch, the next step of a loop) comes a few microseconds later.
constexpr std::chrono::microseconds kWatchBeforeSleeping{200};

class Pool {
public:
    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            stopping_watch_.store(true);
        }
        wake_.notify_all();
        for (std::thread& worker : workers_) worker.join();
    }

    std::mutex& busy() { return busy_; }

    void run(std::size_t tasks, std::size_t threads, const std::function<void(std::size_t)>& body) {
        while (workers_.size() + 1 < threads) workers_.emplace_back([this] { work(); });
        {
            std::lock_guard<std::mutex> lock(mutex_);
            body_ = &body;
            tasks_ = tasks;
            next_.store(0);
            helpers_wanted_ = threads - 1;
            running_ = 0;
            error_ = nullptr;
            published_.store(++generation_);
        }
        wake_.notify_all();
        drain();
        // Helpers that have not joined yet are not waited for: the tasks are all taken.
        std::unique_lock<std::mutex> lock(mutex_);
        helpers_wanted_ = 0;
        lock.unlock();
        watch([this] { return running_.load() == 0; });
        lock.lock();
        done_.wait(lock, [this] { return running_.load() == 0; });
        body_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void drain() {
        for (std::size_t task = next_.fetch_add(1); task < tasks_; task = next_.fetch_add(1)) {
            try {
                (*body_)(task);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
            }
        }
    }

    // Spins until done() or kWatchBeforeSleeping has passed; the caller then sleeps on a condition.
    template <class Done>
    static void watch(const Done& done) {
        const auto until = std::chrono::steady_clock::now() + kWatchBeforeSleeping;
        for (unsigned spins = 1; !done(); ++spins) {
            FASTDESCENT_PAUSE();
            if (spins % 64 == 0 && std::chrono::steady_clock::now() > until) return;
        }
    }

    void work() {
        std::size_t seen = 0;  // the last job this worker looked at
        for (;;) {
            watch([&] { return published_.load() != seen || stopping_watch_.load(); });
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            if (helpers_wanted_ == 0) continue;  // its tasks are all taken already
            --helpers_wanted_;
            ++running_;
            lock.unlock();
            drain();
            if (running_.fetch_sub(1) == 1) {
                lock.lock();  // the caller is watching running_, or waiting on done_ under the lock
                done_.notify_all();
            }
        }
    }

    std::mutex busy_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    const std::function<void(std::size_t)>* body_ = nullptr;
    std::size_t tasks_ = 0;
    std::atomic<std::size_t> next_{0};
    std::size_t helpers_wanted_ = 0, generation_ = 0;
    std::atomic<std::size_t> running_{0};  // helpers inside drain()
    std::atomic<std::size_t> published_{0};  // generation_, for workers watching without the lock
    bool stopping_ = false;
    std::atomic<bool> stopping_watch_{false};
    std::exception_ptr error_;
};

// A child made by fork() inherits the pool's state but none of its worker threads, so it must not
// use the parent's pool (a run would wait for helpers that do not exist): the child starts a new
// one.  Pools are never destroyed -- the destructor would join threads -- and live until exit.
Pool* current_pool = nullptr;
std::mutex* creating = new std::mutex;

Pool& pool() {
#if !defined(_WIN32)
    static const bool forget_in_child = [] {
        pthread_atfork(nullptr, nullptr, [] {
            current_pool = nullptr;
            creating = new std::mutex;  // the parent's may have been held by another thread
        });
        return true;
    }();
    (void)forget_in_child;
#endif
    std::lock_guard<std::mutex> lock(*creating);
    if (current_pool == nullptr) current_pool = new Pool;
    return *current_pool;
}

}  // namespace

void parallel_for(std::size_t tasks, std::size_t threads, const std::function<void(std::size_t)>& body) {
    if (threads > tasks) threads = tasks;
    if (threads <= 1) {
        for (std::size_t task = 0; task < tasks; ++task) body(task);
        return;
    }
    Pool& shared = pool();
    std::unique_lock<std::mutex> mine(shared.busy(), std::try_to_lock);
    if (!mine.owns_lock()) {  // another fit uses the pool: same bits on this thread alone
        for (std::size_t task = 0; task < tasks; ++task) body(task);
        return;
    }
    shared.run(tasks, threads, body);
}

std::size_t usable_cores() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
#endif
    const unsigned cores = std::thread::hardware_concurrency();
    return cores ? cores : 1;
}

}  // namespace fastdescent
