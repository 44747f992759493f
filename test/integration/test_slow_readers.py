"""Clients that stop reading are timed out: the stream idle timeout counts a stalled write as
idle, and a connection closing after a flush (Connection: close, tcp_proxy after its upstream
finished) is closed hard after delayed_close_timeout. Each fires with its info line naming it
and a failure cause in the access log."""

import json
import os
import socket
import tempfile
import time
import unittest

from http_upstream import start_http_upstream
from proxy_harness import (MiB, ProxyTestCase, canonical_config, free_port,
                           recv_until_eof, sleep_until)


def http_config(admin, web, up_port, log_path, hcm=""):
    return f"""admin: {{ address: "127.0.0.1:{admin}" }}
workers: 1
log_level: info
shutdown_timeout: 1s
access_log: {{ path: {log_path}, format: json }}
clusters:
  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}
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
                  - {{ prefix: /, cluster: up }}
            - name: router
              config: {{ response_timeout: 60s }}
"""


def reply_big_after_eof_handler(conn, server):
    """tcp upstream: reads until the client's FIN, sends 8 MiB, then closes."""
    while conn.recv(65536):
        pass
    block = b"x" * MiB
    try:
        for _ in range(8):
            conn.sendall(block)
    except OSError:
        return


class SlowReaderCase(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.log_dir = tempfile.mkdtemp(prefix="proxy-slow-readers-")
        self.log_path = os.path.join(self.log_dir, "access.log")
        self.addCleanup(self._remove_log)

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

    def start_http(self, hcm):
        self.up = start_http_upstream(self)
        self.admin, self.web = free_port(), free_port()
        self.proxy = self.start_proxy(
            http_config(self.admin, self.web, self.up.port, self.log_path, hcm=hcm),
            admin_port=self.admin)

    def expect_log_line(self, name, duration, listener="web", timeout=10.0):
        pattern = f"timeout {name} ({duration}) fired: listener {listener} client 127.0.0.1:"
        ok = sleep_until(lambda: pattern in self.proxy.stderr_text(), timeout)
        self.assertTrue(ok, f"no line {pattern!r} in:\n{self.proxy.stderr_text()}")

    def non_reader(self, port):
        """A client whose receive buffer is small and which does not read."""
        return self.client(port, timeout=15, rcvbuf=32 * 1024)

    def assert_closed_soon(self, sock, timeout=10.0):
        """Reads what was queued for it; the proxy must have closed the connection."""
        recv_until_eof(sock, timeout=timeout, limit=64 * MiB)


class StreamIdleWithAStalledWrite(SlowReaderCase):
    def test_a_client_that_stops_reading_a_keep_alive_response_is_timed_out(self):
        self.start_http("stream_idle_timeout: 1s\n          delayed_close_timeout: 30s")
        s = self.non_reader(self.web)
        started = time.monotonic()
        s.sendall(b"GET /__big/67108864 HTTP/1.1\r\nHost: a\r\n\r\n")
        self.expect_log_line("stream_idle_timeout", "1s")
        self.assertLess(time.monotonic() - started, 8.0)
        self.assert_closed_soon(s)
        [record] = self.records(1)
        self.assertEqual("stream_idle_timeout", record["failure"])
        self.assertEqual(200, record["status"])
        self.assertNotIn("delayed_close_timeout", self.proxy.stderr_text())

    def test_a_slow_reader_that_keeps_reading_is_not_timed_out(self):
        self.start_http("stream_idle_timeout: 2s")
        s = self.client(self.web, timeout=15, rcvbuf=32 * 1024)
        s.sendall(b"GET /__big/4194304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        got = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            data = s.recv(256 * 1024)
            if not data:
                break
            got += len(data)
            time.sleep(0.05)  # about 5 MiB/s at most: slow, never idle for 2s
        self.assertGreater(got, 4194304)
        self.assertNotIn("stream_idle_timeout", self.proxy.stderr_text())


class DelayedCloseTimeout(SlowReaderCase):
    def test_connection_close_response_not_read_is_closed_after_the_timeout(self):
        # The 8 MiB answer fits the write buffer (the stream completes), not the sockets.
        self.start_http("delayed_close_timeout: 1s\n          stream_idle_timeout: 60s\n"
                        "          buffer_limit: 16777216")
        s = self.non_reader(self.web)
        started = time.monotonic()
        s.sendall(b"GET /__big/8388608 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        self.expect_log_line("delayed_close_timeout", "1s")
        self.assertLess(time.monotonic() - started, 8.0)
        self.assert_closed_soon(s)

    def test_tcp_proxy_without_idle_timeout_frees_its_connection_slots(self):
        # max_connections: 4 and four clients that half-close and never read what the
        # upstream answered before it closed: the proxy closes each after flushing, and
        # without a delayed close the listener stays full forever.
        server = self.start_server(reply_big_after_eof_handler)
        admin, port = free_port(), free_port()
        listener = {"name": "tcp", "address": f"127.0.0.1:{port}", "max_connections": 4,
                    "filters": ["- name: stats",
                                "- name: tcp_proxy",
                                "  config: { cluster: echo, idle_timeout: 0s, "
                                "delayed_close_timeout: 3s, buffer_limit: 16777216 }"]}
        text = canonical_config(admin, [listener], [("echo", [f"127.0.0.1:{server.port}"])],
                                workers=1)
        text += f"access_log: {{ path: {self.log_path}, format: json }}\n"
        # One worker: max_connections is split between the workers.
        self.proxy = self.start_proxy(text, admin_port=admin, workers=1)
        clients = []
        for _ in range(4):
            s = self.non_reader(port)
            s.sendall(b"hi")
            s.shutdown(socket.SHUT_WR)
            clients.append(s)
        # Full: a fifth connection is closed at once, without a byte.
        self.wait_metric(admin, lambda m: m.value("proxy_listener_connections_active",
                                                  listener="tcp") == 4, what="4 active")
        probe = self.client(port, timeout=5)
        data, _ = recv_until_eof(probe, timeout=2.5)
        self.assertEqual(b"", data)
        self.expect_log_line("delayed_close_timeout", "3s", listener="tcp")
        # All four (their timers started a few ms apart) before any client reads: a client
        # that reads would let its flush finish.
        self.assertTrue(sleep_until(
            lambda: self.proxy.stderr_text().count("timeout delayed_close_timeout") == 4, 10.0),
            self.proxy.stderr_text())
        for s in clients:
            self.assert_closed_soon(s)
        # A fifth client now gets a slot and its bytes.
        s = self.client(port, timeout=10)
        s.sendall(b"hi")
        s.shutdown(socket.SHUT_WR)
        data, _ = recv_until_eof(s, timeout=15, limit=64 * MiB)
        self.assertEqual(8 * MiB, len(data))
        records = self.records(5)
        self.assertEqual(4, sum(1 for r in records if r["failure"] == "delayed_close_timeout"),
                         records)
        metrics = self.metrics(admin)
        self.assertEqual(4, metrics.value("proxy_listener_connection_failures_total",
                                          listener="tcp", cause="delayed_close_timeout"))


class DelayedCloseConfig(SlowReaderCase):
    def test_bad_values_are_config_errors_naming_the_field(self):
        from proxy_harness import run_proxy_once
        cases = [("delayed_close_timeout: soon", "delayed_close_timeout: expected a duration"),
                 ("request_body_min_rate: 5",
                  "request_body_min_rate: expected a map such as"),
                 ("request_body_min_rate: { bytes_per_second: -1 }",
                  "request_body_min_rate.bytes_per_second:"),
                 ("request_body_min_rate: { bytes_per_second: 10, window: 10ms }",
                  "request_body_min_rate.window: expected a duration from 1s to 1h"),
                 ("request_body_min_rate: { window: 10s }",
                  "request_body_min_rate.bytes_per_second: expected a number"),
                 ("request_body_min_rate: { bytes_per_second: 10, every: 10s }",
                  "request_body_min_rate.every")]
        for hcm, expected in cases:
            with self.subTest(hcm=hcm):
                path = os.path.join(self.log_dir, "c.yml")
                with open(path, "w") as f:
                    f.write(http_config(free_port(), free_port(), 1, "stdout", hcm=hcm))
                result = run_proxy_once(["--validate", "-c", path])
                self.assertEqual(1, result.returncode, result.stderr)
                self.assertEqual(1, len(result.stderr.splitlines()), result.stderr)
                self.assertIn(expected, result.stderr)
                self.assertRegex(result.stderr, r"c\.yml:\d+:\d+: listeners\[0\]\.filters\[0\]")

    def test_print_config_keeps_the_new_keys(self):
        from proxy_harness import run_proxy_once
        path = os.path.join(self.log_dir, "c.yml")
        hcm = ("delayed_close_timeout: 2s\n          "
               "request_body_min_rate: { bytes_per_second: 1024, window: 10s }")
        with open(path, "w") as f:
            f.write(http_config(free_port(), free_port(), 1, "stdout", hcm=hcm))
        printed = run_proxy_once(["--print-config", "-c", path])
        self.assertEqual(0, printed.returncode, printed.stderr)
        self.assertIn("delayed_close_timeout: 2s", printed.stdout)
        self.assertIn("bytes_per_second: 1024", printed.stdout)
        again_path = os.path.join(self.log_dir, "again.yml")
        with open(again_path, "w") as f:
            f.write(printed.stdout)
        again = run_proxy_once(["--print-config", "-c", again_path])
        self.assertEqual(0, again.returncode, again.stderr)
        self.assertEqual(printed.stdout, again.stdout)


if __name__ == "__main__":
    unittest.main()
