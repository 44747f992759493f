#include "admin/admin_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include "admin/prometheus_exposition.h"
#include "admin/route_query.h"

namespace proxy::admin {
namespace {

class TextHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  TextHandler(Poco::Net::HTTPResponse::HTTPStatus status, std::string content_type,
              std::string body)
      : status_(status), content_type_(std::move(content_type)), body_(std::move(body)) {}

  void handleRequest(Poco::Net::HTTPServerRequest&,
                     Poco::Net::HTTPServerResponse& response) override {
    response.setStatus(status_);
    response.setContentType(content_type_);
    response.setContentLength(static_cast<std::streamsize>(body_.size()));
    response.send() << body_;
  }

 private:
  Poco::Net::HTTPResponse::HTTPStatus status_;
  std::string content_type_;
  std::string body_;
};

}  // namespace

class AdminServer::RequestHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  RequestHandlerFactory(std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                        Hooks hooks)
      : collectables_(std::move(collectables)), hooks_(std::move(hooks)) {}

  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override {
    using Status = Poco::Net::HTTPResponse::HTTPStatus;
    const std::string path = Poco::URI(request.getURI()).getPath();
    const bool read = request.getMethod() == "GET" || request.getMethod() == "HEAD";
    if (path == "/metrics") {
      if (!read) {
        return new TextHandler(Status::HTTP_METHOD_NOT_ALLOWED, "text/plain", "use GET\n");
      }
      return new TextHandler(Status::HTTP_OK, kPrometheusTextContentType,
                             renderPrometheusText(collectables_));
    }
    if (path == "/ready") {
      bool ready = hooks_.ready && hooks_.ready();
      return new TextHandler(ready ? Status::HTTP_OK : Status::HTTP_SERVICE_UNAVAILABLE,
                             "text/plain", ready ? "ready\n" : "not ready\n");
    }
    if (path == "/healthz") {
      // Liveness: answered whenever this thread runs, ready or not.
      return new TextHandler(Status::HTTP_OK, "text/plain", "ok\n");
    }
    if (path == "/route") {
      if (!read) {
        return new TextHandler(Status::HTTP_METHOD_NOT_ALLOWED, "text/plain", "use GET\n");
      }
      server::SnapshotConstSharedPtr snapshot = hooks_.snapshot ? hooks_.snapshot() : nullptr;
      if (snapshot == nullptr) {
        return new TextHandler(Status::HTTP_SERVICE_UNAVAILABLE, "application/json",
                               "{\"error\": \"no configuration loaded yet\"}\n");
      }
      RouteQueryAnswer answer =
          answerRouteQuery(*snapshot, Poco::URI(request.getURI()).getRawQuery());
      return new TextHandler(static_cast<Status>(answer.status), "application/json",
                             std::move(answer.body));
    }
    return new TextHandler(Status::HTTP_NOT_FOUND, "text/plain",
                           "not found; try /metrics, /ready, /healthz or /route\n");
  }

 private:
  const std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  const Hooks hooks_;
};

AdminServer::AdminServer(const server::HostPort& address,
                         std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                         Hooks hooks) {
  Poco::Net::ServerSocket socket;
  if (address.wildcard()) {
    // Every interface, IPv4 and IPv6, as the Go program's ":42007" did.
    try {
      socket.bind6(Poco::Net::SocketAddress(
                       Poco::Net::IPAddress::wildcard(Poco::Net::IPAddress::IPv6), address.port),
                   true, false);
    } catch (const Poco::Exception&) {
      socket.bind(Poco::Net::SocketAddress(Poco::Net::IPAddress(), address.port), true);
    }
  } else {
    socket.bind(Poco::Net::SocketAddress(address.host, address.port), true);
  }
  socket.listen(64);
  Poco::Net::SocketAddress bound = socket.address();
  server::HostPort shown{address.host, bound.port()};
  bound_address_ = shown.toString();

  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(4);
  params->setMaxQueued(64);
  params->setKeepAlive(true);
  // POCO's connection dispatcher notices stop() only when its queue wait times out (default
  // 10 s), which would hold up shutdown; a short wait bounds that.
  params->setThreadIdleTime(Poco::Timespan(0, 200 * 1000));
  server_ = std::make_unique<Poco::Net::HTTPServer>(
      new RequestHandlerFactory(std::move(collectables), std::move(hooks)), thread_pool_, socket,
      params);
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() { server_->start(); }

void AdminServer::stop() {
  if (server_ != nullptr) {
    server_->stopAll(true);
    server_.reset();
    thread_pool_.joinAll();
  }
}

std::string AdminServer::boundAddress() const { return bound_address_; }

}  // namespace proxy::admin
