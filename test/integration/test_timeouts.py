"""The five timeouts of docs/behaviour.md §3, each short here: what each does when it fires, the
info line naming it on stderr, and the access log's failure cause."""

import json
import os
import socket
import tempfile
import time
import unittest

from http_upstream import Reader, read_response, start_http_upstream
from proxy_harness import ProxyTestCase, free_port, recv_until_eof, sleep_until


def config(admin, web, up_port, log_path, hcm="", router="", connect_timeout="1s", up2_port=None):
    up2 = up2_port if up2_port is not None else up_port
    return f"""admin: {{ address: "127.0.0.1:{admin}" }}
workers: 1
log_level: info
shutdown_timeout: 2s
access_log: {{ path: {log_path}, format: json }}
clusters:
  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}
  - {{ name: slow, endpoints: ["127.0.0.1:{up2}"], connect_timeout: {connect_timeout} }}
listeners:
  - name: web
    address: "127.0.0.1:{web}"
    filters:
      - name: http_connection_manager
        config:
          {hcm}
          http_filters:
            - name: path_prefix_router
              config:
                routes:
                  - {{ prefix: /slow, cluster: slow }}
                  - {{ prefix: /, cluster: up }}
            - name: router
              config: {{ {router} }}
"""


class TimeoutCase(ProxyTestCase):
    def start(self, **kw):
        self.up = start_http_upstream(self)
        self.admin, self.web = free_port(), free_port()
        self.log_dir = tempfile.mkdtemp(prefix="proxy-timeouts-")
        self.log_path = os.path.join(self.log_dir, "access.log")
        self.addCleanup(self._remove_log)
        self.proxy = self.start_proxy(config(self.admin, self.web, self.up.port, self.log_path,
                                             **kw), admin_port=self.admin)

    def _remove_log(self):
        for name in os.listdir(self.log_dir):
            os.unlink(os.path.join(self.log_dir, name))
        os.rmdir(self.log_dir)

    def records(self, count, timeout=5.0):
        def read():
            try:
                with open(self.log_path, encoding="utf-8") as f:
                    return [json.loads(line) for line in f.read().splitlines()]
            except FileNotFoundError:
                return []
        sleep_until(lambda: len(read()) >= count, timeout)
        records = read()
        self.assertEqual(count, len(records), records)
        return records

    def expect_log_line(self, name, duration):
        pattern = f"timeout {name} ({duration}) fired: listener web client 127.0.0.1:"
        ok = sleep_until(lambda: pattern in self.proxy.stderr_text(), 5.0)
        self.assertTrue(ok, f"no line {pattern!r} in:\n{self.proxy.stderr_text()}")
        line = [l for l in self.proxy.stderr_text().splitlines() if pattern in l][0]
        self.assertIn(" Information ", f" {line} ")

    def conn(self):
        s = self.client(self.web, timeout=10)
        return s, Reader(s)


class RequestHeadersTimeout(TimeoutCase):
    def test_slow_headers_get_408_and_a_log_line(self):
        self.start(hcm="request_headers_timeout: 200ms")
        s, r = self.conn()
        started = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        response = read_response(r)
        self.assertEqual(408, response.status)
        self.assertLess(time.monotonic() - started, 3.0)
        self.expect_log_line("request_headers_timeout", "200ms")
        [record] = self.records(1)
        self.assertEqual("request_rejected:request_headers_timeout", record["failure"])
        self.assertEqual(408, record["status"])


class IdleTimeout(TimeoutCase):
    def test_idle_keep_alive_connection_is_closed_and_logged(self):
        self.start(hcm="idle_timeout: 200ms")
        s, r = self.conn()
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(200, read_response(r).status)
        started = time.monotonic()
        data, _ = recv_until_eof(s, timeout=5.0)  # closed without a byte (reset or FIN)
        self.assertEqual(b"", data)
        self.assertLess(time.monotonic() - started, 3.0)
        self.expect_log_line("idle_timeout", "200ms")
        [record] = self.records(1)  # the request, not the idle connection
        self.assertEqual("", record["failure"])


class StreamIdleTimeout(TimeoutCase):
    def test_request_with_nothing_moving_gets_504(self):
        self.start(hcm="stream_idle_timeout: 300ms", router="response_timeout: 30s")
        s, r = self.conn()
        s.sendall(b"GET /__hang HTTP/1.1\r\nHost: a\r\n\r\n")
        response = read_response(r)
        self.assertEqual(504, response.status)
        self.expect_log_line("stream_idle_timeout", "300ms")
        [record] = self.records(1)
        self.assertEqual("stream_idle_timeout", record["failure"])

    def test_a_body_still_arriving_keeps_the_stream_alive(self):
        self.start(hcm="stream_idle_timeout: 400ms", router="response_timeout: 30s")
        s, r = self.conn()
        s.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n")
        for piece in (b"ab", b"cd", b"ef"):
            time.sleep(0.25)  # each gap shorter than the timeout, together longer
            s.sendall(piece)
        response = read_response(r)
        self.assertEqual(200, response.status)
        self.assertNotIn("stream_idle_timeout", self.proxy.stderr_text())


class ResponseTimeout(TimeoutCase):
    def test_slow_upstream_gets_504(self):
        self.start(router="response_timeout: 300ms")
        s, r = self.conn()
        s.sendall(b"GET /__delay/3 HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(504, read_response(r).status)
        self.expect_log_line("response_timeout", "300ms")
        [record] = self.records(1)
        self.assertEqual("upstream_response_timeout", record["failure"])
        self.assertIsNone(record["upstream_headers_ms"])


class ConnectTimeout(TimeoutCase):
    def test_upstream_that_never_accepts_gets_504(self):
        # A loopback listener with backlog 0 whose queue is full: further SYNs are dropped,
        # so a connect neither succeeds nor fails until the timeout.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(4):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(f)
            self.addCleanup(f.close)
        time.sleep(0.2)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(probe.close)
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
            self.skipTest("this kernel accepted a connection beyond a full backlog")
        except (socket.timeout, OSError):
            pass
        self.start(connect_timeout="300ms", up2_port=port)
        s, r = self.conn()
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(504, read_response(r).status)
        self.expect_log_line("connect_timeout", "300ms")
        [record] = self.records(1)
        self.assertEqual("upstream_connect_timeout", record["failure"])


class StreamIdleTimeoutConfig(ProxyTestCase):
    def test_bad_value_is_a_config_error(self):
        from proxy_harness import run_proxy_once
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.yml")
            with open(path, "w") as f:
                f.write(config(free_port(), free_port(), 1, "stdout",
                               hcm="stream_idle_timeout: soon"))
            result = run_proxy_once(["--validate", "-c", path])
            self.assertEqual(1, result.returncode, result.stderr)
            self.assertIn("stream_idle_timeout: expected a duration such as", result.stderr)


if __name__ == "__main__":
    unittest.main()
