#include "common/access_log/access_log_sink_impl.h"

#include <Poco/AutoPtr.h>
#include <Poco/FileChannel.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/network/socket_util.h"

namespace proxy::access_log {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class AccessLogSinkImplTest : public testing::Test {
 protected:
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_ = testing::TempDir() + "access_log_sink_" + std::to_string(getpid()) + ".log";
};

TEST_F(AccessLogSinkImplTest, WritesOneLinePerCallThroughTheAsyncChannel) {
  {
    Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(path_));
    AccessLogSinkImpl sink(AccessLogFormat::kJson, file.get());
    http::StreamInfo info;
    info.response_code = 200;
    network::Address client = network::resolveAddresses("127.0.0.1", 4000).at(0);
    sink.log("web", client, RequestLine{"GET", "/a", "HTTP/1.1"}, info, info.start_time);
    network::ConnectionInfo connection;
    connection.upstream_cluster = "c";
    sink.log("tcp", client, connection, connection.start_time);
  }  // closing the sink writes what is queued
  std::string text = readFile(path_);
  EXPECT_EQ(2, std::count(text.begin(), text.end(), '\n')) << text;
  EXPECT_NE(std::string::npos, text.find("\"path\":\"/a\"")) << text;
  EXPECT_NE(std::string::npos, text.find("\"type\":\"tcp\"")) << text;
}

TEST_F(AccessLogSinkImplTest, OpenSharesOneSinkPerPathAndFormat) {
  AccessLogSinkSharedPtr a = AccessLogSinkImpl::open(path_, AccessLogFormat::kText);
  EXPECT_EQ(a, AccessLogSinkImpl::open(path_, AccessLogFormat::kText));
  EXPECT_NE(a, AccessLogSinkImpl::open(path_, AccessLogFormat::kJson));
  EXPECT_EQ(0, access(path_.c_str(), F_OK));  // opened at once
}

bool waitForText(const std::string& path, const std::string& text) {
  for (int i = 0; i < 500; ++i) {
    if (readFile(path).find(text) != std::string::npos) {
      return true;
    }
    usleep(10 * 1000);
  }
  return false;
}

// logrotate renames the file, then SIGUSR1: new lines go to a new file at the path, and
// the renamed one keeps what was written before.
TEST_F(AccessLogSinkImplTest, ReopenFilesStartsANewFileAtThePath) {
  // A path of its own: sinks live as long as the process, and other tests' use path_.
  const std::string path = path_ + ".reopen";
  AccessLogSinkSharedPtr sink = AccessLogSinkImpl::open(path, AccessLogFormat::kText);
  network::Address client = network::resolveAddresses("127.0.0.1", 4000).at(0);
  http::StreamInfo info;
  sink->log("web", client, RequestLine{"GET", "/before", "HTTP/1.1"}, info, info.start_time);
  ASSERT_TRUE(waitForText(path, "/before"));
  const std::string rotated = path + ".1";
  ASSERT_EQ(0, std::rename(path.c_str(), rotated.c_str()));

  bool found = false;
  for (const auto& result : AccessLogSinkImpl::reopenFiles()) {
    if (result.message == "access log " + path + " reopened") {
      found = result.ok;
    }
  }
  EXPECT_TRUE(found);
  sink->log("web", client, RequestLine{"GET", "/after", "HTTP/1.1"}, info, info.start_time);
  EXPECT_TRUE(waitForText(path, "/after"));
  EXPECT_EQ(std::string::npos, readFile(path).find("/before"));
  EXPECT_EQ(std::string::npos, readFile(rotated).find("/after"));
  std::remove(rotated.c_str());
  std::remove(path.c_str());
}

TEST_F(AccessLogSinkImplTest, UnopenableFileIsReportedAtOpen) {
  try {
    AccessLogSinkImpl::open("/nonexistent-dir/x/access.log", AccessLogFormat::kText);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string::npos,
              std::string(error.what()).find("cannot open access log \"/nonexistent-dir/x/"))
        << error.what();
  }
}

}  // namespace
}  // namespace proxy::access_log
