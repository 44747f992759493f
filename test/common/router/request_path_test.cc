#include "common/router/request_path.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace proxy::router {
namespace {

struct PathCase {
  const char* input;
  const char* expected;  // nullptr: climbs above "/"
};

std::optional<std::string> normalized(std::string_view path) {
  std::string out;
  if (!removeDotSegments(path, out)) {
    return std::nullopt;
  }
  return out;
}

TEST(RequestPathTest, RemovesDotSegments) {
  const PathCase cases[] = {
      // RFC 3986 §5.2.4's own example, and §5.4's dot-segment results.
      {"/a/b/c/./../../g", "/a/g"},
      {"/b/c/./g", "/b/c/g"},
      {"/b/c/g/.", "/b/c/g/"},
      {"/b/c/.", "/b/c/"},
      {"/b/c/./", "/b/c/"},
      {"/b/c/..", "/b/"},
      {"/b/c/../", "/b/"},
      {"/b/c/../g", "/b/g"},
      {"/b/c/../..", "/"},
      {"/b/c/../../", "/"},
      {"/b/c/../../g", "/g"},
      {"/b/c/g/./h", "/b/c/g/h"},
      {"/b/c/g/../h", "/b/c/h"},
      // Nothing to do.
      {"/", "/"},
      {"/a", "/a"},
      {"/a/", "/a/"},
      {"/a//b", "/a//b"},
      // Dots that are not whole segments, and encoded dots, stay.
      {"/.well-known/x", "/.well-known/x"},
      {"/a/.b", "/a/.b"},
      {"/a/..b", "/a/..b"},
      {"/a/b..", "/a/b.."},
      {"/a/...", "/a/..."},
      {"/a/%2e%2e/b", "/a/%2e%2e/b"},
      {"/a/%2E/b", "/a/%2E/b"},
      // Edges.
      {"/.", "/"},
      {"/./", "/"},
      {"/./a", "/a"},
      {"/a/..", "/"},
      {"/a/../", "/"},
      {"/a//..", "/a/"},
      {"/a//../b", "/a/b"},
      {"//..", "/"},
      {"/a/./../b/./c/..", "/b/"},
      // Above the root: an error, not silently "/" as RFC 3986 would have it.
      {"/..", nullptr},
      {"/../", nullptr},
      {"/../a", nullptr},
      {"/./..", nullptr},
      {"/a/../..", nullptr},
      {"/a/../../b", nullptr},
      {"/a/b/../../../c", nullptr},
      {"/a/./../../b", nullptr},
  };
  for (const PathCase& c : cases) {
    SCOPED_TRACE(c.input);
    auto result = normalized(c.input);
    if (c.expected == nullptr) {
      EXPECT_FALSE(result.has_value()) << "got " << result.value_or("");
    } else {
      ASSERT_TRUE(result.has_value());
      EXPECT_EQ(*result, c.expected);
    }
    // hasDotSegments() says whether normalization changes anything.
    EXPECT_EQ(hasDotSegments(c.input), !result.has_value() || *result != c.input);
  }
}

// RFC 3986 §5.2.4 written out step by step on string buffers, with one change: rule C with
// nothing left in the output (a ".." above the root) fails.
std::optional<std::string> rfcRemoveDotSegments(std::string input) {
  std::string output;
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.erase(0, 3);
    } else if (input.starts_with("./")) {
      input.erase(0, 2);
    } else if (input.starts_with("/./")) {
      input.replace(0, 3, "/");
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../") || input == "/..") {
      input.replace(0, input == "/.." ? 3 : 4, "/");
      if (output.empty()) {
        return std::nullopt;
      }
      size_t last = output.rfind('/');
      output.erase(last == std::string::npos ? 0 : last);
    } else if (input == "." || input == "..") {
      input.clear();
    } else {
      size_t end = input.find('/', input.front() == '/' ? 1 : 0);
      if (end == std::string::npos) {
        end = input.size();
      }
      output += input.substr(0, end);
      input.erase(0, end);
    }
  }
  return output;
}

TEST(RequestPathTest, MatchesRfcAlgorithmOnRandomPaths) {
  std::mt19937 random(20240611);
  const std::string pieces[] = {"/", ".", "a", "b", "%2e"};
  std::uniform_int_distribution<size_t> piece(0, std::size(pieces) - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (int i = 0; i < 100000; ++i) {
    std::string path = "/";
    for (int n = length(random); n > 0; --n) {
      path += pieces[piece(random)];
    }
    SCOPED_TRACE(path);
    auto expected = rfcRemoveDotSegments(path);
    auto actual = normalized(path);
    ASSERT_EQ(actual.has_value(), expected.has_value());
    if (expected) {
      ASSERT_EQ(*actual, *expected);
    }
    ASSERT_EQ(hasDotSegments(path), !expected.has_value() || *expected != path);
  }
}

struct StripCase {
  const char* path;
  size_t prefix_length;
  const char* expected;
};

TEST(RequestPathTest, StripsPrefixKeepingALeadingSlash) {
  const StripCase cases[] = {
      {"/users/42", 6, "/42"},  // "/users"
      {"/users", 6, "/"},       // "/users"
      {"/users/", 6, "/"},      // "/users"
      {"/users/", 7, "/"},      // "/users/"
      {"/p/x", 3, "/x"},        // "/p/"
      {"/users2", 6, "/2"},     // "/users" also matches "/users2"
      {"/a/b/c", 1, "/a/b/c"},  // "/"
      {"/https/posts/1", 6, "/posts/1"},
      {"/", 1, "/"},
  };
  for (const StripCase& c : cases) {
    EXPECT_EQ(stripPrefix(c.path, c.prefix_length), c.expected)
        << c.path << " without " << c.prefix_length << " bytes";
  }
}

}  // namespace
}  // namespace proxy::router
