"""SIGTERM and SIGINT: stop accepting, let TCP connections finish within shutdown_timeout,
close the rest, exit 0. And the seed form's tcp section end to end."""

import signal
import socket
import time
import unittest

from proxy_harness import (ProxyTestCase, canonical_config, connection_refused, echo_handler,
                           free_port, proxy_env, recv_exact, recv_until_eof, sleep_until)


class ShutdownTest(ProxyTestCase):
    def start(self, shutdown_timeout):
        self.upstream = self.start_server(echo_handler)
        self.proxy, self.port, self.admin = self.start_tcp_proxy(
            [self.upstream.port], shutdown_timeout=shutdown_timeout)

    def open_exchanging(self):
        s = self.client(self.port)
        s.sendall(b"part one")
        self.assertEqual(recv_exact(s, 8), b"part one")
        return s

    def wait_refused(self, timeout=2.0):
        """Polls until new connections to the listener are refused; returns the seconds."""
        start = time.monotonic()
        ok = sleep_until(lambda: connection_refused(self.port, timeout=0.5), timeout)
        self.assertTrue(ok, f"new connections still accepted {timeout}s after the signal\n"
                            + self.proxy.describe())
        return time.monotonic() - start

    def drain(self, sig):
        self.start(shutdown_timeout="5s")
        s = self.open_exchanging()
        self.proxy.signal(sig)
        self.wait_refused()
        self.assertTrue(self.proxy.running(), "the proxy exited with a connection still open "
                                              "and shutdown_timeout not reached")
        # The open connection completes its exchange.
        s.sendall(b"part two")
        self.assertEqual(recv_exact(s, 8, timeout=3), b"part two",
                         "the open connection was not served during the drain")
        s.shutdown(socket.SHUT_WR)
        rest, _ = recv_until_eof(s, timeout=3)
        self.assertEqual(rest, b"")
        closed = time.monotonic()
        s.close()
        code = self.proxy.wait(timeout=3.0)
        self.assertEqual(code, 0, self.proxy.describe())
        self.assertLess(time.monotonic() - closed, 2.0,
                        "the proxy waited for shutdown_timeout although nothing was open")

    def cut(self, sig):
        self.start(shutdown_timeout="1s")
        s = self.open_exchanging()
        signalled = time.monotonic()
        self.proxy.signal(sig)
        self.wait_refused()
        code = self.proxy.wait(timeout=1.0 + 2.0)
        exited = time.monotonic() - signalled
        self.assertEqual(code, 0, self.proxy.describe())
        self.assertGreater(exited, 0.8, "exited before shutdown_timeout with a connection open")
        # The client's connection was closed by the proxy.
        data, _ = recv_until_eof(s, timeout=1.0)
        self.assertEqual(data, b"")
        self.assertTrue(sleep_until(lambda: any(r[0] == "eof" for r in self.upstream.results), 2),
                        "the upstream side was not closed")

    def test_sigterm_drain(self):
        self.drain(signal.SIGTERM)

    def test_sigint_drain(self):
        self.drain(signal.SIGINT)

    def test_sigterm_cuts_connection_at_shutdown_timeout(self):
        self.cut(signal.SIGTERM)

    def test_sigint_cuts_connection_at_shutdown_timeout(self):
        self.cut(signal.SIGINT)

    def test_idle_proxy_exits_promptly(self):
        self.start(shutdown_timeout="5s")
        s = self.open_exchanging()
        s.close()
        self.wait_metric(self.admin, lambda m: m.value("tcp_connections_active_count") == 0,
                         what="no active connection")
        start = time.monotonic()
        self.proxy.signal(signal.SIGTERM)
        self.assertEqual(self.proxy.wait(timeout=3.0), 0, self.proxy.describe())
        self.assertLess(time.monotonic() - start, 1.5)


class LargeConfigExitTest(ProxyTestCase):
    """10,000 virtual hosts, then SIGTERM: the process exits 0. The exit once freed POCO's
    loggers while its Application still used its own, a use after free that crashed only
    when the heap was busy (a config this size)."""

    def test_sigterm_with_ten_thousand_virtual_hosts_exits_zero(self):
        admin_port, listen_port = free_port(), free_port()
        hosts = [f'  - {{ name: site{i}, hosts: ["site{i}.test", "*.site{i}.test"], '
                 f'cluster: origin }}' for i in range(10000)]
        filters = ["- name: http_connection_manager",
                   "  config:",
                   "    http_filters:",
                   "      - name: host_router",
                   "        config:",
                   "          virtual_hosts:"]
        filters += ["          " + h for h in hosts]
        filters += ["      - name: router"]
        config = canonical_config(admin_port, [{"name": "web", "address": f"127.0.0.1:{listen_port}",
                                                "filters": filters}],
                                  [("origin", ["127.0.0.1:9"])], shutdown_timeout="1s")
        proxy = self.start_proxy(config, admin_port=admin_port)
        proxy.signal(signal.SIGTERM)
        self.assertEqual(proxy.wait(timeout=15.0), 0, proxy.describe())


class SeedFormTest(ProxyTestCase):
    def seed_config(self, tcp_port, target, http_port, shutdown_timeout="1s"):
        return f"""---
tcp:
  target: "{target}"
  port: ":{tcp_port}"

http_routes:
  - target: "http://127.0.0.1:{free_port()}"
    host: "localhost"
    path_prefix: "/api"
    strip_path_prefix: true

http_config:
  port: ":{http_port}"
  shutdown_timeout: "{shutdown_timeout}"

log_level: "log"
"""

    def run_seed(self, target_host):
        upstream = self.start_server(echo_handler)
        tcp_port, http_port = free_port(wildcard=True), free_port(wildcard=True)
        admin = free_port()
        config = self.seed_config(tcp_port, f"{target_host}:{upstream.port}", http_port)
        proxy = self.start_proxy(config, admin_port=admin,
                                 env=proxy_env(INTERNAL_API_PORT=f"127.0.0.1:{admin}"))
        for i in range(3):
            s = self.client(tcp_port)
            payload = b"seed %d" % i
            s.sendall(payload)
            self.assertEqual(recv_exact(s, len(payload)), payload)
            s.close()
        self.wait_metric(admin, lambda m: m.value("tcp_connections_total_count") == 3
                         and m.value("tcp_connections_active_count") == 0,
                         what="3 connections counted", use_curl=True)
        # The seed's http_config.shutdown_timeout (1s) bounds the drain.
        s = self.client(tcp_port)
        s.sendall(b"open")
        self.assertEqual(recv_exact(s, 4), b"open")
        signalled = time.monotonic()
        proxy.signal(signal.SIGTERM)
        self.assertEqual(proxy.wait(timeout=3.0), 0, proxy.describe())
        self.assertGreater(time.monotonic() - signalled, 0.8)

    def test_seed_tcp_section_proxies(self):
        self.run_seed("127.0.0.1")

    def test_seed_tcp_target_localhost(self):
        self.run_seed("localhost")


if __name__ == "__main__":
    unittest.main()
