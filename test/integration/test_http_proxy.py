"""The HTTP proxy end to end: the real binary, an in-process upstream (http_upstream.py) that
echoes what it received, raw socket clients."""

import hashlib
import os
import signal
import socket
import threading
import time
import unittest

from http_upstream import (Reader, big_body_sha256, header_values, read_head, read_response,
                           send_request, start_http_upstream)
from proxy_harness import (MiB, ProxyTestCase, free_port, note, pattern_block, proxy_env,
                           recv_until_eof, sleep_until)


def http_config(admin, port, up_port, routes=None, vhosts=None, response_timeout="60s",
                extra_clusters=(), shutdown_timeout="2s"):
    lines = [f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 2",
             f"shutdown_timeout: {shutdown_timeout}", "clusters:",
             f'  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}']
    for name, eps in extra_clusters:
        lines.append(f"  - {{ name: {name}, endpoints: [{', '.join(chr(34) + e + chr(34) for e in eps)}], "
                     "connect_timeout: 1s }")
    lines += ["listeners:", "  - name: web", f'    address: "127.0.0.1:{port}"', "    filters:",
              "      - name: http_connection_manager", "        config:",
              "          request_headers_timeout: 10s", "          idle_timeout: 60s",
              "          http_filters:", "            - name: stats"]
    if vhosts is not None:
        lines += ["            - name: host_router",
                  f"              config: {{ virtual_hosts: [{', '.join(vhosts)}] }}"]
    if routes is not None:
        lines += ["            - name: path_prefix_router",
                  f"              config: {{ routes: [{', '.join(routes)}] }}"]
    lines += ["            - name: router",
              f"              config: {{ response_timeout: {response_timeout} }}"]
    return "\n".join(lines) + "\n"


class HttpCase(ProxyTestCase):
    routes = None
    vhosts = None
    response_timeout = "60s"

    def setUp(self):
        super().setUp()
        self.up = start_http_upstream(self)
        self.admin, self.port = free_port(), free_port()
        routes = self.routes
        if routes is None and self.vhosts is None:
            routes = ["{ prefix: /, cluster: up }"]
        self.proxy = self.start_proxy(
            http_config(self.admin, self.port, self.up.port, routes=self.fmt(routes),
                        vhosts=self.fmt(self.vhosts), response_timeout=self.response_timeout),
            admin_port=self.admin)

    def fmt(self, items):
        if items is None:
            return None
        return [i.replace("UPPORT", str(self.up.port)) for i in items]

    def conn(self, timeout=10.0):
        s = self.client(self.port, timeout=timeout)
        return s, Reader(s)

    def request(self, target="/", host="h.test", method="GET", headers=(), body=None,
                sock=None, extra_raw=b""):
        """One request on a new connection (or `sock`); returns the Response."""
        s, r = sock if sock is not None else self.conn()
        return send_request(s, r, target, method=method, host=host, headers=headers, body=body,
                            extra_raw=extra_raw)

    def echo(self, *a, **kw):
        resp = self.request(*a, **kw)
        self.assertEqual(resp.status, 200, resp.body[:300])
        return resp.json()

    def up_requests(self):
        with self.up.lock:
            return list(self.up.results)

    def served_normally(self):
        resp = self.request("/after")
        self.assertEqual(resp.status, 200, resp.body[:300])


# ---------------------------------------------------------------------------------------------
# 1. Routing

class SeedRoutingTest(HttpCase):
    routes = ['{ name: users, host: admin.localhost, prefix: /users, cluster: up, strip_prefix: true }',
              '{ name: adm, host: admin.localhost, prefix: /, cluster: up }',
              '{ name: api, host: api.test, prefix: /v1, target: "http://127.0.0.1:UPPORT" }']

    def test_strip_prefix_and_query(self):
        self.assertEqual(self.echo("/users/42?x=1&y=2", host="admin.localhost")["target"],
                         "/42?x=1&y=2")
        self.assertEqual(self.echo("/users", host="admin.localhost")["target"], "/")
        self.assertEqual(self.echo("/users?q", host="admin.localhost")["target"], "/?q")

    def test_byte_prefix_matches_users2(self):
        # "/users" is a byte prefix of "/users2": stripped to "/2".
        self.assertEqual(self.echo("/users2", host="admin.localhost")["target"], "/2")

    def test_first_match_then_fallthrough_rule(self):
        self.assertEqual(self.echo("/other", host="admin.localhost")["target"], "/other")
        self.assertEqual(self.echo("/v1/x", host="api.test")["target"], "/v1/x")

    def test_host_normalization(self):
        for host in ("admin.localhost:8021", "ADMIN.LocalHost", "admin.localhost.",
                     "Admin.Localhost.:99"):
            self.assertEqual(self.echo("/users/7", host=host)["target"], "/7", host)

    def test_no_route_404(self):
        self.assertEqual(self.request("/v2", host="api.test").status, 404)
        self.assertEqual(self.request("/", host="nothing.test").status, 404)
        self.assertEqual(self.up_requests(), [])

    def test_dot_segments(self):
        self.assertEqual(self.echo("/a/../users/1", host="admin.localhost")["target"], "/1")
        self.assertEqual(self.echo("/x/./y/../z", host="admin.localhost")["target"], "/x/z")

    def test_climbing_above_root_400(self):
        resp = self.request("/../etc/passwd", host="admin.localhost")
        self.assertEqual(resp.status, 400)
        resp = self.request("/a/../../b", host="admin.localhost")
        self.assertEqual(resp.status, 400)
        self.assertEqual(self.up_requests(), [])


class SeedFormTest(ProxyTestCase):
    """The seed config shape (http_routes / http_config), two upstreams to tell rules apart."""

    def setUp(self):
        super().setUp()
        self.a = start_http_upstream(self)
        self.b = start_http_upstream(self)
        self.admin, self.port = free_port(wildcard=True), free_port(wildcard=True)
        config = f"""---
http_routes:
  - target: "http://127.0.0.1:{self.a.port}"
    host: "admin.localhost"
    path_prefix: "/users"
    strip_path_prefix: true
  - target: "http://127.0.0.1:{self.b.port}"
    host: "admin.localhost"
    path_prefix: "/"
  - target: "http://127.0.0.1:{self.b.port}"
    host: "localhost"
http_config:
  port: ":{self.port}"
  shutdown_timeout: "2s"
log_level: "info"
"""
        self.start_proxy(config, admin_port=self.admin,
                         env=proxy_env(INTERNAL_API_PORT=f":{self.admin}"))

    def get(self, target, host):
        s = self.client(self.port)
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        return read_response(Reader(s))

    def test_seed_rules(self):
        resp = self.get("/users/42?q=1", "admin.localhost")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.json()["target"], "/42?q=1")
        self.assertEqual(self.get("/users", "admin.localhost").json()["target"], "/")
        self.assertEqual(self.get("/users2", "admin.localhost").json()["target"], "/2")
        self.assertEqual(len(self.a.results), 3)
        resp = self.get("/payments/1", "Admin.Localhost:8021")
        self.assertEqual(resp.json()["target"], "/payments/1")
        self.assertEqual(self.get("/x", "localhost").json()["target"], "/x")
        self.assertEqual(len(self.b.results), 2)
        self.assertEqual(len(self.a.results), 3)
        self.assertEqual(self.get("/", "other.test").status, 404)


class HostRouterTest(HttpCase):
    vhosts = ['{ hosts: ["api.example.com", "*.api.example.com"], cluster: up }']

    def test_exact_and_wildcard(self):
        self.echo("/", host="api.example.com")
        self.echo("/", host="a.api.example.com")
        self.echo("/", host="a.b.api.example.com:80")
        self.assertEqual(self.request("/", host="example.com").status, 404)
        self.assertEqual(self.request("/", host="xapi.example.com").status, 404)
        self.assertEqual(len(self.up_requests()), 3)


# ---------------------------------------------------------------------------------------------
# 2. Forwarding

class ForwardingTest(HttpCase):
    routes = ['{ host: keep.test, prefix: /, cluster: up, preserve_host: true }',
              '{ prefix: /, target: "http://127.0.0.1:UPPORT" }']

    def test_host_is_target_authority(self):
        got = self.echo("/", host="client.test")
        self.assertEqual(header_values(got, "Host"), [f"127.0.0.1:{self.up.port}"])

    def test_preserve_host(self):
        got = self.echo("/", host="keep.test")
        self.assertEqual(header_values(got, "Host"), ["keep.test"])

    def test_x_forwarded(self):
        got = self.echo("/", host="client.test:8021", headers=[("X-Forwarded-For", "1.2.3.4")])
        xff = header_values(got, "X-Forwarded-For")
        self.assertEqual(len(xff), 1, got["headers"])
        self.assertEqual([p.strip() for p in xff[0].split(",")], ["1.2.3.4", "127.0.0.1"])
        self.assertEqual(header_values(got, "X-Forwarded-Proto"), ["http"])
        self.assertEqual(header_values(got, "X-Forwarded-Host"), ["client.test:8021"])
        got = self.echo("/", host="client.test")
        self.assertEqual(header_values(got, "X-Forwarded-For"), ["127.0.0.1"])

    def test_hop_by_hop_removed_request(self):
        got = self.echo("/", headers=[("Connection", "keep-alive, X-Secret"), ("X-Secret", "s"),
                                      ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
                                      ("Upgrade", "foo"), ("Proxy-Connection", "x"),
                                      ("X-Keep", "yes")])
        names = {k.lower() for k, _ in got["headers"]}
        for h in ("x-secret", "keep-alive", "te", "upgrade", "proxy-connection"):
            self.assertNotIn(h, names, got["headers"])
        for v in header_values(got, "Connection"):
            self.assertNotIn("x-secret", v.lower())
        self.assertEqual(header_values(got, "X-Keep"), ["yes"])

    def test_hop_by_hop_removed_response(self):
        resp = self.request("/__hop")
        self.assertEqual(resp.status, 200)
        names = {k.lower() for k, _ in resp.headers}
        self.assertIn("x-up", names)
        for h in ("x-drop", "keep-alive", "upgrade"):
            self.assertNotIn(h, names, resp.headers)
        conn = (resp.header("Connection") or "").lower()
        self.assertNotIn("x-drop", conn)

    def test_response_headers_passed_through(self):
        resp = self.request("/")
        self.assertEqual(resp.header("X-Up"), "yes")
        self.assertEqual(resp.header("Content-Type"), "application/json")


# ---------------------------------------------------------------------------------------------
# 3. Keep-alive

class KeepAliveTest(HttpCase):
    def test_several_requests_one_connection_and_upstream_reuse(self):
        c = self.conn()
        for i in range(5):
            self.assertEqual(self.echo(f"/k{i}", sock=c)["target"], f"/k{i}")
        self.assertEqual(self.up.accepted, 1, "upstream connections for 5 sequential requests")

    def test_sequential_new_client_connections_reuse_upstream(self):
        # Both workers may hold a pooled connection: at most one each.
        for i in range(6):
            self.echo(f"/n{i}")
        self.assertLessEqual(self.up.accepted, 2)

    def test_connection_close_from_client(self):
        s, r = self.conn()
        resp = self.request("/", headers=[("Connection", "close")], sock=(s, r))
        self.assertEqual(resp.status, 200)
        rest, _ = recv_until_eof(s, timeout=3)
        self.assertEqual(rest + bytes(r.buf), b"")

    def test_http10(self):
        s, r = self.conn()
        s.sendall(b"GET /old HTTP/1.0\r\nHost: h.test\r\n\r\n")
        resp = read_response(r)
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.json()["target"], "/old")
        rest, _ = recv_until_eof(s, timeout=3)
        self.assertEqual(rest + bytes(r.buf), b"")

    def test_pipelining(self):
        s, r = self.conn()
        s.sendall(b"".join(b"GET /p%d HTTP/1.1\r\nHost: h.test\r\n\r\n" % i for i in range(3)))
        for i in range(3):
            resp = read_response(r)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.json()["target"], f"/p{i}")


# ---------------------------------------------------------------------------------------------
# 4. Bodies

class BodiesTest(HttpCase):
    def test_4mib_content_length_request_body(self):
        body = os.urandom(4 * MiB)
        got = self.echo("/", method="POST", body=body)
        self.assertEqual((got["body_len"], got["body_sha"]),
                         (len(body), hashlib.sha256(body).hexdigest()))

    def test_content_length_request_body(self):
        body = os.urandom(100000)
        got = self.echo("/", method="POST", body=body)
        self.assertEqual((got["body_len"], got["body_sha"]),
                         (len(body), hashlib.sha256(body).hexdigest()))

    def test_chunked_request_body(self):
        body = os.urandom(70000)
        s, r = self.conn()
        raw = b"POST /c HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(body), 9000):
            piece = body[i:i + 9000]
            raw += b"%x\r\n" % len(piece) + piece + b"\r\n"
        s.sendall(raw + b"0\r\n\r\n")
        resp = read_response(r)
        self.assertEqual(resp.status, 200)
        got = resp.json()
        self.assertEqual((got["body_len"], got["body_sha"]),
                         (len(body), hashlib.sha256(body).hexdigest()))

    def test_response_framings(self):
        c = self.conn()
        for target in ("/__chunked", "/plain"):
            resp = self.request(target, sock=c)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.json()["target"], target)
        resp = self.request("/__close")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.json()["target"], "/__close")

    def test_head_204_304_without_body(self):
        c = self.conn()
        resp = self.request("/h", method="HEAD", sock=c)
        self.assertEqual(resp.status, 200)
        resp = self.request("/__204", sock=c)
        self.assertEqual(resp.status, 204)
        resp = self.request("/__304", sock=c)
        self.assertEqual(resp.status, 304)
        # If any of those had a body, this response would be garbled.
        self.assertEqual(self.echo("/next", sock=c)["target"], "/next")


class LargeBodiesTest(HttpCase):
    SIZE = 100 * MiB

    def test_100mib_upload(self):
        block = pattern_block()
        s, r = self.conn(timeout=10)
        rss0 = self.proxy.rss_kib()
        s.sendall(b"POST /up HTTP/1.1\r\nHost: h.test\r\nContent-Length: %d\r\n\r\n" % self.SIZE)
        digest = hashlib.sha256()
        view = memoryview(block)
        sent, peak = 0, rss0
        while sent < self.SIZE:
            off = sent % len(block)
            k = min(len(block) - off, self.SIZE - sent, 4 * MiB)
            s.sendall(view[off:off + k])
            digest.update(view[off:off + k])
            sent += k
            peak = max(peak, self.proxy.rss_kib())
        resp = read_response(r)
        self.assertEqual(resp.status, 200)
        got = resp.json()
        self.assertEqual((got["body_len"], got["body_sha"]), (self.SIZE, digest.hexdigest()))
        note(f"upload RSS growth {(peak - rss0) / 1024:.1f} MiB")
        self.assertLessEqual(peak - rss0, 16 * 1024)

    def test_100mib_download_hash_and_rss(self):
        s, r = self.conn(timeout=60)
        rss0 = self.proxy.rss_kib()
        peak = [rss0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], self.proxy.rss_kib())
                except (OSError, RuntimeError):
                    return
                time.sleep(0.01)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        try:
            s.sendall(b"GET /__big/%d HTTP/1.1\r\nHost: h.test\r\n\r\n" % self.SIZE)
            line, headers = read_head(r)
            self.assertIn(" 200 ", line)
            self.assertEqual([str(self.SIZE)],
                             [v for k, v in headers if k.lower() == "content-length"])
            got = hashlib.sha256()
            r.exact(self.SIZE, got.update)
        finally:
            done.set()
            t.join(5)
        self.assertEqual(got.hexdigest(), big_body_sha256(self.SIZE))
        note(f"download RSS growth {(peak[0] - rss0) / 1024:.1f} MiB")
        self.assertLessEqual(peak[0] - rss0, 16 * 1024)

    def test_slow_reader_throttles_upstream(self):
        s = self.client(self.port, timeout=30, rcvbuf=64 * 1024)
        s.sendall(b"GET /__big/%d HTTP/1.1\r\nHost: h.test\r\n\r\n" % self.SIZE)
        # Do not read: the upstream must stall far below 100 MiB.
        time.sleep(2.0)
        first = self.up.big_sent
        time.sleep(1.0)
        second = self.up.big_sent
        note(f"upstream sent {second} bytes to a non-reading client")
        self.assertLess(second, 40 * MiB)
        self.assertEqual(first, second, "upstream still sending to a client that does not read")


# ---------------------------------------------------------------------------------------------
# 5. Upstream errors

class UpstreamErrorsTest(HttpCase):
    response_timeout = "500ms"

    def setUp(self):
        self.dead_port = free_port()
        # A listener with a full accept queue: Linux drops further SYNs, so connects time out.
        self.full = socket.socket()
        self.addCleanup(self.full.close)
        self.full.bind(("127.0.0.1", 0))
        self.full.listen(0)
        self.full_port = self.full.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", self.full_port))
            self.fillers.append(f)
            self.addCleanup(f.close)
        super().setUp()

    @property
    def routes(self):
        return ['{ host: dead.test, prefix: /, target: "http://127.0.0.1:%d" }' % self.dead_port,
                '{ host: nx.test, prefix: /, target: "http://does-not-exist.invalid:80" }',
                '{ host: slow.test, prefix: /, target: "http://127.0.0.1:%d" }' % self.full_port,
                '{ prefix: /, cluster: up }']

    def check(self, target, status, host="h.test"):
        resp = self.request(target, host=host)
        self.assertEqual(resp.status, status, resp.body[:300])
        self.served_normally()
        return resp

    def test_refused_502(self):
        self.check("/", 502, host="dead.test")

    def test_response_timeout_504(self):
        start = time.monotonic()
        self.check("/__hang", 504)
        self.assertLess(time.monotonic() - start, 5)

    def test_connect_timeout_504(self):
        probe = socket.socket()
        probe.settimeout(1.5)
        try:
            probe.connect(("127.0.0.1", self.full_port))
            self.skipTest("this kernel completed a connect to a full accept queue")
        except (TimeoutError, socket.timeout):
            pass
        finally:
            probe.close()
        start = time.monotonic()
        self.check("/", 504, host="slow.test")  # cluster connect_timeout is 1s
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 0.5)
        self.assertLess(elapsed, 5)

    def test_reset_502(self):
        self.check("/__reset", 502)

    def test_garbage_status_502(self):
        resp = self.check("/__garbage", 502)
        self.assertNotIn(b"HELLO", resp.body)

    def test_header_without_colon_502(self):
        self.check("/__nocolon", 502)

    def test_cl_and_chunked_502(self):
        resp = self.check("/__clte", 502)
        self.assertNotIn(b"hello", resp.body)

    def test_cut_mid_body_closes_client(self):
        s, r = self.conn()
        s.sendall(b"GET /__cut HTTP/1.1\r\nHost: h.test\r\n\r\n")
        with self.assertRaises(EOFError):
            read_response(r)
        self.served_normally()

    def test_unresolvable_503(self):
        self.check("/", 503, host="nx.test")


# ---------------------------------------------------------------------------------------------
# 7. Metrics

class MetricsTest(HttpCase):
    routes = ['{ name: users, prefix: /users, cluster: up, strip_prefix: true }']

    def test_counters_after_traffic(self):
        c = self.conn()
        for i in range(4):
            self.echo(f"/users/{i}", sock=c)
        self.assertEqual(self.request("/nope").status, 404)
        m = self.wait_metric(self.admin, lambda m: m.value("http_request_total_count") == 5,
                             what="http_request_total_count == 5")
        self.assertIsNotNone(m.value("http_request_time_avg_milliseconds"), m.text)
        self.assertEqual(m.value("proxy_http_requests_total", route="users", cluster="up",
                                 status_class="2xx"), 4, m.text)
        self.assertEqual(m.value("proxy_http_requests_total", listener="web"), 5, m.text)
        self.assertEqual(m.types.get("proxy_http_request_duration_seconds"), "histogram")


# ---------------------------------------------------------------------------------------------
# 8. SIGTERM

class ShutdownTest(HttpCase):
    def test_idle_keepalive_closed_promptly(self):
        c = self.conn()
        self.echo("/", sock=c)
        start = time.monotonic()
        self.proxy.signal(signal.SIGTERM)
        rest, _ = recv_until_eof(c[0], timeout=1.5)
        self.assertEqual(rest, b"")
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual(self.proxy.wait(5), 0)

    def test_in_flight_gets_connection_close(self):
        s, r = self.conn()
        s.sendall(b"GET /__delay/1 HTTP/1.1\r\nHost: h.test\r\n\r\n")
        self.assertTrue(sleep_until(lambda: len(self.up_requests()) == 1, 3))
        self.proxy.signal(signal.SIGTERM)
        resp = read_response(r)
        self.assertEqual(resp.status, 200)
        self.assertEqual((resp.header("Connection") or "").lower(), "close")
        self.assertEqual(self.proxy.wait(5), 0)


if __name__ == "__main__":
    unittest.main()
