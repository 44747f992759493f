"""The admin API with real clients (curl): /metrics, /ready, 404, INTERNAL_API_PORT, port 0."""

import os
import socket
import subprocess
import time
import unittest

from proxy_harness import (ProxyTestCase, canonical_config, connection_refused, curl,
                           echo_handler, free_port, http_get, proxy_env, recv_exact,
                           recv_until_eof, tcp_config)

LEGACY_TYPES = {"tcp_connections_active_count": "gauge", "tcp_connections_total_count": "counter"}


def exchange(port, payload):
    """One connection: send, read the echo, half-close, wait for EOF. Returns bytes moved."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        got = recv_exact(s, len(payload))
        assert got == payload
        s.shutdown(socket.SHUT_WR)
        rest, _ = recv_until_eof(s, timeout=5)
        assert rest == b""
    return len(payload)


class MetricsAfterTrafficTest(ProxyTestCase):
    N = 25

    def setUp(self):
        super().setUp()
        self.upstream = self.start_server(echo_handler)
        self.proxy, self.port, self.admin = self.start_tcp_proxy([self.upstream.port])

    def test_counts_after_n_connections(self):
        received = 0
        for i in range(self.N):
            received += exchange(self.port, b"payload %d " % i + os.urandom(100 + i * 37))
        metrics = self.wait_metric(
            self.admin, lambda m: m.value("tcp_connections_active_count") == 0
            and m.value("tcp_connections_total_count") == self.N,
            what=f"active 0 and total {self.N}", use_curl=True)
        # Unlabelled legacy names, with # TYPE and # HELP.
        for name, kind in LEGACY_TYPES.items():
            self.assertEqual(metrics.types.get(name), kind, f"# TYPE of {name}")
            self.assertTrue(metrics.helps.get(name), f"# HELP of {name}")
            found = metrics.find(name)
            self.assertEqual(len(found), 1, f"{name}: {found}")
            self.assertEqual(found[0][0], {}, f"{name} must be unlabelled")
        self.assertIn(f"\ntcp_connections_total_count {self.N}\n", "\n" + metrics.text)
        self.assertIn("\ntcp_connections_active_count 0\n", "\n" + metrics.text)
        # Labelled families.
        self.assertEqual(metrics.value("proxy_listener_connections_total", listener="tcp"), self.N)
        self.assertEqual(metrics.value("proxy_listener_connections_active", listener="tcp"), 0)
        self.assertEqual(metrics.value("proxy_listener_received_bytes_total", listener="tcp"),
                         received)
        self.assertEqual(metrics.value("proxy_listener_sent_bytes_total", listener="tcp"),
                         received)
        for family in ("proxy_listener_connections_total", "proxy_listener_connections_active",
                       "proxy_listener_received_bytes_total", "proxy_listener_sent_bytes_total",
                       "proxy_listener_upstream_connect_failures_total",
                       "proxy_listener_connections_rejected_total"):
            self.assertIn(family, metrics.types, f"# TYPE of {family}")
            self.assertTrue(metrics.find(family, listener="tcp"), f"{family}{{listener=\"tcp\"}}")
        self.assertEqual(metrics.value("proxy_listener_upstream_connect_failures_total",
                                       listener="tcp"), 0)
        self.assertEqual(metrics.value("proxy_listener_connections_rejected_total",
                                       listener="tcp"), 0)
        self.assertIn("proxy_listener_connection_failures_total", metrics.types)
        self.assertTrue([n for n in metrics.names() if n.startswith("process_")],
                        "no process_* metrics")

    def test_active_gauge_while_open(self):
        sockets = []
        for _ in range(3):
            s = self.client(self.port)
            s.sendall(b"hi")
            self.assertEqual(recv_exact(s, 2), b"hi")
            sockets.append(s)
        self.wait_metric(self.admin, lambda m: m.value("tcp_connections_active_count") == 3
                         and m.value("proxy_listener_connections_active", listener="tcp") == 3,
                         what="3 active connections", use_curl=True)
        for s in sockets:
            s.close()
        self.wait_metric(self.admin, lambda m: m.value("tcp_connections_active_count") == 0
                         and m.value("tcp_connections_total_count") == 3,
                         what="0 active, 3 total", use_curl=True)

    def test_ready_and_unknown_path(self):
        status, body, rc = curl(f"http://127.0.0.1:{self.admin}/ready")
        self.assertEqual((rc, status), (0, 200))
        self.assertEqual(body.strip(), "ready")
        status, body, rc = curl(f"http://127.0.0.1:{self.admin}/no/such/path")
        self.assertEqual((rc, status), (0, 404), body)
        status, body, rc = curl(f"http://127.0.0.1:{self.admin}/metrics")
        self.assertEqual((rc, status), (0, 200))
        self.assertIn("# TYPE tcp_connections_total_count counter", body)

    def test_metrics_content_type(self):
        result = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "5", "-o",
                                 "/dev/null", "-D", "-", f"http://127.0.0.1:{self.admin}/metrics"],
                                capture_output=True, timeout=10)
        headers = result.stdout.decode("latin-1").lower()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("content-type: text/plain", headers)


class MetricsPerListenerTest(ProxyTestCase):
    def test_listeners_counted_separately(self):
        upstream = self.start_server(echo_handler)
        admin = free_port()
        p1, p2, p3 = free_port(), free_port(), free_port()
        config = canonical_config(admin, [
            {"name": "alpha", "address": f"127.0.0.1:{p1}", "cluster": "echo"},
            {"name": "beta", "address": f"127.0.0.1:{p2}", "cluster": "echo"},
            {"name": "nostats", "address": f"127.0.0.1:{p3}", "cluster": "echo", "stats": False},
        ], [("echo", [f"127.0.0.1:{upstream.port}"])])
        self.start_proxy(config, admin_port=admin)
        for i in range(3):
            exchange(p1, b"a" * 10)
        for i in range(5):
            exchange(p2, b"b" * 20)
        for i in range(2):
            exchange(p3, b"c" * 30)
        metrics = self.wait_metric(
            admin, lambda m: m.value("proxy_listener_connections_total", listener="beta") == 5
            and m.value("proxy_listener_connections_active", listener="beta") == 0
            and m.value("proxy_listener_connections_active", listener="alpha") == 0,
            what="beta total 5", use_curl=True)
        self.assertEqual(metrics.value("proxy_listener_connections_total", listener="alpha"), 3)
        self.assertEqual(metrics.value("proxy_listener_received_bytes_total", listener="alpha"), 30)
        self.assertEqual(metrics.value("proxy_listener_received_bytes_total", listener="beta"), 100)
        self.assertEqual(metrics.value("proxy_listener_sent_bytes_total", listener="beta"), 100)
        # A chain without `stats` adds nothing to the traffic families (docs/behaviour.md §5).
        self.assertIn(metrics.value("proxy_listener_connections_total", listener="nostats"),
                      (None, 0.0))
        self.assertIn(metrics.value("proxy_listener_received_bytes_total", listener="nostats"),
                      (None, 0.0))
        # The legacy counters cover the tcp_proxy listeners whose traffic is counted.
        self.assertEqual(metrics.value("tcp_connections_total_count"), 8, metrics.text)


class ConnectionLimitTest(ProxyTestCase):
    def test_over_max_connections_closed_and_counted(self):
        upstream = self.start_server(echo_handler)
        admin, port = free_port(), free_port()
        config = tcp_config(admin, port, [upstream.port], max_connections=2)
        self.start_proxy(config, admin_port=admin, workers=1)
        a, b = self.client(port), self.client(port)
        for s in (a, b):
            s.sendall(b"ok")
            self.assertEqual(recv_exact(s, 2), b"ok")
        c = self.client(port)
        start = time.monotonic()
        try:
            c.sendall(b"over")
        except OSError:
            pass
        data, _ = recv_until_eof(c, timeout=2)
        self.assertEqual(data, b"", "the connection over the limit was served")
        self.assertLess(time.monotonic() - start, 2)
        self.wait_metric(admin, lambda m: m.value("proxy_listener_connections_rejected_total",
                                                  listener="tcp") == 1,
                         what="connections_rejected_total == 1")
        a.close()
        self.wait_metric(admin, lambda m: m.value("proxy_listener_connections_active",
                                                  listener="tcp") == 1,
                         what="one active connection after closing one")
        d = self.client(port)
        d.sendall(b"again")
        self.assertEqual(recv_exact(d, 5), b"again")


class AdminAddressTest(ProxyTestCase):
    def test_internal_api_port_overrides_host_port_form(self):
        upstream = self.start_server(echo_handler)
        configured, override, port = free_port(), free_port(), free_port()
        config = tcp_config(configured, port, [upstream.port])
        self.start_proxy(config, admin_port=override,
                         env=proxy_env(INTERNAL_API_PORT=f"127.0.0.1:{override}"))
        status, body, rc = curl(f"http://127.0.0.1:{override}/ready")
        self.assertEqual((rc, status), (0, 200))
        self.assertTrue(connection_refused(configured),
                        "the configured admin address is still served despite INTERNAL_API_PORT")

    def test_internal_api_port_overrides_port_only_form(self):
        upstream = self.start_server(echo_handler)
        configured, port = free_port(), free_port()
        override = free_port(wildcard=True)
        config = tcp_config(configured, port, [upstream.port])
        self.start_proxy(config, admin_port=override,
                         env=proxy_env(INTERNAL_API_PORT=f":{override}"))
        status, body, rc = curl(f"http://127.0.0.1:{override}/metrics")
        self.assertEqual((rc, status), (0, 200))
        self.assertIn("tcp_connections_total_count", body)
        self.assertTrue(connection_refused(configured))

    def test_port_zero_listener_and_admin(self):
        upstream = self.start_server(echo_handler)
        config = canonical_config(0, [{"name": "tcp", "address": "127.0.0.1:0",
                                       "cluster": "echo"}],
                                  [("echo", [f"127.0.0.1:{upstream.port}"])])
        proxy = self.start_proxy(config, wait=False)
        listeners, admin = proxy.bound_ports()
        self.assertIn("tcp", listeners, proxy.stderr_text())
        self.assertNotEqual(listeners["tcp"], 0)
        self.assertNotEqual(admin, 0)
        proxy.wait_ready(admin)
        s = self.client(listeners["tcp"])
        s.sendall(b"zero")
        self.assertEqual(recv_exact(s, 4), b"zero")
        status, _ = http_get(admin, "/ready")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
