#include "header_rewrite.h"

namespace proxy::plugins::header_rewrite {

http::FilterHeadersStatus HeaderRewriteFilter::decodeHeaders(http::RequestHeaderMap& headers,
                                                             bool) {
  config_->request.apply(headers);
  return http::FilterHeadersStatus::kContinue;
}

http::FilterHeadersStatus HeaderRewriteFilter::encodeHeaders(http::ResponseHeaderMap& headers,
                                                             bool) {
  config_->response.apply(headers);
  return http::FilterHeadersStatus::kContinue;
}

}  // namespace proxy::plugins::header_rewrite
