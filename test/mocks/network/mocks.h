#pragma once

#include <gmock/gmock.h>

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "api/network/connection.h"
#include "api/network/connection_info.h"
#include "api/network/filter.h"
#include "api/network/transport_socket.h"
#include "test/mocks/event/mocks.h"

namespace proxy::network {

// Default actions of MockConnectionCallbacks: none; every method is a plain mock.
class MockConnectionCallbacks : public ConnectionCallbacks {
 public:
  MockConnectionCallbacks();
  ~MockConnectionCallbacks() override;

  // network::ConnectionCallbacks
  MOCK_METHOD(void, onEvent, (ConnectionEvent event), (override));
  MOCK_METHOD(void, onAboveWriteBufferHighWatermark, (), (override));
  MOCK_METHOD(void, onBelowWriteBufferLowWatermark, (), (override));
};

// The members and mocked methods shared by MockConnection and MockClientConnection.
// Defaults (NiceMock-friendly, as in Envoy):
//  - id() is unique per mock; dispatcher() is the NiceMock dispatcher_ member.
//  - addConnectionCallbacks() keeps the callbacks; raiseEvent() and the watermark helpers
//    call them.
//  - write() appends the bytes to written_ and drains them, recording end_stream in
//    write_end_stream_; it does not go through the write filters.
//  - close() sets state_ to kClosed and close_reason_ to the reason, then raises kLocalClose
//    (once); state() and closeReason() report them.
//  - readDisable() counts nesting in read_disable_count_; readEnabled() is true at zero.
//  - enableHalfClose(), setBufferLimits(), setDelayedCloseTimeout() are stored (half_close_,
//    buffer_limit_, delayed_close_timeout_);
//    bufferLimit() and aboveHighWatermark() report buffer_limit_ and above_high_watermark_.
//  - remoteAddress(), localAddress() and info() return the members of those names.
//  - addReadFilter()/addWriteFilter()/addFilter() keep the filters in read_filters_ and
//    write_filters_ (addFilter adds to both), without initializing them;
//    initializeReadFilters() does nothing.
template <class Base>
class MockConnectionBase : public Base {
 public:
  MockConnectionBase();
  ~MockConnectionBase() override;

  // network::FilterManager
  MOCK_METHOD(void, addReadFilter, (ReadFilterSharedPtr filter), (override));
  MOCK_METHOD(void, addWriteFilter, (WriteFilterSharedPtr filter), (override));
  MOCK_METHOD(void, addFilter, (FilterSharedPtr filter), (override));

  // network::Connection
  MOCK_METHOD(uint64_t, id, (), (const, override));
  MOCK_METHOD(event::Dispatcher&, dispatcher, (), (override));
  MOCK_METHOD(void, addConnectionCallbacks, (ConnectionCallbacks & callbacks), (override));
  MOCK_METHOD(void, initializeReadFilters, (), (override));
  MOCK_METHOD(void, write, (buffer::Instance & data, bool end_stream), (override));
  MOCK_METHOD(void, readDisable, (bool disable), (override));
  MOCK_METHOD(bool, readEnabled, (), (const, override));
  MOCK_METHOD(void, enableHalfClose, (bool enabled), (override));
  MOCK_METHOD(void, startDrain, (), (override));
  MOCK_METHOD(void, close, (ConnectionCloseType type, std::string_view reason), (override));
  MOCK_METHOD(void, setDelayedCloseTimeout, (std::chrono::milliseconds timeout), (override));
  MOCK_METHOD(ConnectionState, state, (), (const, override));
  MOCK_METHOD(const std::string&, closeReason, (), (const, override));
  MOCK_METHOD(void, setBufferLimits, (uint32_t limit), (override));
  MOCK_METHOD(uint32_t, bufferLimit, (), (const, override));
  MOCK_METHOD(bool, aboveHighWatermark, (), (const, override));
  MOCK_METHOD(const Address&, remoteAddress, (), (const, override));
  MOCK_METHOD(const Address&, localAddress, (), (const, override));
  MOCK_METHOD(ConnectionInfo&, info, (), (override));
  MOCK_METHOD(bool, startSplice, (Connection & peer, SpliceCallbacks& callbacks), (override));

  // Tells every registered ConnectionCallbacks about `event`.
  void raiseEvent(ConnectionEvent event);
  void raiseAboveHighWatermark();
  void raiseBelowLowWatermark();

  const uint64_t id_;
  testing::NiceMock<event::MockDispatcher> dispatcher_;
  std::list<ConnectionCallbacks*> callbacks_;
  std::string written_;
  bool write_end_stream_ = false;
  ConnectionState state_ = ConnectionState::kOpen;
  std::string close_reason_;
  int read_disable_count_ = 0;
  bool half_close_ = false;
  uint32_t buffer_limit_ = 0;
  std::chrono::milliseconds delayed_close_timeout_ = kDefaultDelayedCloseTimeout;
  bool above_high_watermark_ = false;
  Address remote_address_;
  Address local_address_;
  ConnectionInfo info_;
  std::vector<ReadFilterSharedPtr> read_filters_;
  std::vector<WriteFilterSharedPtr> write_filters_;
};

extern template class MockConnectionBase<Connection>;
extern template class MockConnectionBase<ClientConnection>;

class MockConnection : public MockConnectionBase<Connection> {
 public:
  MockConnection();
  ~MockConnection() override;
};

// Defaults as MockConnectionBase, and: connect() raises kConnected; failureReason(),
// failureErrno() and transportFailure() return failure_reason_, failure_errno_ and
// transport_failure_. A MockDispatcher sets remote_address_ to the address asked for when it
// creates one, and hands it the transport socket it was given (transport_socket_).
class MockClientConnection : public MockConnectionBase<ClientConnection> {
 public:
  MockClientConnection();
  ~MockClientConnection() override;

  // network::ClientConnection
  MOCK_METHOD(void, connect, (), (override));
  MOCK_METHOD(const std::string&, failureReason, (), (const, override));
  MOCK_METHOD(int, failureErrno, (), (const, override));
  MOCK_METHOD(bool, transportFailure, (), (const, override));

  std::string failure_reason_;
  int failure_errno_ = 0;
  bool transport_failure_ = false;
  TransportSocketPtr transport_socket_;  // null for plain TCP
};

// Every method is a plain mock except failureReason(), which returns failure_reason_.
class MockTransportSocket : public TransportSocket {
 public:
  MockTransportSocket();
  ~MockTransportSocket() override;

  // network::TransportSocket
  MOCK_METHOD(void, setFd, (int fd), (override));
  MOCK_METHOD(HandshakeStatus, handshake, (), (override));
  MOCK_METHOD(const std::string&, failureReason, (), (const, override));
  MOCK_METHOD(IoResult, read, (void* data, size_t size), (override));
  MOCK_METHOD(IoResult, writev, (const iovec* iov, int count), (override));
  MOCK_METHOD(void, shutdownWrite, (), (override));
  MOCK_METHOD(void, onClose, (bool graceful), (override));
  MOCK_METHOD(bool, hasBufferedReadData, (), (const, override));

  std::string failure_reason_;
};

// createTransportSocket() records the host in hosts_ and returns a new
// NiceMock<MockTransportSocket>; settingsKey() returns settings_key_.
class MockTransportSocketFactory : public TransportSocketFactory {
 public:
  MockTransportSocketFactory();
  ~MockTransportSocketFactory() override;

  // network::TransportSocketFactory
  MOCK_METHOD(TransportSocketPtr, createTransportSocket, (std::string_view host),
              (const, override));
  MOCK_METHOD(const std::string&, settingsKey, (), (const, override));
  MOCK_METHOD(std::string_view, serverName, (), (const, override));

  std::string settings_key_ = "mock";
  std::string server_name_;
  mutable std::vector<std::string> hosts_;
};

// connection() returns the connection_ member; continueReading() does nothing.
class MockReadFilterCallbacks : public ReadFilterCallbacks {
 public:
  MockReadFilterCallbacks();
  ~MockReadFilterCallbacks() override;

  // network::ReadFilterCallbacks
  MOCK_METHOD(Connection&, connection, (), (override));
  MOCK_METHOD(void, continueReading, (), (override));

  testing::NiceMock<MockConnection> connection_;
};

// connection() returns the connection_ member.
class MockWriteFilterCallbacks : public WriteFilterCallbacks {
 public:
  MockWriteFilterCallbacks();
  ~MockWriteFilterCallbacks() override;

  // network::WriteFilterCallbacks
  MOCK_METHOD(Connection&, connection, (), (override));

  testing::NiceMock<MockConnection> connection_;
};

// Keeps the callbacks in callbacks_; onNewConnection() and onData() return kContinue.
class MockReadFilter : public ReadFilter {
 public:
  MockReadFilter();
  ~MockReadFilter() override;

  // network::ReadFilter
  MOCK_METHOD(void, initializeReadFilterCallbacks, (ReadFilterCallbacks & callbacks), (override));
  MOCK_METHOD(FilterStatus, onNewConnection, (), (override));
  MOCK_METHOD(FilterStatus, onData, (buffer::Instance & data, bool end_stream), (override));

  ReadFilterCallbacks* callbacks_ = nullptr;
};

// Keeps the callbacks in write_callbacks_; onWrite() returns kContinue.
class MockWriteFilter : public WriteFilter {
 public:
  MockWriteFilter();
  ~MockWriteFilter() override;

  // network::WriteFilter
  MOCK_METHOD(void, initializeWriteFilterCallbacks, (WriteFilterCallbacks & callbacks), (override));
  MOCK_METHOD(FilterStatus, onWrite, (buffer::Instance & data, bool end_stream), (override));

  WriteFilterCallbacks* write_callbacks_ = nullptr;
};

// The defaults of MockReadFilter and MockWriteFilter together.
class MockFilter : public Filter {
 public:
  MockFilter();
  ~MockFilter() override;

  // network::ReadFilter
  MOCK_METHOD(void, initializeReadFilterCallbacks, (ReadFilterCallbacks & callbacks), (override));
  MOCK_METHOD(FilterStatus, onNewConnection, (), (override));
  MOCK_METHOD(FilterStatus, onData, (buffer::Instance & data, bool end_stream), (override));

  // network::WriteFilter
  MOCK_METHOD(void, initializeWriteFilterCallbacks, (WriteFilterCallbacks & callbacks), (override));
  MOCK_METHOD(FilterStatus, onWrite, (buffer::Instance & data, bool end_stream), (override));

  ReadFilterCallbacks* callbacks_ = nullptr;
  WriteFilterCallbacks* write_callbacks_ = nullptr;
};

// Keeps what a filter chain factory installs: read_filters_ and write_filters_ (addFilter
// adds to both), in call order.
class MockFilterManager : public FilterManager {
 public:
  MockFilterManager();
  ~MockFilterManager() override;

  // network::FilterManager
  MOCK_METHOD(void, addReadFilter, (ReadFilterSharedPtr filter), (override));
  MOCK_METHOD(void, addWriteFilter, (WriteFilterSharedPtr filter), (override));
  MOCK_METHOD(void, addFilter, (FilterSharedPtr filter), (override));

  std::vector<ReadFilterSharedPtr> read_filters_;
  std::vector<WriteFilterSharedPtr> write_filters_;
};

}  // namespace proxy::network
