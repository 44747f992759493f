#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>

#include "admin/admin_access_policy.h"
#include "admin/admin_hooks.h"
#include "api/http/filter.h"

namespace proxy::admin {

// What every admin stream shares. Owned by the AdminServer; used on the admin thread only.
struct AdminFilterContext {
  // Replaced when a reload changes admin.allowed_hosts or the token.
  std::shared_ptr<const AdminAccessPolicy> policy;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  AdminHooks hooks;
};

// The admin API as the terminal HTTP filter of the admin listener's connection manager, the
// same machinery that serves traffic. It answers from decodeHeaders(); reload and config_dump
// are computed on the main thread and answered when their result is posted back, so the
// admin thread's loop never waits and keeps serving the probes meanwhile.
class AdminFilter final : public http::StreamDecoderFilter,
                          public std::enable_shared_from_this<AdminFilter> {
 public:
  // `read_only`: on admin.read_only_address, which serves only the probes and /metrics.
  AdminFilter(AdminFilterContext& context, bool read_only);

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override;
  http::FilterHeadersStatus decodeHeaders(http::RequestHeaderMap& headers,
                                          bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Instance& data, bool end_stream) override;
  http::FilterTrailersStatus decodeTrailers(http::HeaderMap& trailers) override;
  void onDestroy() override;

 private:
  void serve(AdminAccessPolicy::Endpoint endpoint, std::string_view target);
  // Runs `start` (a hook that answers later, from any thread) and answers on this thread.
  void answerLater(const std::function<void(AdminReplyCb)>& start);
  void respond(int status, std::string_view content_type, std::string body,
               std::string_view allow = {});

  AdminFilterContext& context_;
  const bool read_only_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
  bool answered_ = false;
  bool destroyed_ = false;
};

}  // namespace proxy::admin
