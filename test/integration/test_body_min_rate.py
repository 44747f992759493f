"""request_body_min_rate: a request body that trickles in slower than the minimum over a
window ends with 408 (logged by name, failure cause request_body_min_rate), so a client
sending a byte now and then cannot hold a client and an upstream connection forever; one
sending at the minimum or faster is not disturbed, and without the setting nothing is timed."""

import json
import os
import tempfile
import time
import unittest

from http_upstream import Reader, read_response, start_http_upstream
from proxy_harness import ProxyTestCase, free_port, sleep_until
from test_slow_readers import http_config


class BodyMinRate(ProxyTestCase):
    def start(self, hcm):
        self.up = start_http_upstream(self)
        self.admin, self.web = free_port(), free_port()
        self.log_dir = tempfile.mkdtemp(prefix="proxy-min-rate-")
        self.log_path = os.path.join(self.log_dir, "access.log")
        self.addCleanup(self._remove_log)
        self.proxy = self.start_proxy(
            http_config(self.admin, self.web, self.up.port, self.log_path, hcm=hcm),
            admin_port=self.admin)

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

    def post_slowly(self, total, piece, gap, limit_seconds):
        """Sends a body of `total` bytes in `piece`-byte writes `gap` seconds apart, until
        the body is sent, the proxy answers, or `limit_seconds` pass. Returns (response,
        seconds taken)."""
        s = self.client(self.web, timeout=15)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
        started = time.monotonic()
        sent = 0
        s.setblocking(False)
        answered = False
        while sent < total and time.monotonic() - started < limit_seconds:
            try:
                if s.recv(1, 0x2):  # MSG_PEEK: an answer came
                    answered = True
                    break
            except BlockingIOError:
                pass
            except OSError:
                answered = True
                break
            try:
                sent += s.send(b"b" * min(piece, total - sent))
            except OSError:
                answered = True
                break
            time.sleep(gap)
        s.setblocking(True)
        s.settimeout(15)
        response = read_response(Reader(s))
        return response, time.monotonic() - started, answered

    def test_a_trickling_body_gets_408_and_is_logged(self):
        self.start("request_body_min_rate: { bytes_per_second: 1000, window: 1s }")
        response, took, _ = self.post_slowly(100000, 10, 0.1, limit_seconds=10)
        self.assertEqual(408, response.status)
        self.assertLess(took, 5.0)
        pattern = ("timeout request_body_min_rate (1s) fired: listener web client 127.0.0.1:")
        self.assertTrue(sleep_until(lambda: pattern in self.proxy.stderr_text(), 5.0),
                        self.proxy.stderr_text())
        [record] = self.records(1)
        self.assertEqual("request_body_min_rate", record["failure"])
        self.assertEqual(408, record["status"])

    def test_a_body_at_the_rate_is_forwarded(self):
        self.start("request_body_min_rate: { bytes_per_second: 1000, window: 1s }")
        # 4000 bytes/s for 2.5 s: several windows, each well above the minimum.
        response, _, _ = self.post_slowly(10000, 400, 0.1, limit_seconds=20)
        self.assertEqual(200, response.status)
        self.assertEqual(10000, response.json()["body_len"])
        self.assertNotIn("request_body_min_rate", self.proxy.stderr_text())

    def test_off_by_default(self):
        self.start("stream_idle_timeout: 60s")
        response, took, _ = self.post_slowly(30, 1, 0.1, limit_seconds=20)
        self.assertEqual(200, response.status)
        self.assertGreater(took, 2.5)


if __name__ == "__main__":
    unittest.main()
