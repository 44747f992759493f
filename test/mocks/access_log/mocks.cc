#include "test/mocks/access_log/mocks.h"

using testing::_;
using testing::An;

namespace proxy::access_log {

MockAccessLogSink::MockAccessLogSink() {
  ON_CALL(*this, log(_, _, An<const RequestLine&>(), _, _))
      .WillByDefault([this](std::string_view listener, const network::Address& client,
                            const RequestLine& request, const http::StreamInfo& info,
                            std::chrono::steady_clock::time_point) {
        requests_.push_back({std::string(listener), client, std::string(request.method),
                             std::string(request.path), std::string(request.protocol), info});
      });
  ON_CALL(*this, log(_, _, An<const network::ConnectionInfo&>(), _))
      .WillByDefault([this](std::string_view listener, const network::Address& client,
                            const network::ConnectionInfo& info,
                            std::chrono::steady_clock::time_point) {
        connections_.push_back({std::string(listener), client, info});
      });
}

MockAccessLogSink::~MockAccessLogSink() = default;

}  // namespace proxy::access_log
