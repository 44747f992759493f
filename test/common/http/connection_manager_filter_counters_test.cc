// The connection manager counts each HTTP filter's invocations and local replies itself
// (docs/behaviour.md §5), so filters need not, and plugins are counted the same way.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/buffer/buffer_impl.h"
#include "common/http/connection_manager_impl.h"
#include "common/stats/filter_counters.h"
#include "common/stats/store_impl.h"
#include "test/mocks/event/mocks.h"
#include "test/mocks/network/mocks.h"

using testing::HasSubstr;
using testing::NiceMock;

namespace proxy::http {
namespace {

// Passes requests on, or answers them itself when `reply_` is set.
class GateFilter : public StreamDecoderFilter {
 public:
  explicit GateFilter(bool reply) : reply_(reply) {}
  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterHeadersStatus decodeHeaders(RequestHeaderMap&, bool) override {
    if (reply_) {
      callbacks_->sendLocalReply(403, "no\n");
      return FilterHeadersStatus::kStopIteration;
    }
    return FilterHeadersStatus::kContinue;
  }
  FilterDataStatus decodeData(buffer::Instance&, bool) override {
    return FilterDataStatus::kContinue;
  }
  FilterTrailersStatus decodeTrailers(HeaderMap&) override {
    return FilterTrailersStatus::kContinue;
  }
  void onDestroy() override {}

 private:
  const bool reply_;
  StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

// Answers 200 from the terminal position.
class AnswerFilter : public StreamDecoderFilter {
 public:
  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  FilterHeadersStatus decodeHeaders(RequestHeaderMap&, bool) override {
    auto headers = std::make_unique<ResponseHeaderMap>();
    headers->setStatus(200);
    headers->add("content-length", "0");
    callbacks_->encodeHeaders(std::move(headers), true);
    return FilterHeadersStatus::kStopIteration;
  }
  FilterDataStatus decodeData(buffer::Instance&, bool) override {
    return FilterDataStatus::kStopIteration;
  }
  FilterTrailersStatus decodeTrailers(HeaderMap&) override {
    return FilterTrailersStatus::kStopIteration;
  }
  void onDestroy() override {}

 private:
  StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

class ConnectionManagerFilterCountersTest : public testing::Test {
 protected:
  ConnectionManagerFilterCountersTest() {
    auto config = std::make_shared<ConnectionManagerConfig>();
    config->rejections["other"] = &store_.counter("rejected", "test", {{"reason", "other"}});
    config->filter_factories.push_back([this](FilterChainFactoryCallbacks& callbacks) {
      callbacks.addStreamDecoderFilter(std::make_shared<GateFilter>(gate_replies_));
    });
    config->filter_factories.push_back([](FilterChainFactoryCallbacks& callbacks) {
      callbacks.addStreamDecoderFilter(std::make_shared<AnswerFilter>());
    });
    config->filter_counters.push_back(stats::FilterCounters::forHttpFilter(store_, "web", "gate"));
    config->filter_counters.push_back(
        stats::FilterCounters::forHttpFilter(store_, "web", "answer"));
    gate_ = config->filter_counters[0];
    answer_ = config->filter_counters[1];
    manager_ = std::make_shared<ConnectionManagerImpl>(config);
    callbacks_.connection_.addReadFilter(manager_);
    manager_->initializeReadFilterCallbacks(callbacks_);
    manager_->onNewConnection();
  }

  void receive(const std::string& bytes) {
    buffer::OwnedBuffer data;
    data.add(bytes);
    manager_->onData(data, false);
  }

  stats::StoreImpl store_{1};
  NiceMock<network::MockReadFilterCallbacks> callbacks_;
  std::shared_ptr<ConnectionManagerImpl> manager_;
  stats::FilterCounters gate_;
  stats::FilterCounters answer_;
  bool gate_replies_ = false;
};

TEST_F(ConnectionManagerFilterCountersTest, EveryFilterAStreamReachesIsCounted) {
  receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(callbacks_.connection_.written_, HasSubstr("HTTP/1.1 200"));
  EXPECT_EQ(1u, gate_.invocations->value());
  EXPECT_EQ(1u, answer_.invocations->value());
  EXPECT_EQ(0u, gate_.local_replies->value());
  EXPECT_EQ(0u, answer_.local_replies->value());
}

TEST_F(ConnectionManagerFilterCountersTest, LocalReplyIsCountedOnTheFilterThatAnswered) {
  gate_replies_ = true;
  receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(callbacks_.connection_.written_, HasSubstr("HTTP/1.1 403"));
  EXPECT_EQ(1u, gate_.invocations->value());
  EXPECT_EQ(1u, gate_.local_replies->value());
  // The chain ended at the gate: the terminal filter never ran.
  EXPECT_EQ(0u, answer_.invocations->value());
}

TEST_F(ConnectionManagerFilterCountersTest, CountersAreLabelledByListenerChainAndFilter) {
  receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  bool found = false;
  for (const auto& family : store_.snapshot()) {
    if (family.name != "proxy_filter_invocations_total") {
      continue;
    }
    for (const auto& metric : family.metrics) {
      if (metric.labels ==
          stats::Labels{{"listener", "web"}, {"chain", "http"}, {"filter", "gate"}}) {
        found = true;
        EXPECT_EQ(1, metric.value);
      }
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace proxy::http
