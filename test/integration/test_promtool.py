"""`promtool check metrics` (Prometheus's own parser and linter, /usr/bin/promtool from
Debian's `prometheus`, installed by tools/setup) reads /metrics after HTTP and TCP traffic,
errors included: no parse error, and no lint complaint except about the Go program's four
names, which stay as they are for compatibility (docs/behaviour.md §5)."""

import os
import socket
import subprocess
import unittest

from http_upstream import Reader, read_response, start_http_upstream
from proxy_harness import ProxyTestCase, echo_handler, free_port, http_get, recv_exact

PROMTOOL = "/usr/bin/promtool"
LEGACY = ("tcp_connections_active_count", "tcp_connections_total_count",
          "http_request_time_avg_milliseconds", "http_request_total_count")


def request(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        return read_response(Reader(s))


def lint(text):
    """(exit code, complaint lines) of promtool check metrics on `text`."""
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                            capture_output=True, timeout=30)
    out = (result.stdout + result.stderr).decode()
    return result.returncode, [line for line in out.splitlines() if line.strip()]


@unittest.skipUnless(os.access(PROMTOOL, os.X_OK), "promtool missing: run tools/setup")
class PromtoolTest(ProxyTestCase):
    def test_metrics_after_traffic_pass_promtool(self):
        up = start_http_upstream(self)
        echo = self.start_server(echo_handler)
        closed = free_port()  # nothing listens: connect failures
        admin, web, tcp, dead = free_port(), free_port(), free_port(), free_port()
        config = "\n".join([
            f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 2", "shutdown_timeout: 2s",
            "clusters:",
            f'  - {{ name: up, endpoints: ["127.0.0.1:{up.port}"] }}',
            f'  - {{ name: echo, endpoints: ["127.0.0.1:{echo.port}"] }}',
            f'  - {{ name: closed, endpoints: ["127.0.0.1:{closed}"], connect_timeout: 1s }}',
            "listeners:",
            "  - name: web", f'    address: "127.0.0.1:{web}"', "    filters:",
            "      - name: stats",
            "      - name: http_connection_manager", "        config:",
            "          http_filters:",
            "            - name: stats",
            "            - name: path_prefix_router",
            "              config:",
            "                routes:",
            "                  - { name: ok, prefix: /ok, cluster: up }",
            "                  - { name: down, prefix: /down, cluster: closed }",
            "            - name: router",
            "  - name: tcp", f'    address: "127.0.0.1:{tcp}"', "    filters:",
            "      - { name: stats }", "      - { name: tcp_proxy, config: { cluster: echo } }",
            "  - name: dead", f'    address: "127.0.0.1:{dead}"', "    filters:",
            "      - { name: stats }", "      - { name: tcp_proxy, config: { cluster: closed } }",
        ]) + "\n"
        self.start_proxy(config, admin_port=admin)

        self.assertEqual(request(web, b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n").status, 200)
        self.assertEqual(request(web, b"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n").status, 404)
        self.assertEqual(request(web, b"GET /down HTTP/1.1\r\nHost: a\r\n\r\n").status, 502)
        self.assertEqual(request(web, b"GET /../x HTTP/1.1\r\nHost: a\r\n\r\n").status, 400)
        self.assertEqual(request(web, b"GET / HTTP/1.1\r\n\r\n").status, 400)  # no Host
        with socket.create_connection(("127.0.0.1", tcp), timeout=5) as s:
            s.sendall(b"ping")
            self.assertEqual(recv_exact(s, 4), b"ping")
        with socket.create_connection(("127.0.0.1", dead), timeout=5) as s:
            s.settimeout(5)
            self.assertEqual(s.recv(16), b"")  # closed: the upstream refused

        metrics = self.wait_metric(
            admin, lambda m: m.value("proxy_listener_connection_failures_total", listener="dead",
                                     cause="upstream_connect_refused") == 1
            and m.value("proxy_http_requests_total", listener="web") == 4,
            what="the refused TCP connection and the 4 routed requests counted")
        # The manager counted who answered: router's 404 and 502, path_prefix_router's 400.
        local = {f: metrics.value("proxy_filter_local_replies_total", listener="web",
                                  chain="http", filter=f)
                 for f in ("stats", "path_prefix_router", "router")}
        self.assertEqual(local, {"stats": 0, "path_prefix_router": 1, "router": 2})
        self.assertEqual(metrics.value("proxy_filter_invocations_total", listener="web",
                                       chain="http", filter="stats"), 4)  # no Host: codec
        self.assertEqual(metrics.value("proxy_filter_invocations_total", listener="web",
                                       chain="http", filter="router"), 3)
        self.assertEqual(metrics.value("proxy_filter_invocations_total", listener="dead",
                                       chain="network", filter="tcp_proxy"), 1)
        self.assertEqual(metrics.value("proxy_http_request_failures_total", listener="web",
                                       cause="upstream_connect_refused"), 1)
        self.assertEqual(metrics.value("proxy_http_request_failures_total", listener="web",
                                       cause="no_route"), 1)
        # Every family this issue completes is there, so the lint covers them.
        for family in ("proxy_filter_invocations_total", "proxy_filter_local_replies_total",
                       "proxy_http_request_failures_total",
                       "proxy_http_requests_total", "proxy_http_request_duration_seconds",
                       "proxy_http_requests_rejected_total",
                       "proxy_listener_upstream_connect_failures_total",
                       "process_cpu_seconds_total", "process_resident_memory_bytes",
                       "process_open_fds", "process_start_time_seconds") + LEGACY:
            self.assertIn(family, metrics.types, family)

        code, complaints = lint(metrics.text)
        others = [line for line in complaints if not any(name in line for name in LEGACY)]
        self.assertEqual(others, [], "promtool complaints:\n" + "\n".join(complaints))
        self.assertFalse(any("error while linting" in line or "parsing error" in line
                             for line in complaints), complaints)
        # The legacy names are what the linter would complain about, so it did run.
        self.assertEqual(code, 3 if complaints else 0, complaints)
        self.assertTrue(complaints, "promtool said nothing about the legacy names")

    def test_promtool_catches_what_it_should(self):
        # The check is only as good as promtool's verdicts: a bad name and bad text fail.
        code, complaints = lint("# HELP bad_count x\n# TYPE bad_count counter\nbad_count 1\n")
        self.assertNotEqual(code, 0)
        self.assertTrue(any("bad_count" in line for line in complaints), complaints)
        code, complaints = lint("not a metric line at all\n")
        self.assertNotEqual(code, 0)
        self.assertTrue(any("pars" in line for line in complaints), complaints)


if __name__ == "__main__":
    unittest.main()
