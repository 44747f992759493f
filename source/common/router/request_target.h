#pragma once

#include <string_view>

namespace proxy::router {

// A request target (RFC 9112 §3.2) split into what routing looks at. Views into the text
// given to parseRequestTarget().
struct RequestTarget {
  enum class Form {
    kOrigin,    // "/a/b?q"
    kAbsolute,  // "http://host:port/a/b?q" (what a client sends to a forward proxy)
    kOther,     // "*", authority form ("host:443") or anything else: nothing to route
  };
  Form form = Form::kOther;
  // The absolute form's authority without userinfo ("host:port"); empty otherwise.
  std::string_view authority;
  // Starts with "/" for kOrigin and kAbsolute (an absolute form without a path gets "/");
  // the query is not part of it.
  std::string_view path;
  // "?..." when there is a query, else empty.
  std::string_view query;
};

// Splits `target`. Only http and https absolute forms count as kAbsolute (scheme compared
// case-insensitively). Nothing is decoded or normalized.
RequestTarget parseRequestTarget(std::string_view target);

}  // namespace proxy::router
