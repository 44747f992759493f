"""The repository's config/config.yml: a TCP listener (8020) and an HTTP listener (8021), both
forwarding to the proxy's own admin API, so `curl http://localhost:8020/metrics` answers through
tcp_proxy and `curl http://localhost:8021/metrics` through the HTTP filter chain."""

import os
import shutil
import tempfile
import unittest

from proxy_harness import (SOURCE_DIR, Metrics, ProxyTestCase, curl, free_port, port_is_free,
                           proxy_env)

DEFAULT_CONFIG = os.path.join(SOURCE_DIR, "config", "config.yml")


def with_ports(text, tcp_port, admin_port, http_port):
    """The default config with 8020, 8021 and 42007 replaced (outside comments), all else kept."""
    out = []
    replaced = {"8020": 0, "8021": 0, "42007": 0}
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            replaced["8020"] += line.count(":8020")
            replaced["8021"] += line.count(":8021")
            replaced["42007"] += line.count(":42007")
            line = (line.replace(":8020", f":{tcp_port}").replace(":8021", f":{http_port}")
                    .replace(":42007", f":{admin_port}"))
        out.append(line)
    assert replaced == {"8020": 1, "8021": 1, "42007": 2}, \
        f"config/config.yml changed shape: expected :8020 and :8021 once, :42007 twice, {replaced}"
    return "".join(out)


class DefaultConfigTest(ProxyTestCase):
    def read_default(self):
        with open(DEFAULT_CONFIG) as f:
            return f.read()

    def check_metrics_through_tcp(self, tcp_port, admin_port):
        status, body, rc = curl(f"http://127.0.0.1:{tcp_port}/metrics")
        self.assertEqual((rc, status), (0, 200), f"curl through tcp_proxy: {body!r}")
        metrics = Metrics(body)
        self.assertEqual(metrics.types.get("tcp_connections_total_count"), "counter")
        # The curl connection itself is counted by the listener's stats filter.
        self.assertGreaterEqual(metrics.value("tcp_connections_total_count"), 1, body)
        self.assertGreaterEqual(metrics.value("tcp_connections_active_count"), 1, body)
        self.assertGreaterEqual(metrics.value("proxy_listener_connections_total",
                                              listener="tcp"), 1, body)
        # And the admin API answers directly too.
        status, body, rc = curl(f"http://127.0.0.1:{admin_port}/ready")
        self.assertEqual((rc, status), (0, 200))

    def check_metrics_through_http(self, http_port, admin_port):
        status, body, rc = curl(f"http://127.0.0.1:{http_port}/metrics")
        self.assertEqual((rc, status), (0, 200), f"curl through the HTTP listener: {body!r}")
        metrics = Metrics(body)
        self.assertEqual(metrics.types.get("http_request_total_count"), "counter", body)
        self.assertIsNotNone(metrics.value("http_request_time_avg_milliseconds"), body)
        # The request is counted once answered: a second look through the chain sees it.
        self.wait_metric(admin_port, lambda m: (m.value("http_request_total_count") or 0) >= 1
                         and (m.value("proxy_http_requests_total", listener="http",
                                      route="admin", cluster="admin_api",
                                      status_class="2xx") or 0) >= 1,
                         what="the HTTP request counted with route and cluster labels")

    def test_default_config_with_free_ports(self):
        tcp_port, admin_port = free_port(wildcard=True), free_port()
        http_port = free_port(wildcard=True)
        text = with_ports(self.read_default(), tcp_port, admin_port, http_port)
        self.start_proxy(text, admin_port=admin_port, workers=None)
        self.check_metrics_through_tcp(tcp_port, admin_port)
        self.check_metrics_through_http(http_port, admin_port)
        # Several in a row: each is a fresh connection through the listener.
        for _ in range(3):
            status, _, rc = curl(f"http://127.0.0.1:{tcp_port}/metrics")
            self.assertEqual((rc, status), (0, 200))
        self.wait_metric(admin_port, lambda m: m.value("tcp_connections_total_count") == 4
                         and m.value("tcp_connections_active_count") == 0,
                         what="4 connections counted, none active")

    def test_default_config_from_config_file_env(self):
        tcp_port, admin_port = free_port(wildcard=True), free_port()
        http_port = free_port(wildcard=True)
        workdir = tempfile.mkdtemp(prefix="proxy-it-default-")
        self.addCleanup(shutil.rmtree, workdir, True)
        path = os.path.join(workdir, "from-env.yml")
        with open(path, "w") as f:
            f.write(with_ports(self.read_default(), tcp_port, admin_port, http_port))
        # CONFIG_FILE instead of -c.
        self.start_proxy(None, admin_port=admin_port, env=proxy_env(CONFIG_FILE=path),
                         config_path=path, use_c_flag=False)
        self.check_metrics_through_tcp(tcp_port, admin_port)
        self.check_metrics_through_http(http_port, admin_port)

    def test_default_config_unchanged_when_ports_free(self):
        if not (port_is_free(8020) and port_is_free(8021)
                and port_is_free(42007, "127.0.0.1")):
            self.skipTest("ports 8020, 8021 or 42007 are in use on this machine")
        # No -c and no CONFIG_FILE: config/config.yml relative to the working directory.
        proxy = self.start_proxy(None, admin_port=42007, cwd=SOURCE_DIR, workers=None)
        proxy.wait_log(r"listener tcp on \S*:8020")
        proxy.wait_log(r"listener http on \S*:8021")
        self.check_metrics_through_tcp(8020, 42007)
        self.check_metrics_through_http(8021, 42007)


if __name__ == "__main__":
    unittest.main()
