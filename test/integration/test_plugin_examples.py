"""The example plugins (plugins/header_rewrite, plugins/ip_access) loaded as shared libraries
through the config's `plugins:` list, with real traffic: a real upstream sees the rewritten
request headers and the client the rewritten response headers; clients bound to different
loopback addresses (all of 127.0.0.0/8 is local on Linux) are admitted or refused on a TCP
and an HTTP listener.

PROXY_PLUGIN_DIR is where the build put header_rewrite.so and ip_access.so (set by ctest;
default: $PROXY_SOURCE_DIR/build/plugins).
"""

import os
import re
import socket
import tempfile
import time
import unittest

from http_upstream import Reader, header_values, read_response, start_http_upstream
from proxy_harness import (SOURCE_DIR, ProxyTestCase, free_port, proxy_env, recv_exact,
                           run_proxy_once)
from test_reload import admin_call

PLUGIN_DIR = os.environ.get("PROXY_PLUGIN_DIR") or os.path.join(SOURCE_DIR, "build", "plugins")
HEADER_REWRITE = os.path.join(PLUGIN_DIR, "header_rewrite.so")
IP_ACCESS = os.path.join(PLUGIN_DIR, "ip_access.so")

ALLOWED_IP = "127.0.0.1"
DENIED_IP = "127.0.0.2"

HEADER_RULES = """\
request:
  remove: [X-Internal]
  rewrite: [{ name: X-Path, prefix: /old/, replacement: /new/ }]
  set: [{ name: X-Env, value: prod }]
  add: [{ name: X-Added, value: "by header_rewrite" }]
response:
  remove: [X-Up]
  rewrite: [{ name: Content-Type, prefix: application/, replacement: text/x- }]
  set: [{ name: Cache-Control, value: no-store }]
  add: [{ name: X-Served-By, value: proxy }]
"""

IP_RULES = f"{{ allow: [127.0.0.0/8], deny: [{DENIED_IP}], default: deny }}"


def indent(text, spaces):
    return "\n".join(" " * spaces + line for line in text.splitlines())


def plugins_section(*paths):
    return "plugins:\n" + "".join(f'  - "{p}"\n' for p in paths)


def http_config(admin, port, up_port, ip_rules=None):
    lines = [f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 2",
             "shutdown_timeout: 2s", "log_level: debug",
             plugins_section(HEADER_REWRITE, IP_ACCESS).rstrip("\n"), "clusters:",
             f'  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}',
             "listeners:", "  - name: web", f'    address: "127.0.0.1:{port}"', "    filters:"]
    if ip_rules is not None:
        lines += ["      - name: ip_access", f"        config: {ip_rules}"]
    lines += ["      - name: http_connection_manager", "        config:",
              "          http_filters:", "            - name: header_rewrite",
              "              config:", indent(HEADER_RULES, 16),
              "            - name: path_prefix_router",
              "              config: { routes: [{ prefix: /, cluster: up }] }",
              "            - name: router"]
    return "\n".join(lines) + "\n"


def tcp_config(admin, port, up_port, ip_rules, listen_host="127.0.0.1"):
    return "\n".join([
        f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 2", "shutdown_timeout: 2s",
        plugins_section(IP_ACCESS).rstrip("\n"), "clusters:",
        f'  - {{ name: echo, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}',
        "listeners:", "  - name: tcp", f'    address: "{listen_host}:{port}"', "    filters:",
        "      - name: stats", "      - name: ip_access", f"        config: {ip_rules}",
        "      - name: tcp_proxy", "        config: { cluster: echo }"]) + "\n"


def connect_from(source_ip, port, timeout=5.0):
    """A client socket bound to `source_ip` (any 127.x address, or ::1), connected to the
    proxy over the same family."""
    family = socket.AF_INET6 if ":" in source_ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source_ip, 0))
    sock.connect(("::1" if family == socket.AF_INET6 else "127.0.0.1", port))
    return sock


def refused_without_a_byte(sock, timeout=5.0):
    """True when the proxy closes `sock` (FIN or RST) without sending anything."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if data:
            return False
        return True
    return False


class PluginCase(ProxyTestCase):
    def setUp(self):
        super().setUp()
        for path in (HEADER_REWRITE, IP_ACCESS):
            if not os.path.isfile(path):
                self.fail(f"{path} is missing: build the plugins or set PROXY_PLUGIN_DIR")


class HeaderRewritePluginTest(PluginCase):
    def setUp(self):
        super().setUp()
        self.up = start_http_upstream(self)
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(http_config(self.admin, self.port, self.up.port),
                                      admin_port=self.admin)

    def request(self, sock, headers):
        raw = b"GET /a HTTP/1.1\r\nHost: h.test\r\n"
        for name, value in headers:
            raw += f"{name}: {value}\r\n".encode()
        sock.sendall(raw + b"\r\n")
        return read_response(Reader(sock))

    def test_request_headers_reach_the_upstream_rewritten(self):
        sock = self.client(self.port, timeout=10)
        response = self.request(sock, [("X-Internal", "secret"), ("x-internal", "again"),
                                       ("X-Path", "/old/page"), ("X-Env", "dev"),
                                       ("X-Env", "test"), ("X-Kept", "1")])
        self.assertEqual(response.status, 200, response.body)
        received = response.json()
        self.assertEqual(header_values(received, "X-Internal"), [])
        self.assertEqual(header_values(received, "X-Path"), ["/new/page"])
        self.assertEqual(header_values(received, "X-Env"), ["prod"])
        self.assertEqual(header_values(received, "X-Added"), ["by header_rewrite"])
        self.assertEqual(header_values(received, "X-Kept"), ["1"])
        # The router still sets Host for the upstream after the HTTP filters ran.
        self.assertEqual(header_values(received, "Host"), [f"127.0.0.1:{self.up.port}"])
        self.assertEqual(len(self.up.results), 1)

    def test_response_headers_reach_the_client_rewritten(self):
        sock = self.client(self.port, timeout=10)
        for _ in range(2):  # two requests on one connection: framing is intact
            response = self.request(sock, [])
            self.assertEqual(response.status, 200, response.body)
            names = [name.lower() for name, _ in response.headers]
            self.assertNotIn("x-up", names)
            self.assertEqual(response.header("Content-Type"), "text/x-json")
            self.assertEqual(response.header("Cache-Control"), "no-store")
            self.assertEqual(response.header("X-Served-By"), "proxy")
            self.assertEqual(response.json()["target"], "/a")

    def test_rewrite_leaves_values_without_the_prefix(self):
        sock = self.client(self.port, timeout=10)
        response = self.request(sock, [("X-Path", "/other/old/")])
        self.assertEqual(header_values(response.json(), "X-Path"), ["/other/old/"])


class PluginReloadTest(PluginCase):
    """A reload rebuilds the plugins' filter configs like any filter's: a keep-alive HTTP
    connection gets the new rules from its next request, and a reload with a bad rule is
    refused with the old rules still serving."""

    def test_reload_changes_rules_for_the_next_request(self):
        up = start_http_upstream(self)
        admin, port = free_port(), free_port()
        text = http_config(admin, port, up.port)
        proxy = self.start_proxy(text, admin_port=admin)
        sock = self.client(port, timeout=10)
        reader = Reader(sock)

        def served_by():
            sock.sendall(b"GET /a HTTP/1.1\r\nHost: h.test\r\n\r\n")
            return read_response(reader).header("X-Served-By")

        self.assertEqual(served_by(), "proxy")
        with open(proxy.config_path, "w") as f:
            f.write(text.replace("value: proxy", "value: reloaded"))
        status, body = admin_call(admin, "POST", "/reload")
        self.assertEqual(status, 200, body)
        self.assertEqual(served_by(), "reloaded")

        with open(proxy.config_path, "w") as f:
            f.write(text.replace("remove: [X-Up]", "remove: [Transfer-Encoding]"))
        status, body = admin_call(admin, "POST", "/reload")
        self.assertNotEqual(status, 200, body)
        self.assertIn("response.remove[0]: expected a header the proxy does not manage", body)
        self.assertEqual(served_by(), "reloaded")


class IpAccessHttpTest(PluginCase):
    def setUp(self):
        super().setUp()
        self.up = start_http_upstream(self)
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(
            http_config(self.admin, self.port, self.up.port, ip_rules=IP_RULES),
            admin_port=self.admin)

    def test_allowed_client_is_served_and_denied_client_is_closed(self):
        allowed = connect_from(ALLOWED_IP, self.port)
        self.addCleanup(allowed.close)
        allowed.sendall(b"GET /a HTTP/1.1\r\nHost: h.test\r\n\r\n")
        response = read_response(Reader(allowed))
        self.assertEqual(response.status, 200)
        # Both plugins on one listener: the HTTP filter ran too.
        self.assertEqual(header_values(response.json(), "X-Added"), ["by header_rewrite"])

        denied = connect_from(DENIED_IP, self.port)
        self.addCleanup(denied.close)
        try:
            denied.sendall(b"GET /a HTTP/1.1\r\nHost: h.test\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass
        self.assertTrue(refused_without_a_byte(denied), "the denied client got an answer")
        self.assertEqual(len(self.up.results), 1, "the denied request reached the upstream")
        metrics = self.wait_metric(
            self.admin,
            lambda m: m.value("proxy_ip_access_connections_total", listener="web",
                              decision="denied") == 1,
            what="one denied connection")
        self.assertEqual(metrics.value("proxy_ip_access_connections_total", listener="web",
                                       decision="allowed"), 1)
        self.proxy.wait_log(re.escape(f"ip_access: refused connection from {DENIED_IP}:"))


class IpAccessTcpTest(PluginCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_server()
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(tcp_config(self.admin, self.port, self.up.port, IP_RULES),
                                      admin_port=self.admin)

    def test_allowed_client_is_proxied(self):
        sock = connect_from(ALLOWED_IP, self.port)
        self.addCleanup(sock.close)
        sock.sendall(b"ping")
        self.assertEqual(recv_exact(sock, 4), b"ping")
        self.assertEqual(self.up.accepted, 1)

    def test_denied_client_never_reaches_the_upstream(self):
        for _ in range(3):
            sock = connect_from(DENIED_IP, self.port)
            self.addCleanup(sock.close)
            try:
                sock.sendall(b"ping")
            except (ConnectionResetError, BrokenPipeError):
                pass
            self.assertTrue(refused_without_a_byte(sock), "the denied client got bytes")
        self.wait_metric(
            self.admin,
            lambda m: m.value("proxy_ip_access_connections_total", listener="tcp",
                              decision="denied") == 3,
            what="three denied connections")
        # An allowed client afterwards is the upstream's first connection.
        sock = connect_from("127.0.0.3", self.port)
        self.addCleanup(sock.close)
        sock.sendall(b"pong")
        self.assertEqual(recv_exact(sock, 4), b"pong")
        self.assertEqual(self.up.accepted, 1)

    def test_default_decides_for_unlisted_clients(self):
        admin, port = free_port(), free_port()
        self.start_proxy(tcp_config(admin, port, self.up.port,
                                    "{ allow: [127.0.0.1], default: deny }"), admin_port=admin)
        sock = connect_from("127.0.0.4", port)
        self.addCleanup(sock.close)
        self.assertTrue(refused_without_a_byte(sock))
        sock = connect_from(ALLOWED_IP, port)
        self.addCleanup(sock.close)
        sock.sendall(b"x")
        self.assertEqual(recv_exact(sock, 1), b"x")


class IpAccessDualStackTest(PluginCase):
    """A listener on every interface (":PORT", an IPv6 socket taking IPv4 too) sees IPv4
    clients as ::ffff:a.b.c.d; the IPv4 ranges must still decide for them."""

    def test_ipv4_mapped_clients_match_ipv4_ranges(self):
        up = self.start_server()
        admin, port = free_port(), free_port(wildcard=True)
        self.start_proxy(tcp_config(admin, port, up.port, IP_RULES, listen_host=""),
                         admin_port=admin)
        sock = connect_from(ALLOWED_IP, port)
        self.addCleanup(sock.close)
        sock.sendall(b"v4")
        self.assertEqual(recv_exact(sock, 2), b"v4")
        sock = connect_from(DENIED_IP, port)
        self.addCleanup(sock.close)
        self.assertTrue(refused_without_a_byte(sock), "127.0.0.2 (mapped) was admitted")
        # ::1 is in no range: the default (deny) applies.
        sock = connect_from("::1", port)
        self.addCleanup(sock.close)
        self.assertTrue(refused_without_a_byte(sock), "::1 was admitted")
        self.assertEqual(up.accepted, 1)


class PluginConfigErrorTest(PluginCase):
    """A plugin's ConfigError crosses the library boundary and comes out as the proxy's
    one-line FILE:LINE:COL: FIELD: message, with the field's full path."""

    def run_config(self, text):
        workdir = tempfile.mkdtemp(prefix="proxy-it-plugin-")
        self.addCleanup(lambda: __import__("shutil").rmtree(workdir, ignore_errors=True))
        path = os.path.join(workdir, "config.yml")
        with open(path, "w") as f:
            f.write(text)
        return path, run_proxy_once(["-c", path, "--validate"], env=proxy_env(), timeout=15)

    def test_bad_header_rewrite_rule(self):
        text = http_config(free_port(), free_port(), 9).replace("remove: [X-Internal]",
                                                                 "remove: [Content-Length]")
        path, result = self.run_config(text)
        self.assertEqual(result.returncode, 1, result.stderr)
        line = next(i + 1 for i, l in enumerate(text.splitlines()) if "Content-Length" in l)
        self.assertRegex(
            result.stderr.strip(),
            rf"^{re.escape(path)}:{line}:\d+: listeners\[0\]\.filters\[0\]\.config\.http_filters"
            rf"\[0\]\.config\.request\.remove\[0\]: expected a header the proxy does not manage")

    def test_bad_cidr(self):
        text = tcp_config(free_port(), free_port(), 9, "{ deny: [10.0.0.1/8], default: allow }")
        path, result = self.run_config(text)
        self.assertEqual(result.returncode, 1, result.stderr)
        line = next(i + 1 for i, l in enumerate(text.splitlines()) if "10.0.0.1/8" in l)
        self.assertRegex(
            result.stderr.strip(),
            rf"^{re.escape(path)}:{line}:\d+: listeners\[0\]\.filters\[1\]\.config\.deny\[0\]: "
            r"expected a network address with no host bits set, found \"10\.0\.0\.1/8\" "
            r"\(the network is 10\.0\.0\.0/8\)$")

    def test_filter_unknown_without_its_plugin(self):
        text = tcp_config(free_port(), free_port(), 9, IP_RULES).replace(
            plugins_section(IP_ACCESS), "")
        _, result = self.run_config(text)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("ip_access", result.stderr)


if __name__ == "__main__":
    unittest.main()
