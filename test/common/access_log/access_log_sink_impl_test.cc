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
