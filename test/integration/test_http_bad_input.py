"""Malformed client requests: answered with the right status, never forwarded, the connection
closed, the rejection counted by reason, and the next client served normally."""

import unittest

from http_upstream import read_response
from proxy_harness import recv_until_eof
from test_http_proxy import HttpCase

H = b"Host: h.test\r\n"

# (name, raw request bytes, status, reason label in proxy_http_requests_rejected_total)
CASES = [
    ("space_before_colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed"),
    ("nul_in_header", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400, "malformed"),
    ("bare_cr", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400, "malformed"),
    ("cl_and_te", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400,
     None),
    ("duplicate_cl", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400, "bad_content_length"),
    ("negative_cl", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400,
     "bad_content_length"),
    ("bad_chunk_size", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, "bad_chunk"),
    ("missing_host", b"GET / HTTP/1.1\r\n\r\n", 400, "missing_host"),
    ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "multiple_host"),
    ("obs_fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n", 400,
     "obsolete_line_folding"),
    ("http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "http2_preface"),
    ("http2_request_line", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505, "unsupported_version"),
    ("uri_too_long", b"GET /" + b"a" * (17 * 1024) + b" HTTP/1.1\r\n" + H + b"\r\n", 414,
     "uri_too_long"),
    ("headers_too_large", b"GET / HTTP/1.1\r\n" + H +
     b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 8000) for i in range(9)) + b"\r\n", 431,
     "header_too_large"),
    ("too_many_headers", b"GET / HTTP/1.1\r\n" + H +
     b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n", 431, "too_many_headers"),
    ("fragment", b"GET /a?x=1#frag HTTP/1.1\r\n" + H + b"\r\n", 400, "fragment_in_target"),
]


class BadInputTest(HttpCase):
    def rejected(self, reason=None):
        m = self.metrics(self.admin)
        labels = {"listener": "web"}
        if reason:
            labels["reason"] = reason
        return m.value("proxy_http_requests_rejected_total", **labels) or 0

    def run_case(self, raw, status, reason):
        before_total = self.rejected()
        before = self.rejected(reason) if reason else None
        s, r = self.conn()
        s.sendall(raw)
        resp = read_response(r)
        self.assertEqual(resp.status, status, resp.body[:300])
        rest, _ = recv_until_eof(s, timeout=3)
        self.assertEqual(rest + bytes(r.buf), b"", "connection not closed after the rejection")
        self.assertEqual(self.up_requests(), [], "a rejected request reached the upstream")
        self.assertEqual(self.up.accepted, 0, "the upstream was connected for a rejected request")
        self.wait_metric(self.admin, lambda m: (m.value("proxy_http_requests_rejected_total",
                                                        listener="web") or 0)
                         == before_total + 1, what="rejection counted once")
        if reason:
            self.assertEqual(self.rejected(reason), before + 1, f"reason {reason}")
        self.served_normally()


def _make(raw, status, reason):
    def test(self):
        self.run_case(raw, status, reason)
    return test


for _name, _raw, _status, _reason in CASES:
    setattr(BadInputTest, f"test_{_name}", _make(_raw, _status, _reason))


if __name__ == "__main__":
    unittest.main()
