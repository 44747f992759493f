"""GET /route, /healthz and /ready of the admin API against the real proxy: /route's answers
must agree with what real requests through the proxy do (which upstream got them and which
path it saw), for many (host, path) pairs."""

import http.client
import json
import signal
import socket
import time
import urllib.parse
import unittest

from http_upstream import Reader, read_response, start_http_upstream
from proxy_harness import ProxyTestCase, curl, free_port, http_get, note, sleep_until

# Several router filters, wildcard and exact hosts, host-bound and strip_prefix rules.
HTTP_FILTERS = """\
- name: http_connection_manager
  config:
    http_filters:
      - name: stats
      - name: host_router
        config:
          virtual_hosts:
            - { name: api_vhost, hosts: [api.example.com], cluster: api }
            - { name: static_vhost, hosts: ["*.static.example.com"], cluster: static }
      - name: path_prefix_router
        config:
          routes:
            - { name: users, prefix: /users/, cluster: users, strip_prefix: true }
            - { name: admin_panel, host: admin.example.com, prefix: /admin, cluster: api }
            - { name: v1, prefix: /v1, cluster: static, strip_prefix: true }
            - { name: www, host: www.example.com, prefix: /, cluster: www }
      - name: router
"""

HOSTS = ["api.example.com", "API.Example.COM:8080", "img.static.example.com",
         "a.b.static.example.com.", "static.example.com", "www.example.com.",
         "admin.example.com", "Admin.Example.com:80", "elsewhere.org"]
PATHS = ["/users/42?x=1", "/users", "/users/", "/users2", "/v1/items?q=a&b=c", "/v1",
         "/admin/panel", "/a/../users/7", "/users/./8/../9", "/../etc/passwd", "/", "/nothing",
         "/v1/../v1/x"]


def raw_request(port, host, target, timeout=5.0):
    """One HTTP/1.1 request with exactly this target (no client-side normalization)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                  .encode())
        return read_response(Reader(s))


def ask_route(admin, **params):
    """(status, decoded JSON) of GET /route with these parameters, percent-encoded."""
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="")
    conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
    try:
        conn.request("GET", "/route?" + query)
        response = conn.getresponse()
        body = response.read().decode()
        assert response.getheader("Content-Type") == "application/json", response.getheaders()
        return response.status, json.loads(body)
    finally:
        conn.close()


class RouteAgreesWithTrafficTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.upstreams = {name: start_http_upstream(self) for name in ("api", "static", "users",
                                                                       "www")}
        self.admin, self.port, self.second = free_port(), free_port(), free_port()
        filters = HTTP_FILTERS.splitlines()
        config = "\n".join([
            f'admin: {{ address: "127.0.0.1:{self.admin}" }}', "workers: 2",
            "shutdown_timeout: 2s", "clusters:"] + [
            f'  - {{ name: {name}, endpoints: ["127.0.0.1:{up.port}"] }}'
            for name, up in self.upstreams.items()] + [
            "listeners:", "  - name: web", f'    address: "127.0.0.1:{self.port}"',
            "    filters:"] + ["      " + line for line in filters] + [
            "  - name: second", f'    address: "127.0.0.1:{self.second}"', "    filters:",
            "      - name: http_connection_manager",
            "        config: { http_filters: [{ name: router }] }"]) + "\n"
        self.proxy = self.start_proxy(config, admin_port=self.admin)

    def who_got(self, before):
        """The upstream whose request count grew since `before`, and the request it got."""
        grown = [(name, up.results[-1]) for name, up in self.upstreams.items()
                 if len(up.results) > before[name]]
        self.assertLessEqual(len(grown), 1, grown)
        return grown[0] if grown else (None, None)

    def test_route_answers_match_real_requests(self):
        compared = {"routed": 0, "no_route": 0, "bad_path": 0, "strip": 0, "dots": 0}
        for host in HOSTS:
            for path in PATHS:
                status, answer = ask_route(self.admin, listener="web", host=host, path=path)
                before = {name: len(up.results) for name, up in self.upstreams.items()}
                response = raw_request(self.port, host, path)
                # The upstream thread records the request before it answers.
                upstream, request = self.who_got(before)
                where = f"host={host!r} path={path!r}: /route said {answer}"
                self.assertEqual(answer["listener"], "web")
                if answer["matched"]:
                    self.assertEqual(status, 200, where)
                    self.assertEqual(response.status, 200, where)
                    self.assertEqual(upstream, answer["cluster"], where)
                    self.assertEqual(request["target"], answer["rewritten_path"], where)
                    port = self.upstreams[upstream].port
                    self.assertEqual(answer["endpoints"],
                                     [{"host": "127.0.0.1", "port": port,
                                       "address": f"127.0.0.1:{port}",
                                       "addresses": [f"127.0.0.1:{port}"], "tls": False,
                                       "healthy": True}], where)
                    compared["routed"] += 1
                    if answer["route"] in ("users", "v1"):
                        compared["strip"] += 1
                    if "/." in path:
                        compared["dots"] += 1
                else:
                    self.assertEqual(status, 404, where)
                    self.assertIsNone(upstream, where)
                    self.assertEqual(response.status, answer["response_code"], where)
                    compared[answer["outcome"]] += 1
        note(f"/route agreed with traffic: {compared}")
        self.assertGreaterEqual(sum(compared[k] for k in ("routed", "no_route", "bad_path")), 30)
        for kind, count in compared.items():
            self.assertGreater(count, 0, f"no {kind} case compared: {compared}")

    def test_specific_answers(self):
        status, answer = ask_route(self.admin, listener="web", host="API.example.com:8080",
                                   path="/users/1")
        self.assertEqual(status, 200)
        self.assertEqual((answer["router"], answer["route"], answer["cluster"],
                          answer["normalized_host"], answer["rewritten_path"]),
                         ("host_router", "api_vhost", "api", "api.example.com", "/users/1"))
        status, answer = ask_route(self.admin, listener="web", host="x.org",
                                   path="/users/./a/../b?k=v")
        self.assertEqual((status, answer["route"], answer["rewritten_path"]),
                         (200, "users", "/b?k=v"))
        status, answer = ask_route(self.admin, listener="second", host="x.org", path="/")
        self.assertEqual((status, answer["outcome"], answer["response_code"]),
                         (404, "no_route", 404))

    def test_bad_queries_get_400_with_a_message(self):
        for params, message in [
                ({"host": "a", "path": "/"}, "parameter \"listener\" is required"),
                ({"listener": "web", "path": "/"}, "missing parameter \"host\""),
                ({"listener": "web", "host": "a"}, "missing parameter \"path\""),
                ({"listener": "nope", "host": "a", "path": "/"}, "\"nope\" is not a listener"),
                ({"listener": "web", "host": "a", "path": "/", "x": "1"},
                 "unknown parameter \"x\"")]:
            status, answer = ask_route(self.admin, **params)
            self.assertEqual(status, 400, params)
            self.assertIn(message, answer["error"], params)

    def test_curl_example_from_the_readme(self):
        status, body, rc = curl(f"http://127.0.0.1:{self.admin}/route", extra=(
            "-G", "--data-urlencode", "listener=web", "--data-urlencode", "host=www.example.com",
            "--data-urlencode", "path=/users/42"))
        self.assertEqual((rc, status), (0, 200), body)
        self.assertEqual(json.loads(body)["rewritten_path"], "/42")


class HealthAndReadinessTest(ProxyTestCase):
    def test_healthz_stays_ok_while_ready_turns_503_during_drain(self):
        up = start_http_upstream(self)
        admin, port = free_port(), free_port()
        config = "\n".join([
            f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 1", "shutdown_timeout: 5s",
            "clusters:", f'  - {{ name: up, endpoints: ["127.0.0.1:{up.port}"] }}',
            "listeners:", "  - name: web", f'    address: "127.0.0.1:{port}"', "    filters:",
            "      - name: http_connection_manager", "        config:", "          http_filters:",
            "            - { name: path_prefix_router, config: { routes: [{ prefix: /, "
            "cluster: up }] } }",
            "            - name: router"]) + "\n"
        proxy = self.start_proxy(config, admin_port=admin)
        self.assertEqual(http_get(admin, "/healthz"), (200, "ok\n"))
        self.assertEqual(http_get(admin, "/ready"), (200, "ready\n"))
        # A request the upstream holds keeps the proxy draining after SIGTERM.
        s = self.client(port)
        s.sendall(b"GET /__hang HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(sleep_until(lambda: len(up.results) == 1, 5))
        proxy.signal(signal.SIGTERM)
        self.assertTrue(sleep_until(lambda: http_get(admin, "/ready")[0] == 503, 5),
                        "/ready did not turn 503 while draining")
        self.assertEqual(http_get(admin, "/ready"), (503, "not ready\n"))
        self.assertEqual(http_get(admin, "/healthz"), (200, "ok\n"))
        up.release.set()
        self.assertEqual(proxy.wait(10), 0)


if __name__ == "__main__":
    unittest.main()
