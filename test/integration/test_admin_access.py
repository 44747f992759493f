"""Who may use the admin API (README.md, "Admin API"), with curl and real sockets: the
endpoints that change or reveal config refuse browsers, foreign Host names (DNS rebinding)
and, with admin.token_file, requests without the token; HEAD never reloads; GET /reload still
does; the probes and /metrics answer anyone; read_only_address serves only those three."""

import json
import os
import re
import socket
import tempfile
import unittest

from proxy_harness import (ProxyTestCase, curl, free_port, http_get, proxy_env, recv_until_eof,
                           run_proxy_once)


def admin_config(admin_port, extra_admin="", listener_port=None, upstream_port=1):
    """A canonical config with one TCP listener; `extra_admin` goes inside `admin: {...}`."""
    listener_port = listener_port or free_port()
    admin = f'address: "127.0.0.1:{admin_port}"' + (f", {extra_admin}" if extra_admin else "")
    return f"""admin: {{ {admin} }}
log_level: info
workers: 1
shutdown_timeout: 1s
clusters:
  - name: echo
    endpoints: ["127.0.0.1:{upstream_port}"]
listeners:
  - name: tcp
    address: "127.0.0.1:{listener_port}"
    filters:
      - name: tcp_proxy
        config: {{ cluster: echo }}
"""


def raw_request(port, head, timeout=5.0):
    """Sends `head` (a request without body) and returns (status, headers text, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode())
        data, _ = recv_until_eof(s, timeout=timeout)
    text = data.decode("latin-1")
    head_text, _, body = text.partition("\r\n\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) ", head_text)
    return (int(m.group(1)) if m else 0), head_text.lower(), body


class AdminAccessTestBase(ProxyTestCase):
    EXTRA_ADMIN = ""

    def setUp(self):
        super().setUp()
        self.admin = free_port()
        self.dir = tempfile.mkdtemp(prefix="proxy-admin-it-")
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir, ignore_errors=True))
        self.token_path = os.path.join(self.dir, "token")

    def start(self, extra_admin=None, env=None):
        extra = self.EXTRA_ADMIN if extra_admin is None else extra_admin
        self.config_text = admin_config(self.admin, extra)
        self.proxy = self.start_proxy(self.config_text, admin_port=self.admin, workers=None,
                                      env=env)
        return self.proxy

    def url(self, path, port=None):
        return f"http://127.0.0.1:{port or self.admin}{path}"

    def call(self, path, *curl_args, port=None):
        """(status, body) with the real curl."""
        status, body, rc = curl(self.url(path, port), extra=curl_args)
        self.assertEqual(rc, 0, f"curl {path} {curl_args}: exit {rc}")
        return status, body

    def generation(self):
        status, body = self.call("/config_dump")
        self.assertEqual(status, 200, body)
        return json.loads(body)["generation"]


class GoProgramUsageTest(AdminAccessTestBase):
    def test_get_reload_with_plain_curl_still_reloads(self):
        self.start()
        status, body = self.call("/reload")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["generation"], 2)
        status, body = self.call("/reload", "-X", "POST")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.generation(), 3)
        # "localhost" is as good as the IP.
        status, body, rc = curl(f"http://localhost:{self.admin}/config_dump")
        self.assertEqual((rc, status), (0, 200), body)

    def test_head_never_reloads(self):
        self.start()
        result_status, headers, _ = raw_request(
            self.admin, f"HEAD /reload HTTP/1.1\r\nHost: 127.0.0.1:{self.admin}\r\n"
                        "Connection: close\r\n\r\n")
        self.assertEqual(result_status, 405)
        self.assertIn("allow: post, get", headers)
        status, _ = self.call("/reload", "-I")  # curl's HEAD
        self.assertEqual(status, 405)
        self.assertEqual(self.generation(), 1, "a HEAD request reloaded the config")
        # And HEAD on a read endpoint answers with the headers only.
        status, headers, body = raw_request(
            self.admin,
            "HEAD /config_dump HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        self.assertEqual((status, body), (200, ""))
        self.assertIn("content-type: application/json", headers)

    def test_other_methods_are_405(self):
        self.start()
        for method in ("PUT", "DELETE"):
            status, _ = self.call("/reload", "-X", method)
            self.assertEqual(status, 405, method)
        status, _ = self.call("/config_dump", "-X", "POST")
        self.assertEqual(status, 405)
        self.assertEqual(self.generation(), 1)


class HostAndBrowserTest(AdminAccessTestBase):
    EXTRA_ADMIN = "allowed_hosts: [proxy.test]"

    def test_foreign_host_is_refused_on_config_endpoints(self):
        self.start()
        for path in ("/reload", "/config_dump", "/route?host=a&path=/"):
            status, body = self.call(path, "-H", "Host: evil.example")
            self.assertEqual(status, 403, f"{path}: {body}")
            self.assertIn("Host", body)
        self.assertEqual(self.generation(), 1, "a refused /reload reloaded")

    def test_dns_rebinding_page_cannot_read_config_dump(self):
        """The rebinding case itself: a name the attacker controls resolving to this address."""
        self.start()
        status, body, rc = curl(f"http://rebind.evil.example:{self.admin}/config_dump",
                                extra=("--resolve", f"rebind.evil.example:{self.admin}:127.0.0.1"))
        self.assertEqual((rc, status), (0, 403), body)
        self.assertNotIn("listeners", body)

    def test_allowed_host_is_served(self):
        self.start()
        status, body = self.call("/config_dump", "-H", f"Host: proxy.test:{self.admin}")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["config"]["admin"]["allowed_hosts"], ["proxy.test"])
        status, body = self.call("/reload", "-H", "Host: PROXY.test")
        self.assertEqual(status, 200, body)

    def test_browser_originated_requests_are_refused(self):
        self.start()
        cases = [("Origin: http://evil.example",), ("Origin: null",),
                 ("Sec-Fetch-Site: cross-site",), ("Sec-Fetch-Site: same-site",)]
        for headers in cases:
            for path in ("/reload", "/config_dump", "/route?host=a&path=/"):
                args = [a for h in headers for a in ("-H", h)]
                status, body = self.call(path, *args)
                self.assertEqual(status, 403, f"{path} {headers}: {body}")
        self.assertEqual(self.generation(), 1)
        # Typed into the address bar: Sec-Fetch-Site none, no Origin.
        status, body = self.call("/config_dump", "-H", "Sec-Fetch-Site: none")
        self.assertEqual(status, 200, body)

    def test_probes_answer_any_host_and_browsers(self):
        self.start()
        for path in ("/metrics", "/ready", "/healthz"):
            status, body = self.call(path, "-H", "Host: reverse-proxy:42007", "-H",
                                     "Origin: http://evil.example", "-H",
                                     "Sec-Fetch-Site: cross-site")
            self.assertEqual(status, 200, f"{path}: {body}")


class BehindTheProxysOwnListenerTest(AdminAccessTestBase):
    """As in config/config.yml: an HTTP listener routing to the admin API. The router rewrites
    Host to the admin address and puts the client's Host in X-Forwarded-Host, which the admin
    API checks as it checks Host."""

    def test_rebinding_name_through_the_http_listener_is_refused(self):
        http_port = free_port()
        text = f"""admin: {{ address: "127.0.0.1:{self.admin}" }}
workers: 1
clusters:
  - {{ name: admin_api, endpoints: ["127.0.0.1:{self.admin}"] }}
listeners:
  - name: http
    address: "127.0.0.1:{http_port}"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: path_prefix_router
              config:
                routes: [{{ name: admin, prefix: /, cluster: admin_api }}]
            - name: router
"""
        self.start_proxy(text, admin_port=self.admin, workers=None)
        base = f"http://127.0.0.1:{http_port}"
        status, body, rc = curl(base + "/config_dump", extra=("-H", "Host: rebind.evil.example"))
        self.assertEqual((rc, status), (0, 403), body)
        self.assertIn("X-Forwarded-Host", body)
        status, body, rc = curl(base + "/reload", extra=("-H", "Host: rebind.evil.example"))
        self.assertEqual((rc, status), (0, 403), body)
        self.assertEqual(self.generation(), 1)
        status, body, rc = curl(base + "/metrics", extra=("-H", "Host: rebind.evil.example"))
        self.assertEqual((rc, status), (0, 200), body)
        status, body, rc = curl(base + "/config_dump")
        self.assertEqual((rc, status), (0, 200), body)


class TokenTest(AdminAccessTestBase):
    def write_token(self, text):
        with open(self.token_path, "w") as f:
            f.write(text)

    def test_config_endpoints_need_the_bearer_token(self):
        self.write_token("first-token\n")
        self.start(f'token_file: "{self.token_path}"')
        for path in ("/reload", "/config_dump", "/route?host=a&path=/"):
            status, body = self.call(path)
            self.assertEqual(status, 401, f"{path}: {body}")
            status, body = self.call(path, "-H", "Authorization: Bearer wrong-token")
            self.assertEqual(status, 401, f"{path}: {body}")
        status, headers, _ = raw_request(
            self.admin, "GET /config_dump HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 401)
        self.assertIn("www-authenticate: bearer", headers)
        status, body = self.call("/config_dump", "-H", "Authorization: Bearer first-token")
        self.assertEqual(status, 200, body)
        dump = json.loads(body)
        self.assertEqual(dump["config"]["admin"]["token_file"], self.token_path)
        self.assertNotIn("first-token", body, "config_dump shows the token")
        # The probes need no token.
        for path in ("/metrics", "/ready", "/healthz"):
            status, body = self.call(path)
            self.assertEqual(status, 200, f"{path}: {body}")

    def test_token_is_read_again_at_reload(self):
        self.write_token("first-token")
        self.start(f'token_file: "{self.token_path}"')
        self.write_token("second-token\n")
        status, body = self.call("/reload", "-X", "POST", "-H", "Authorization: Bearer first-token")
        self.assertEqual(status, 200, body)
        self.assertIn("admin.token_file", json.loads(body)["changes"]["settings"])
        status, _ = self.call("/config_dump", "-H", "Authorization: Bearer first-token")
        self.assertEqual(status, 401)
        status, _ = self.call("/config_dump", "-H", "Authorization: Bearer second-token")
        self.assertEqual(status, 200)

    def test_emptied_token_file_refuses_the_reload_and_keeps_the_token(self):
        self.write_token("kept-token")
        self.start(f'token_file: "{self.token_path}"')
        self.write_token("")
        status, body = self.call("/reload", "-X", "POST", "-H", "Authorization: Bearer kept-token")
        self.assertEqual(status, 400, body)
        errors = json.loads(body)["errors"]
        self.assertEqual(len(errors), 1)
        self.assertIn("admin.token_file", errors[0])
        self.assertIn("empty", errors[0])
        status, _ = self.call("/config_dump", "-H", "Authorization: Bearer kept-token")
        self.assertEqual(status, 200)

    def test_unreadable_or_empty_token_file_is_a_one_line_start_error(self):
        config_path = os.path.join(self.dir, "config.yml")
        for label, token_file in (("missing", os.path.join(self.dir, "absent")),
                                  ("empty", self.token_path)):
            self.write_token("")
            with open(config_path, "w") as f:
                f.write(admin_config(free_port(), f'token_file: "{token_file}"'))
            result = run_proxy_once(["-c", config_path, "--validate"])
            self.assertEqual(result.returncode, 1, f"{label}: {result.stdout}{result.stderr}")
            lines = [l for l in result.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertRegex(lines[0], rf"^{re.escape(config_path)}:1:\d+: admin\.token_file: ")
            self.assertIn(token_file, lines[0])


class ReadOnlyAddressTest(AdminAccessTestBase):
    def test_read_only_address_serves_only_the_probes(self):
        read_only = free_port()
        proxy = self.start(f'read_only_address: "127.0.0.1:{read_only}"')
        proxy.wait_log(rf"admin read-only address .* on 127\.0\.0\.1:{read_only}")
        for path in ("/metrics", "/ready", "/healthz"):
            status, body = self.call(path, "-H", "Host: 10.1.2.3:9902", port=read_only)
            self.assertEqual(status, 200, f"{path}: {body}")
        for path in ("/reload", "/config_dump", "/route?host=a&path=/", "/"):
            status, body = self.call(path, port=read_only)
            self.assertEqual(status, 404, f"{path}: {body}")
        self.assertEqual(self.generation(), 1)
        # The main address serves everything.
        status, body = self.call("/config_dump")
        self.assertEqual(json.loads(body)["config"]["admin"]["read_only_address"],
                         f"127.0.0.1:{read_only}")


class OverridesAndPrintingTest(AdminAccessTestBase):
    def test_internal_api_port_keeps_working_with_the_new_keys(self):
        override = free_port()
        self.admin_configured = self.admin
        self.admin = override
        text = admin_config(self.admin_configured, "allowed_hosts: [proxy.test]")
        self.start_proxy(text, admin_port=override, workers=None,
                         env=proxy_env(INTERNAL_API_PORT=f"127.0.0.1:{override}"))
        status, body = self.call("/config_dump", "-H", "Host: proxy.test")
        self.assertEqual(status, 200, body)
        status, _ = self.call("/config_dump", "-H", "Host: evil.example")
        self.assertEqual(status, 403)

    def test_print_config_round_trips_the_admin_keys(self):
        with open(self.token_path, "w") as f:
            f.write("printed-token")
        config_path = os.path.join(self.dir, "config.yml")
        with open(config_path, "w") as f:
            f.write(admin_config(free_port(), 'allowed_hosts: [Proxy.Test], token_file: token, '
                                              'read_only_address: "127.0.0.1:9902"'))
        first = run_proxy_once(["--print-config", "-c", config_path])
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertRegex(first.stdout, r'admin: \{address: "127\.0\.0\.1:\d+", allowed_hosts: '
                                       r'\["proxy\.test"\], token_file: "' +
                         re.escape(self.token_path) +
                         r'", read_only_address: "127\.0\.0\.1:9902"\}')
        self.assertNotIn("printed-token", first.stdout)
        printed_path = os.path.join(self.dir, "printed.yml")
        with open(printed_path, "w") as f:
            f.write(first.stdout)
        second = run_proxy_once(["--print-config", "-c", printed_path])
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(second.stdout, first.stdout)


if __name__ == "__main__":
    unittest.main()
