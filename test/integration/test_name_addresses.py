"""Every address of a name: the proxy connects as curl, nginx and Go do when a name resolves
to several addresses and only some of them answer.

Each proxy here sees an /etc/hosts of its own (a private mount namespace, see
proxy_harness.with_private_hosts): a stock Debian 12 file, where `localhost` is 127.0.0.1 and
::1 and getaddrinfo() returns ::1 first, plus the test's names. Upstreams listen on one family
only, so the first address the proxy tries is refused and the next one answers; over HTTP,
https and tcp_proxy. Needs root (the namespace); skipped with the reason otherwise.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import tempfile
import time
import unittest

from http_upstream import Reader, send_request, start_http_upstream
from proxy_harness import (ProxyTestCase, canonical_config, free_port, http_get,
                           private_hosts_available, recv_exact, sleep_until)
from test_https_upstream import Pki, start_https_upstream

# getaddrinfo() sorts ::1 before 127.0.0.1 (RFC 6724), whatever the file's order.
DUAL = ["::1 dual.test", "127.0.0.1 dual.test"]
PKI = None


def setUpModule():
    global PKI
    if not private_hosts_available():
        raise unittest.SkipTest("needs root and unshare for a private /etc/hosts")
    PKI = Pki()
    PKI.dual = PKI.issue("dual", "DNS:dual.test,DNS:localhost")


def tearDownModule():
    if PKI is not None:
        PKI.close()


def http_listener(port, cluster):
    return {"name": "web", "address": f"127.0.0.1:{port}", "filters": [
        "- name: http_connection_manager",
        "  config:",
        "    http_filters:",
        "      - name: path_prefix_router",
        f"        config: {{ routes: [{{ prefix: /, cluster: {cluster} }}] }}",
        "      - name: router"]}


class NameAddressesTest(ProxyTestCase):
    def start_upstream(self, host, tls=False):
        if tls:
            return start_https_upstream(self, PKI.dual, host=host)
        return start_http_upstream(self, host=host)

    def start_http_proxy(self, endpoint, hosts, tls=False):
        self.admin, self.port = free_port(), free_port()
        config = canonical_config(self.admin, [http_listener(self.port, "app")],
                                  [("app", [endpoint], "2s")])
        # Ejected after one failure: a walk that counted each refused address would show.
        config = config.replace('    connect_timeout: 2s\n', '    connect_timeout: 2s\n'
                                '    passive_health: { consecutive_failures: 1 }\n')
        if tls:
            config = config.replace('    connect_timeout: 2s\n', '    connect_timeout: 2s\n'
                                    f'    tls: {{ ca_file: "{PKI.ca}" }}\n')
        log_dir = tempfile.mkdtemp(prefix="proxy-it-names-")
        self.addCleanup(shutil.rmtree, log_dir, True)
        self.access_log = os.path.join(log_dir, "access.log")
        config = f'access_log: {{ path: "{self.access_log}", format: json }}\n' + config
        self.proxy = self.start_proxy(config, admin_port=self.admin, hosts=hosts)
        return self.proxy

    def get(self, path="/"):
        s = self.client(self.port, timeout=10)
        return send_request(s, Reader(s), path, host="app.test")

    def admin_json(self, path):
        status, body = http_get(self.admin, path)
        self.assertEqual(200, status, body)
        return json.loads(body)

    def logged_upstreams(self):
        with open(self.access_log) as f:
            return [json.loads(line)["upstream"] for line in f if line.strip()]

    def endpoint_state(self):
        dump = self.admin_json("/config_dump")
        [endpoint] = [e for e in dump["upstream_addresses"] if e["cluster"] == "app"]
        return endpoint

    def check_http(self, endpoint, hosts, upstream_host, expected_addresses, answered, tls=False):
        up = self.start_upstream(upstream_host, tls=tls)
        scheme = "https://" if tls else ""
        self.start_http_proxy(f"{scheme}{endpoint}:{up.port}", hosts, tls=tls)
        addresses = [a.format(port=up.port) for a in expected_addresses]
        answered = answered.format(port=up.port)
        self.assertEqual(addresses, self.endpoint_state()["addresses"])
        for _ in range(3):  # new client connections, pooled upstream ones
            response = self.get()
            self.assertEqual(200, response.status, response.body)
        state = self.endpoint_state()
        # New connections now start at the address that answered.
        self.assertEqual(answered, state["address"])
        route = self.admin_json("/route?listener=web&host=app.test&path=/")
        [shown] = route["endpoints"]
        self.assertEqual(answered, shown["address"])
        self.assertEqual(addresses, shown["addresses"])
        self.assertTrue(shown["healthy"], "a refused first address is no endpoint failure")
        # The access log names the address each request was sent to.
        self.assertTrue(sleep_until(lambda: self.logged_upstreams()[:3] == [answered] * 3, 5),
                        self.logged_upstreams())
        metrics = self.metrics(self.admin)
        self.assertEqual(1, metrics.value("proxy_upstream_endpoints_healthy", cluster="app"))
        self.assertEqual(0, metrics.value("proxy_upstream_endpoint_ejections_total",
                                          cluster="app") or 0)
        if tls:
            self.assertTrue(up.sni and set(up.sni) == {endpoint}, up.sni)
            self.assertEqual([], up.handshake_failures)
        return up

    # -- HTTP

    def test_http_name_ipv6_first_reaches_an_ipv4_only_upstream(self):
        self.check_http("dual.test", DUAL, "127.0.0.1", ["[::1]:{port}", "127.0.0.1:{port}"],
                        "127.0.0.1:{port}")

    def test_http_localhost_reaches_an_ipv6_only_upstream(self):
        # localhost is 127.0.0.1 first (RFC 6761), refused here; ::1 answers.
        self.check_http("localhost", [], "::1", ["127.0.0.1:{port}", "[::1]:{port}"],
                        "[::1]:{port}")

    def test_http_localhost_with_stock_hosts_reaches_an_ipv4_only_upstream(self):
        self.check_http("localhost", [], "127.0.0.1", ["127.0.0.1:{port}", "[::1]:{port}"],
                        "127.0.0.1:{port}")

    def test_localhost_is_loopback_without_any_hosts_file_entry(self):
        self.check_http("app.localhost", "", "127.0.0.1", ["127.0.0.1:{port}", "[::1]:{port}"],
                        "127.0.0.1:{port}")

    def test_every_address_refused_is_one_failure_and_502(self):
        port = free_port()  # nothing listens on either family
        self.start_http_proxy(f"dual.test:{port}", DUAL)
        response = self.get()
        self.assertEqual(502, response.status)
        # consecutive_failures: 1, so one failure of the endpoint (not two) ejects it once.
        metrics = self.metrics(self.admin)
        self.assertEqual(1, metrics.value("proxy_upstream_endpoint_ejections_total",
                                          cluster="app"))

    # -- https

    def test_https_name_ipv6_first_reaches_an_ipv4_only_upstream(self):
        self.check_http("dual.test", DUAL, "127.0.0.1", ["[::1]:{port}", "127.0.0.1:{port}"],
                        "127.0.0.1:{port}", tls=True)

    def test_https_localhost_reaches_an_ipv6_only_upstream(self):
        self.check_http("localhost", [], "::1", ["127.0.0.1:{port}", "[::1]:{port}"],
                        "[::1]:{port}", tls=True)

    # -- tcp_proxy

    def check_tcp(self, endpoint, hosts, upstream_host):
        up = self.start_server(host=upstream_host)
        admin, port = free_port(), free_port()
        config = canonical_config(admin, [{"name": "tcp", "address": f"127.0.0.1:{port}",
                                           "cluster": "echo"}],
                                  [("echo", [f"{endpoint}:{up.port}"], "2s")])
        self.start_proxy(config, admin_port=admin, hosts=hosts)
        for _ in range(3):
            s = self.client(port, timeout=10)
            s.sendall(b"hello over every address")
            self.assertEqual(b"hello over every address", recv_exact(s, 24))
            s.close()
        self.assertTrue(sleep_until(lambda: up.accepted >= 3, 5))

    def test_tcp_name_ipv6_first_reaches_an_ipv4_only_upstream(self):
        self.check_tcp("dual.test", DUAL, "127.0.0.1")

    def test_tcp_localhost_reaches_an_ipv6_only_upstream(self):
        self.check_tcp("localhost", [], "::1")


class SlowNameServerTest(ProxyTestCase):
    """Lookups that time out run off the main thread: signals, reloads and the admin API are
    answered promptly meanwhile."""

    def setUp(self):
        super().setUp()
        # A name server that never answers: every lookup of an unknown name takes the
        # resolver's whole timeout.
        self.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(self.silent.close)
        self.silent.bind(("127.0.0.77", 53))

    def start_slow_dns_proxy(self):
        self.admin, self.port = free_port(), free_port()
        config = canonical_config(self.admin, [http_listener(self.port, "app")],
                                  [("app", ["slow.example:80"], "2s")])
        config = config.replace('    connect_timeout: 2s\n', '    connect_timeout: 2s\n'
                                '    dns_refresh_interval: 100ms\n')
        self.proxy = self.start_proxy(
            config, admin_port=None, hosts=[],
            resolv_conf="nameserver 127.0.0.77\noptions timeout:4 attempts:1\n")
        # Start-up waits for the first lookup (before listening), so allow for it.
        self.proxy.wait_ready(self.admin, timeout=20)
        return self.proxy

    def timed_get(self, path):
        start = time.monotonic()
        status, _ = http_get(self.admin, path, timeout=10)
        return status, time.monotonic() - start

    def test_admin_and_reload_answer_while_names_time_out(self):
        self.start_slow_dns_proxy()
        worst = 0.0
        deadline = time.monotonic() + 6  # refresh lookups hang 4 s each meanwhile
        while time.monotonic() < deadline:
            status, took = self.timed_get("/config_dump")
            self.assertEqual(200, status)
            worst = max(worst, took)
            time.sleep(0.05)
        self.assertLess(worst, 1.0, "the main loop waited on a lookup")
        # A reload that brings no new name applies at once.
        start = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=10)
        conn.request("POST", "/reload")
        response = conn.getresponse()
        response.read()
        conn.close()
        self.assertEqual(200, response.status)
        self.assertLess(time.monotonic() - start, 1.0)

    def test_sigterm_exits_promptly_while_names_time_out(self):
        proxy = self.start_slow_dns_proxy()
        time.sleep(0.5)  # a refresh lookup is out now
        start = time.monotonic()
        proxy.signal(signal.SIGTERM)
        self.assertEqual(0, proxy.wait(10))
        # shutdown_timeout is 2s and nothing is open: far less than a lookup's 4 s.
        self.assertLess(time.monotonic() - start, 3.0)


if __name__ == "__main__":
    unittest.main()
