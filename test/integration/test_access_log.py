"""The access log end to end (docs/behaviour.md §3): one line per HTTP request and per TCP
connection, in text or JSON, to a file or stdout, with the failure cause from the shared
vocabulary."""

import json
import os
import re
import socket
import unittest

from http_upstream import Reader, read_response, start_http_upstream
from proxy_harness import (ProxyTestCase, echo_handler, free_port, recv_exact, recv_until_eof,
                           sleep_until)


def config(admin, web, tcp, up_port, echo_port, dead_port, access_log):
    return f"""admin: {{ address: "127.0.0.1:{admin}" }}
workers: 2
shutdown_timeout: 2s
access_log: {access_log}
clusters:
  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}
  - {{ name: dead, endpoints: ["127.0.0.1:{dead_port}"], connect_timeout: 1s }}
  - {{ name: echo, endpoints: ["127.0.0.1:{echo_port}"], connect_timeout: 1s }}
listeners:
  - name: web
    address: "127.0.0.1:{web}"
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: stats
            - name: path_prefix_router
              config:
                routes:
                  - {{ name: api, prefix: /api, cluster: up }}
                  - {{ name: gone, prefix: /dead, cluster: dead }}
            - name: router
  - name: tcp
    address: "127.0.0.1:{tcp}"
    filters:
      - name: stats
      - name: tcp_proxy
        config: {{ cluster: echo }}
"""


class AccessLogCase(ProxyTestCase):
    access_log = None  # the `access_log:` value, with LOGFILE replaced

    def setUp(self):
        super().setUp()
        self.up = start_http_upstream(self)
        self.echo = self.start_server(echo_handler)
        self.admin, self.web, self.tcp, self.dead = free_port(), free_port(), free_port(), free_port()
        self.log_path = None
        text = self.access_log
        if "LOGFILE" in text:
            import tempfile
            self.log_dir = tempfile.mkdtemp(prefix="proxy-alog-")
            self.log_path = os.path.join(self.log_dir, "access.log")
            self.addCleanup(self._remove_log)
            text = text.replace("LOGFILE", self.log_path)
        self.proxy = self.start_proxy(
            config(self.admin, self.web, self.tcp, self.up.port, self.echo.port, self.dead, text),
            admin_port=self.admin)

    def _remove_log(self):
        for name in os.listdir(self.log_dir):
            os.unlink(os.path.join(self.log_dir, name))
        os.rmdir(self.log_dir)

    def log_text(self):
        if self.log_path is None:
            return self.proxy.stdout_text()
        try:
            with open(self.log_path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_lines(self, count, timeout=5.0):
        ok = sleep_until(lambda: len(self.log_text().splitlines()) >= count, timeout)
        lines = self.log_text().splitlines()
        self.assertTrue(ok, f"expected {count} access-log lines, got {lines}")
        return lines

    def exchange(self, raw):
        s = self.client(self.web, timeout=10)
        s.sendall(raw)
        return read_response(Reader(s))

    def traffic(self):
        """Five requests and one TCP connection; returns nothing, the log tells."""
        self.assertEqual(200, self.exchange(b"GET /api/x?y=1&z=%20 HTTP/1.1\r\nHost: a\r\n\r\n").status)
        self.assertEqual(404, self.exchange(b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n").status)
        self.assertEqual(502, self.exchange(b"GET /dead HTTP/1.1\r\nHost: a\r\n\r\n").status)
        self.assertEqual(400, self.exchange(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n").status)
        body = b"hello"
        self.assertEqual(200, self.exchange(b"POST /api/up HTTP/1.1\r\nHost: a\r\n"
                                            b"Content-Length: 5\r\n\r\n" + body).status)
        s = self.client(self.tcp, timeout=10)
        s.sendall(b"ping")
        self.assertEqual(b"ping", recv_exact(s, 4))
        s.shutdown(socket.SHUT_WR)
        recv_until_eof(s)  # the echo ends its side too: the connection is over
        s.close()


class TextToFile(AccessLogCase):
    access_log = "{ path: LOGFILE, format: text }"

    def test_one_line_per_request_and_connection(self):
        self.traffic()
        lines = self.wait_lines(6)
        self.assertEqual(6, len(lines), lines)
        by_path = {}
        tcp_lines = []
        for line in lines:
            m = re.match(r'^(\S+) (\S+) (\S+) "([^"]*)" (\S+) (\S+) (\S+) (\S+) (\d+) (\d+) '
                         r'([\d.]+) (\S+) (\S+)$', line)
            self.assertIsNotNone(m, line)
            (time_, listener, client, request, status, route, cluster, upstream, received,
             sent, duration, headers_ms, failure) = m.groups()
            self.assertRegex(time_, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertRegex(client, r"^127\.0\.0\.1:\d+$")
            if listener == "tcp":
                tcp_lines.append(m.groups())
            else:
                self.assertEqual("web", listener)
                by_path[request] = m.groups()
        ok = by_path["GET /api/x?y=1&z=%20 HTTP/1.1"]
        self.assertEqual(("200", "api", "up", f"127.0.0.1:{self.up.port}"), ok[4:8])
        self.assertNotEqual("-", ok[11])  # time to upstream response headers
        self.assertEqual("-", ok[12])
        self.assertEqual(("404", "-", "-", "-"), by_path["GET /nowhere HTTP/1.1"][4:8])
        self.assertEqual("no_route", by_path["GET /nowhere HTTP/1.1"][12])
        dead = by_path["GET /dead HTTP/1.1"]
        self.assertEqual(("502", "gone", "dead"), dead[4:7])
        self.assertEqual("upstream_connect_refused", dead[12])
        rejected = by_path["-"]
        self.assertEqual("400", rejected[4])
        self.assertEqual("request_rejected:malformed", rejected[12])
        post = by_path["POST /api/up HTTP/1.1"]
        self.assertEqual("5", post[8])  # request body bytes
        self.assertEqual(1, len(tcp_lines))
        tcp = tcp_lines[0]
        self.assertEqual(("TCP", "-", "-", "echo", f"127.0.0.1:{self.echo.port}", "4", "4"),
                         tcp[3:10])
        self.assertEqual("-", tcp[12])


class ReopenOnSigusr1(AccessLogCase):
    """Log rotation: rename the file, SIGUSR1, and new lines go to a new file at the
    configured path while the renamed file keeps the old ones."""
    access_log = "{ path: LOGFILE, format: text }"

    def test_sigusr1_reopens_the_file(self):
        import signal
        self.assertEqual(404, self.exchange(b"GET /before HTTP/1.1\r\nHost: a\r\n\r\n").status)
        self.wait_lines(1)
        rotated = self.log_path + ".1"
        os.rename(self.log_path, rotated)
        # Still open: a line written now goes to the renamed file.
        self.assertEqual(404, self.exchange(b"GET /between HTTP/1.1\r\nHost: a\r\n\r\n").status)
        self.assertTrue(sleep_until(lambda: "/between" in open(rotated).read(), 5),
                        "line after the rename not in the renamed file")
        os.kill(self.proxy.pid, signal.SIGUSR1)
        self.proxy.wait_log(r"SIGUSR1: access log \S+access\.log reopened")
        self.assertTrue(self.proxy.running())
        self.assertEqual(404, self.exchange(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n").status)
        lines = self.wait_lines(1)
        self.assertEqual(1, len(lines), lines)
        self.assertIn("GET /after", lines[0])
        with open(rotated) as f:
            old = f.read()
        self.assertIn("GET /before", old)
        self.assertNotIn("/after", old)


class JsonToFile(AccessLogCase):
    access_log = "{ path: LOGFILE, format: json }"

    def test_every_line_is_a_json_object(self):
        self.traffic()
        lines = self.wait_lines(6)
        records = [json.loads(line) for line in lines]
        self.assertEqual(6, len(records))
        http = {r["path"]: r for r in records if r["type"] == "http"}
        tcp = [r for r in records if r["type"] == "tcp"]
        ok = http["/api/x?y=1&z=%20"]
        self.assertEqual(("GET", "HTTP/1.1", 200, "api", "up", "web", ""),
                         (ok["method"], ok["protocol"], ok["status"], ok["route"], ok["cluster"],
                          ok["listener"], ok["failure"]))
        self.assertIsInstance(ok["duration_ms"], float)
        self.assertIsInstance(ok["upstream_headers_ms"], float)
        self.assertLessEqual(ok["upstream_headers_ms"], ok["duration_ms"])
        self.assertGreater(ok["bytes_sent"], 0)
        self.assertEqual("no_route", http["/nowhere"]["failure"])
        self.assertIsNone(http["/nowhere"]["upstream_headers_ms"])
        self.assertEqual("upstream_connect_refused", http["/dead"]["failure"])
        self.assertEqual(502, http["/dead"]["status"])
        self.assertEqual("request_rejected:malformed", http[""]["failure"])
        self.assertEqual(400, http[""]["status"])
        self.assertEqual(1, len(tcp))
        self.assertEqual(("tcp", "echo", 4, 4, None),
                         (tcp[0]["listener"], tcp[0]["cluster"], tcp[0]["bytes_received"],
                          tcp[0]["bytes_sent"], tcp[0]["status"]))


class TextToStdout(AccessLogCase):
    access_log = "{ path: stdout }"

    def test_lines_go_to_stdout(self):
        self.assertEqual(404, self.exchange(b"GET /nowhere?q=\"x\" HTTP/1.1\r\nHost: a\r\n\r\n").status)
        lines = self.wait_lines(1)
        self.assertEqual(1, len(lines))
        self.assertIn('"GET /nowhere?q=\\"x\\" HTTP/1.1" 404', lines[0])
        self.assertTrue(lines[0].endswith(" no_route"), lines[0])
        # stderr keeps the process log; the access line is not there.
        self.assertNotIn("/nowhere", self.proxy.stderr_text())


class JsonToStdout(AccessLogCase):
    access_log = "{ path: stdout, format: json }"

    def test_json_lines_on_stdout(self):
        self.assertEqual(400, self.exchange(b"GET / HTTP/1.1\r\n\r\n").status)  # no Host
        record = json.loads(self.wait_lines(1)[0])
        self.assertEqual("request_rejected:missing_host", record["failure"])


class NoAccessLog(ProxyTestCase):
    def test_absent_means_off_and_bad_paths_fail_at_start(self):
        from proxy_harness import run_proxy_once
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.yml")
            with open(path, "w") as f:
                f.write("access_log: { path: /nonexistent-dir/x/access.log }\n")
            result = run_proxy_once(["--validate", "-c", path])
            self.assertEqual(1, result.returncode)
            self.assertRegex(result.stderr.strip(),
                             r"c\.yml:1:21: access_log\.path: cannot open access log "
                             r"\"/nonexistent-dir/x/access\.log\"")
            with open(path, "w") as f:
                f.write("access_log: { path: stdout, format: yaml }\n")
            result = run_proxy_once(["--validate", "-c", path])
            self.assertEqual(1, result.returncode)
            self.assertIn("access_log.format: expected text or json, found \"yaml\"", result.stderr)


if __name__ == "__main__":
    unittest.main()
