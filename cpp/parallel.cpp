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
        }
        for (const auto& worker : workers_) worker->wake.notify_one();
        for (const auto& worker : workers_) worker->thread.join();
    }

    std::mutex& busy() { return busy_; }

    void run(std::size_t tasks, std::size_t threads, const std::function<void(std::size_t)>& body) {
        while (workers_.size() + 1 < threads) {
            workers_.push_back(std::make_unique<Worker>());
            Worker* self = workers_.back().get();
            self->thread = std::thread([this, self, index = workers_.size() - 1] { work(*self, index); });
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            body_ = &body;
            tasks_ = tasks;
            next_.store(0);
            helpers_ = threads - 1;  // workers 0 .. threads - 2
            open_ = true;
            error_ = nullptr;
            published_.store(++generation_);
        }
        for (std::size_t k = 0; k + 1 < threads; ++k) workers_[k]->wake.notify_one();
        drain();
        {
            // The tasks are all taken: a helper that has not joined yet is not waited for.
            std::lock_guard<std::mutex> lock(mutex_);
            open_ = false;
        }
        watch([this] { return running_.load() == 0; });
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return running_.load() == 0; });
        body_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    struct Worker {
        std::thread thread;
        std::condition_variable wake;  // its own, so that a job wakes only the workers it wants
    };

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

    void work(Worker& self, std::size_t index) {
        std::size_t seen = 0;  // the last job this worker looked at
        bool wanted = false;   // by that job: only then does it watch for the next before sleeping
        for (;;) {
            if (wanted) watch([&] { return published_.load() != seen; });
            std::unique_lock<std::mutex> lock(mutex_);
            self.wake.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            wanted = index < helpers_;
            if (!wanted || !open_) continue;
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
    std::condition_variable done_;
    std::vector<std::unique_ptr<Worker>> workers_;
    const std::function<void(std::size_t)>* body_ = nullptr;
    std::size_t tasks_ = 0;
    std::atomic<std::size_t> next_{0};
    std::size_t helpers_ = 0, generation_ = 0;
    bool open_ = false;  // helpers may still join the current job
    std::atomic<std::size_t> published_{0};  // generation_, for workers watching without the lock
    std::atomic<std::size_t> running_{0};    // helpers inside drain()
    bool stopping_ = false;
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
