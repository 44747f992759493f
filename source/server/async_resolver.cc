#include "server/async_resolver.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace proxy::server {

struct AsyncResolver::State {
  struct Job {
    std::string host;
    uint16_t port;
    std::function<void(std::vector<network::Address>)> deliver;  // posts to the main loop
  };

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> jobs;
  bool closed = false;
  event::Dispatcher* dispatcher;
  upstream::Resolver resolver;

  // One lookup thread: takes jobs until the resolver closes.
  static void run(std::shared_ptr<State> state) {
    std::unique_lock<std::mutex> lock(state->mutex);
    while (true) {
      state->wake.wait(lock, [&] { return state->closed || !state->jobs.empty(); });
      if (state->closed) {
        return;
      }
      Job job = std::move(state->jobs.front());
      state->jobs.pop_front();
      lock.unlock();
      std::vector<network::Address> addresses = state->resolver(job.host, job.port);
      lock.lock();
      if (state->closed) {
        return;  // the resolver is gone, and maybe the dispatcher with it
      }
      // Posted under the lock, so the destructor (which takes it) knows no post is under way.
      state->dispatcher->post(
          [deliver = std::move(job.deliver), addresses = std::move(addresses)]() mutable {
            deliver(std::move(addresses));
          });
    }
  }
};

AsyncResolver::AsyncResolver(event::Dispatcher& dispatcher, upstream::Resolver resolver,
                             size_t threads)
    : state_(std::make_shared<State>()) {
  state_->dispatcher = &dispatcher;
  state_->resolver = std::move(resolver);
  for (size_t i = 0; i < threads; ++i) {
    std::thread(State::run, state_).detach();
  }
}

AsyncResolver::~AsyncResolver() {
  *alive_ = false;
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->closed = true;
  state_->jobs.clear();
  state_->wake.notify_all();
}

void AsyncResolver::resolve(const std::string& host, uint16_t port, Callback done) {
  ++*pending_;
  State::Job job{host, port,
                 [alive = alive_, pending = pending_,
                  done = std::move(done)](std::vector<network::Address> addresses) {
                   if (!*alive) {
                     return;
                   }
                   --*pending;
                   done(std::move(addresses));
                 }};
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->jobs.push_back(std::move(job));
  state_->wake.notify_one();
}

}  // namespace proxy::server
