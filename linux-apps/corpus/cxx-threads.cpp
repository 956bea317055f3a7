// A C++ program of the corpus with std::thread, std::mutex, std::condition_variable,
// std::atomic and std::async: a bounded queue between producers and consumers, a parallel sum
// and a future. It prints only what every interleaving prints (its output is compared with
// Linux's).
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

class Queue {
  public:
    void push(long v) {
        std::unique_lock<std::mutex> lock(m_);
        not_full_.wait(lock, [&] { return items_.size() < 8; });
        items_.push_back(v);
        not_empty_.notify_one();
    }
    bool pop(long &v) {
        std::unique_lock<std::mutex> lock(m_);
        not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
        if (items_.empty())
            return false;
        v = items_.front();
        items_.pop_front();
        not_full_.notify_one();
        return true;
    }
    void close() {
        std::lock_guard<std::mutex> lock(m_);
        closed_ = true;
        not_empty_.notify_all();
    }

  private:
    std::mutex m_;
    std::condition_variable not_full_, not_empty_;
    std::deque<long> items_;
    bool closed_ = false;
};

int main() {
    Queue q;
    std::atomic<long> consumed{0}, sum{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 3; i++)
        consumers.emplace_back([&] {
            long v;
            while (q.pop(v)) {
                sum += v * v;
                consumed++;
            }
        });
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; p++)
        producers.emplace_back([&q, p] {
            for (long i = 1; i <= 500; i++)
                q.push(i * 2 + p);
        });
    for (auto &t : producers)
        t.join();
    q.close();
    for (auto &t : consumers)
        t.join();
    std::printf("consumed %ld items, sum of squares %ld\n", consumed.load(), sum.load());

    std::vector<long> data(100000);
    std::iota(data.begin(), data.end(), 1);
    std::vector<long> partial(4);
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; w++)
        workers.emplace_back([&, w] {
            for (size_t i = w; i < data.size(); i += 4)
                partial[w] += data[i] % 97;
        });
    for (auto &t : workers)
        t.join();
    std::printf("parallel sum %ld\n", std::accumulate(partial.begin(), partial.end(), 0L));

    auto answer = std::async(std::launch::async, [] { return 6 * 7; });
    std::printf("async answered %d\n", answer.get());
    return 0;
}
