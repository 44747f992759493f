#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/buffer/buffer_impl.h"
#include "common/http/connection_manager_impl.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/network/mocks.h"

using testing::HasSubstr;
using testing::NiceMock;

namespace proxy::http {
namespace {

// A handle the test fills by hand, as the server does when it applies a reload.
class TestConfigHandle final : public registry::ConfigHandle {
 public:
  void store(std::shared_ptr<const void> value) {
    value_ = std::move(value);
    ++version_;
  }
  uint64_t version() const override { return version_; }
  std::shared_ptr<const void> current(uint64_t& version) const override {
    version = version_;
    ++fetches_;
    return value_;
  }

  std::shared_ptr<const void> value_;
  uint64_t version_ = 0;
  mutable int fetches_ = 0;
};

// A terminal filter that answers with a fixed body when told to.
class AnsweringFilter final : public StreamDecoderFilter {
 public:
  explicit AnsweringFilter(std::string body, bool answer_at_once)
      : body_(std::move(body)), answer_at_once_(answer_at_once) {}

  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterHeadersStatus decodeHeaders(RequestHeaderMap&, bool) override {
    if (answer_at_once_) {
      answer();
    }
    return FilterHeadersStatus::kStopIteration;
  }
  FilterDataStatus decodeData(buffer::Instance& data, bool) override {
    data.drain(data.length());
    return FilterDataStatus::kStopIteration;
  }
  FilterTrailersStatus decodeTrailers(HeaderMap&) override {
    return FilterTrailersStatus::kStopIteration;
  }
  void onDestroy() override {}

  void answer() {
    auto headers = std::make_unique<ResponseHeaderMap>();
    headers->setStatus(200);
    headers->add("content-length", std::to_string(body_.size()));
    callbacks_->encodeHeaders(std::move(headers), false);
    buffer::OwnedBuffer data;
    data.add(body_);
    callbacks_->encodeData(data, true);
  }

 private:
  StreamDecoderFilterCallbacks* callbacks_ = nullptr;
  const std::string body_;
  const bool answer_at_once_;
};

class ConnectionManagerConfigHandleTest : public testing::Test {
 protected:
  ConnectionManagerConfigConstSharedPtr makeConfig(const std::string& body) {
    auto config = std::make_shared<ConnectionManagerConfig>();
    config->filter_factories.push_back([this, body](FilterChainFactoryCallbacks& callbacks) {
      last_ = std::make_shared<AnsweringFilter>(body, answer_at_once_);
      callbacks.addStreamDecoderFilter(last_);
    });
    return config;
  }

  void start(ConnectionManagerConfigConstSharedPtr config) {
    manager_ = std::make_shared<ConnectionManagerImpl>(std::move(config), handle_);
    callbacks_.connection_.addReadFilter(manager_);
    manager_->initializeReadFilterCallbacks(callbacks_);
    manager_->onNewConnection();
  }

  void request(const std::string& path) {
    buffer::OwnedBuffer data;
    data.add("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    manager_->onData(data, false);
  }

  // The pipelining resume timer: the next request starts from a fresh stack.
  // It is made on first use, after the idle timer: absent means nothing was ever left over.
  void resume() {
    auto& timers = callbacks_.connection_.dispatcher_.timers();
    if (timers.size() < 2) {
      return;
    }
    auto& timer = *timers.at(1);
    if (timer.enabled_) {
      timer.invokeCallback();
    }
  }

  std::string written() { return callbacks_.connection_.written_; }

  std::shared_ptr<TestConfigHandle> handle_ = std::make_shared<TestConfigHandle>();
  NiceMock<network::MockReadFilterCallbacks> callbacks_;
  std::shared_ptr<ConnectionManagerImpl> manager_;
  std::shared_ptr<AnsweringFilter> last_;
  bool answer_at_once_ = true;
};

TEST_F(ConnectionManagerConfigHandleTest, NextRequestOnTheConnectionUsesTheNewConfig) {
  start(makeConfig("old"));
  request("/1");
  EXPECT_THAT(written(), HasSubstr("\r\n\r\nold"));
  handle_->store(makeConfig("new"));
  resume();
  request("/2");
  EXPECT_THAT(written(), HasSubstr("\r\n\r\nnew"));
  EXPECT_EQ(network::ConnectionState::kOpen, callbacks_.connection_.state_);
}

TEST_F(ConnectionManagerConfigHandleTest, RequestInFlightKeepsItsConfig) {
  answer_at_once_ = false;
  start(makeConfig("old"));
  request("/1");
  auto in_flight = last_;
  handle_->store(makeConfig("new"));
  in_flight->answer();
  EXPECT_THAT(written(), HasSubstr("\r\n\r\nold"));
  EXPECT_THAT(written(), testing::Not(HasSubstr("new")));
  resume();
  request("/2");
  last_->answer();
  EXPECT_THAT(written(), HasSubstr("\r\n\r\nnew"));
}

TEST_F(ConnectionManagerConfigHandleTest, FetchesOnlyWhenTheVersionMoves) {
  start(makeConfig("old"));
  for (int i = 0; i < 3; ++i) {
    request("/" + std::to_string(i));
    resume();
  }
  EXPECT_EQ(0, handle_->fetches_);
  handle_->store(makeConfig("new"));
  request("/a");
  resume();
  request("/b");
  EXPECT_EQ(1, handle_->fetches_);
}

TEST_F(ConnectionManagerConfigHandleTest, EmptyHandleKeepsTheCurrentConfig) {
  start(makeConfig("old"));
  handle_->store(nullptr);  // the listener went away: the server drains this connection
  request("/1");
  EXPECT_THAT(written(), HasSubstr("\r\n\r\nold"));
}

}  // namespace
}  // namespace proxy::http
