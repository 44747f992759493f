"""Bounded buffers toward clients that do not read: pipelined requests the proxy answers
itself, pipelined requests it forwards, and an upgrade tunnel. Each client pushes up to
200 MiB and never reads; the proxy must stop reading it (its write buffer above the high
watermark, then the client's send blocks) and its RSS (VmRSS) must grow by less than 16 MiB.

PROXY_IT_VERBOSE=1 prints what each client could send and the RSS before and after."""

import time
import unittest

from http_upstream import Reader, read_head, read_response, send_request, start_http_upstream
from proxy_harness import MiB, ProxyTestCase, free_port, note, push_until_blocked

FLOOD = 200 * MiB
RSS_BOUND_KIB = 16 * 1024


def config(admin, web, up_port):
    return f"""admin: {{ address: "127.0.0.1:{admin}" }}
workers: 1
log_level: info
shutdown_timeout: 1s
clusters:
  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}
listeners:
  - name: web
    address: "127.0.0.1:{web}"
    filters:
      - name: http_connection_manager
        config:
          request_headers_timeout: 60s
          http_filters:
            - name: path_prefix_router
              config:
                routes:
                  - {{ prefix: /up, cluster: up }}
            - name: router
              config: {{ response_timeout: 60s }}
"""


def pipelined(request, size=1 * MiB):
    """`request` repeated into a block of about `size` bytes, whole requests only."""
    return request * max(1, size // len(request))


def upgrade_echo_handler(conn, server):
    """Answers an upgrade request with 101, then echoes raw bytes until EOF; other requests
    get 200 "plain"."""
    reader = Reader(conn)
    while True:
        _, headers = read_head(reader)
        if any(name.lower() == "upgrade" for name, _ in headers):
            break
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain")
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\n\r\n")
    while True:
        data = conn.recv(1 << 16)
        if not data:
            return
        conn.sendall(data)


class Backpressure(ProxyTestCase):
    def start(self, handler=None):
        self.up = (start_http_upstream(self) if handler is None
                   else start_http_upstream(self, handler=handler))
        self.admin, self.web = free_port(), free_port()
        self.proxy = self.start_proxy(config(self.admin, self.web, self.up.port),
                                      admin_port=self.admin)
        # Warm up: one ordinary exchange of each kind, so the baseline has the worker's
        # caches and the pool filled.
        s = self.client(self.web, timeout=10)
        r = Reader(s)
        self.assertEqual(404, send_request(s, r, "/nope").status)
        s.close()

    def flood(self, block):
        """A client with small socket buffers that sends `block` over and over, up to 200 MiB,
        until its sends stall for 2 s, and never reads. Returns (socket, bytes sent)."""
        s = self.client(self.web, timeout=10, rcvbuf=64 * 1024, sndbuf=64 * 1024)
        before = self.proxy.rss_kib()
        started = time.monotonic()
        sent, stalled = push_until_blocked(s, FLOOD, stall_seconds=2.0, block=block)
        growth = self.proxy.rss_kib() - before
        note(f"{self.id()}: sent {sent / MiB:.1f} MiB in {time.monotonic() - started:.1f}s "
             f"(stalled: {stalled}); RSS {before} KiB -> {before + growth} KiB "
             f"(+{growth} KiB)")
        self.assertTrue(stalled, f"the proxy read all {sent} bytes of a client that never reads")
        self.assertLess(growth, RSS_BOUND_KIB,
                        f"RSS grew by {growth} KiB with {sent} bytes from a client that never "
                        "reads")
        return s, sent

    def assert_still_serving(self):
        s = self.client(self.web, timeout=5)
        r = Reader(s)
        self.assertEqual(404, send_request(s, r, "/nope").status)
        self.assertEqual(200, send_request(s, r, "/up/x").status)

    def test_pipelined_local_replies_stop_being_read(self):
        self.start()
        s, _ = self.flood(pipelined(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"))
        self.assert_still_serving()
        # The answers queued so far are all there, in order, once the client reads.
        s.settimeout(10)
        r = Reader(s)
        for _ in range(100):
            self.assertEqual(404, read_response(r).status)

    def test_pipelined_proxied_requests_stop_being_read(self):
        self.start()
        s, _ = self.flood(pipelined(b"GET /up/__big/65536 HTTP/1.1\r\nHost: a\r\n\r\n"))
        self.assert_still_serving()
        s.settimeout(10)
        r = Reader(s)
        for _ in range(20):
            response = read_response(r)
            self.assertEqual(200, response.status)
            self.assertEqual(65536, len(response.body))

    def test_tunnel_whose_client_does_not_read_is_bounded(self):
        self.start(handler=upgrade_echo_handler)
        s = self.client(self.web, timeout=10, rcvbuf=64 * 1024, sndbuf=64 * 1024)
        s.sendall(b"GET /up/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                  b"Upgrade: websocket\r\n\r\n")
        r = Reader(s)
        self.assertEqual(b"HTTP/1.1 101 Switching Protocols", r.line())
        while r.line():
            pass
        before = self.proxy.rss_kib()
        # The upstream echoes everything; nobody reads the echo.
        sent, stalled = push_until_blocked(s, FLOOD, stall_seconds=2.0)
        growth = self.proxy.rss_kib() - before
        note(f"tunnel: sent {sent / MiB:.1f} MiB (stalled: {stalled}); RSS +{growth} KiB")
        self.assertTrue(stalled, f"the tunnel took all {sent} bytes of a client that never reads")
        self.assertLess(growth, RSS_BOUND_KIB)
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()
