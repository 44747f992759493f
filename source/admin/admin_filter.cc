#include "admin/admin_filter.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "admin/prometheus_exposition.h"
#include "admin/route_query.h"
#include "api/event/dispatcher.h"
#include "common/buffer/buffer_impl.h"

namespace proxy::admin {

AdminFilter::AdminFilter(AdminFilterContext& context, bool read_only)
    : context_(context), read_only_(read_only) {}

void AdminFilter::setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) {
  callbacks_ = &callbacks;
}

http::FilterHeadersStatus AdminFilter::decodeHeaders(http::RequestHeaderMap& headers, bool) {
  const std::string_view target = headers.path();
  const std::string_view path = target.substr(0, target.find('?'));
  const AdminAccessPolicy::Endpoint endpoint = AdminAccessPolicy::endpointOf(path);
  // Held for this request: a reload that swaps the policy meanwhile does not change it.
  const std::shared_ptr<const AdminAccessPolicy> policy = context_.policy;
  AdminAccessPolicy::Verdict verdict = policy->check(endpoint, headers, read_only_);
  if (!verdict.allowed()) {
    respond(verdict.status, "text/plain; charset=utf-8", std::move(verdict.body), verdict.allow);
  } else {
    serve(endpoint, target);
  }
  return http::FilterHeadersStatus::kStopIteration;
}

http::FilterDataStatus AdminFilter::decodeData(buffer::Instance& data, bool) {
  // No endpoint reads a body: dropped as it comes, so a large one costs no memory.
  data.drain(data.length());
  return http::FilterDataStatus::kStopIteration;
}

http::FilterTrailersStatus AdminFilter::decodeTrailers(http::HeaderMap&) {
  return http::FilterTrailersStatus::kStopIteration;
}

void AdminFilter::onDestroy() { destroyed_ = true; }

void AdminFilter::serve(AdminAccessPolicy::Endpoint endpoint, std::string_view target) {
  using Endpoint = AdminAccessPolicy::Endpoint;
  const AdminHooks& hooks = context_.hooks;
  switch (endpoint) {
    case Endpoint::kMetrics:
      respond(200, kPrometheusTextContentType, renderPrometheusText(context_.collectables));
      return;
    case Endpoint::kReady: {
      const bool ready = hooks.ready && hooks.ready();
      respond(ready ? 200 : 503, "text/plain; charset=utf-8", ready ? "ready\n" : "not ready\n");
      return;
    }
    case Endpoint::kHealthz:
      // Liveness: answered whenever the admin loop runs, ready or not.
      respond(200, "text/plain; charset=utf-8", "ok\n");
      return;
    case Endpoint::kRoute: {
      server::SnapshotConstSharedPtr snapshot = hooks.snapshot ? hooks.snapshot() : nullptr;
      if (snapshot == nullptr) {
        respond(503, "application/json", "{\"error\": \"no configuration loaded yet\"}\n");
        return;
      }
      const size_t question = target.find('?');
      RouteQueryAnswer answer = answerRouteQuery(
          *snapshot, question == std::string_view::npos ? "" : target.substr(question + 1));
      respond(answer.status, "application/json", std::move(answer.body));
      return;
    }
    case Endpoint::kReload:
      if (!hooks.reload) {
        break;
      }
      answerLater(hooks.reload);
      return;
    case Endpoint::kConfigDump: {
      if (!hooks.config_dump) {
        break;
      }
      bool yaml = false;
      try {
        for (const auto& [key, value] : Poco::URI(std::string(target)).getQueryParameters()) {
          if (key != "format") {
            continue;
          }
          if (value != "json" && value != "yaml") {
            respond(400, "text/plain; charset=utf-8",
                    "format: expected json or yaml, found \"" + value + "\"\n");
            return;
          }
          yaml = value == "yaml";
        }
      } catch (const Poco::Exception&) {
        respond(400, "text/plain; charset=utf-8", "malformed query\n");
        return;
      }
      answerLater([&hooks, yaml](AdminReplyCb done) { hooks.config_dump(yaml, std::move(done)); });
      return;
    }
    case Endpoint::kUnknown:
      break;
  }
  respond(404, "text/plain; charset=utf-8", "not found\n");
}

void AdminFilter::answerLater(const std::function<void(AdminReplyCb)>& start) {
  // The answer may come from another thread after the client has gone: it is posted to this
  // stream's loop and given only to a filter that still exists and has not been destroyed.
  std::weak_ptr<AdminFilter> weak = weak_from_this();
  event::Dispatcher& dispatcher = callbacks_->dispatcher();
  start([weak, &dispatcher](AdminReply reply) {
    dispatcher.post([weak, reply = std::move(reply)]() mutable {
      if (auto self = weak.lock(); self != nullptr && !self->destroyed_) {
        self->respond(reply.status, reply.content_type, std::move(reply.body));
      }
    });
  });
}

void AdminFilter::respond(int status, std::string_view content_type, std::string body,
                          std::string_view allow) {
  if (answered_ || destroyed_) {
    return;
  }
  answered_ = true;
  auto headers = std::make_unique<http::ResponseHeaderMap>();
  headers->setStatus(status);
  headers->add("content-type", content_type);
  headers->add("content-length", std::to_string(body.size()));
  // Config and tokens must not land in a cache, nor a text body be sniffed as a page.
  headers->add("cache-control", "no-store");
  headers->add("x-content-type-options", "nosniff");
  if (!allow.empty()) {
    headers->add("allow", allow);
  }
  if (status == 401) {
    headers->add("www-authenticate", "Bearer realm=\"proxy admin\"");
  }
  callbacks_->encodeHeaders(std::move(headers), body.empty());
  if (!body.empty()) {
    buffer::OwnedBuffer out;
    out.add(body);
    callbacks_->encodeData(out, true);
  }
}

}  // namespace proxy::admin
