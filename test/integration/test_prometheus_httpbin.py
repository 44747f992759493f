"""docker-compose.yml's topology without Docker: the proxy on config/config-docker.yml (its
addresses moved to free ports on 127.0.0.1), httpbin as the upstream and a real Prometheus
scraping the proxy's admin API every second with config/prometheus.yml's job. Traffic goes
through the proxy to httpbin; Prometheus's query API must then report the proxy's counts.

Needs Debian's prometheus (/usr/bin/prometheus) and python3-httpbin, which tools/setup
installs; skipped with the reason when either is missing.
"""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

from proxy_harness import ProxyTestCase, SOURCE_DIR, free_port, recv_until_eof

PROMETHEUS_BIN = "/usr/bin/prometheus"
# Debian's python3-httpbin lives in /usr/bin/python3's dist-packages (python3 in PATH may be
# another interpreter).
SYSTEM_PYTHON = "/usr/bin/python3"
CONFIG_DOCKER = os.path.join(SOURCE_DIR, "config", "config-docker.yml")
PROMETHEUS_CONFIG = os.path.join(SOURCE_DIR, "config", "prometheus.yml")


def httpbin_missing():
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} is missing"
    result = subprocess.run([SYSTEM_PYTHON, "-c", "import httpbin.core"], capture_output=True,
                            text=True, timeout=60)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["import failed"])[-1]
        return f"python3-httpbin is not installed (tools/setup installs it): {last}"
    return None


def substitute(text, old, new):
    """`text` with the one occurrence of `old` replaced; fails if there is not exactly one, so
    the test follows config-docker.yml rather than silently drifting from it."""
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"expected {old!r} once in the config, found it {count} times")
    return text.replace(old, new)


def http_request(port, path, host_header=None, timeout=10.0):
    """(status, headers dict lower-cased, body bytes) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Host": host_header} if host_header else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


class BackgroundProcess:
    """A process of the test (httpbin, Prometheus) with its output in a file; stopped by PID."""

    def __init__(self, name, cmd, workdir):
        self.name = name
        self.cmd = cmd
        self.log_path = os.path.join(workdir, f"{name}.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=workdir,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join("    " + l for l in text.splitlines()[-lines:])

    def describe(self):
        code = self.proc.poll()
        return (f"{self.name} pid {self.pid} ({' '.join(self.cmd)}), "
                f"{'running' if code is None else f'exit code {code}'}; output:\n"
                + self.log_tail())

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            self._log.close()

    def wait_until(self, probe, timeout, what):
        """Polls probe() (True when ready; OSError counts as not yet) until it holds; fails
        early if the process exits."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} exited before {what}\n" + self.describe())
            try:
                if probe():
                    return
            except (OSError, http.client.HTTPException) as error:
                last = repr(error)
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: {what} not within {timeout}s (last: {last})\n"
                             + self.describe())


class PrometheusHttpbinTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(PROMETHEUS_BIN, os.X_OK):
            raise unittest.SkipTest(f"{PROMETHEUS_BIN} is missing (tools/setup installs the "
                                    "prometheus package)")
        reason = httpbin_missing()
        if reason:
            raise unittest.SkipTest(reason)

    def setUp(self):
        super().setUp()
        self.workdir = tempfile.mkdtemp(prefix="prometheus-it-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.processes = []
        self.addCleanup(self._stop_processes)

    def _stop_processes(self):
        failed = self._test_failed()
        for process in reversed(self.processes):
            process.stop()
            if failed:
                sys.stderr.write("\n--- " + process.describe() + "\n")

    def start(self, name, cmd):
        process = BackgroundProcess(name, cmd, self.workdir)
        self.processes.append(process)
        return process

    # -- the three services
    def start_httpbin(self):
        port = free_port()
        httpbin = self.start("httpbin", [SYSTEM_PYTHON, "-m", "httpbin.core", "--port", str(port),
                                         "--host", "127.0.0.1"])
        httpbin.wait_until(lambda: http_request(port, "/get", timeout=2)[0] == 200, 30,
                           "answering GET /get")
        return port

    def proxy_config(self, admin, tcp, http, httpbin):
        with open(CONFIG_DOCKER) as f:
            text = f.read()
        text = substitute(text, 'address: ":42007"', f'address: "127.0.0.1:{admin}"')
        text = substitute(text, 'address: ":8020"', f'address: "127.0.0.1:{tcp}"')
        text = substitute(text, 'address: ":8021"', f'address: "127.0.0.1:{http}"')
        return substitute(text, '"httpbin:80"', f'"127.0.0.1:{httpbin}"')

    def start_prometheus(self, admin):
        with open(PROMETHEUS_CONFIG) as f:
            text = f.read()
        text = substitute(text, '"reverse-proxy:42007"', f'"127.0.0.1:{admin}"')
        text, count = re.subn(r"(?m)^(\s+scrape_interval:\s*)\S+", r"\g<1>1s", text)
        self.assertEqual(count, 1, "one global scrape_interval in config/prometheus.yml")
        config_path = os.path.join(self.workdir, "prometheus.yml")
        with open(config_path, "w") as f:
            f.write(text)
        port = free_port()
        prometheus = self.start("prometheus", [
            PROMETHEUS_BIN, f"--config.file={config_path}",
            f"--storage.tsdb.path={os.path.join(self.workdir, 'data')}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
        prometheus.wait_until(lambda: http_request(port, "/-/ready", timeout=2)[0] == 200, 60,
                              "ready (/-/ready 200)")
        self.prometheus = prometheus
        return port

    def query(self, prometheus_port, expr):
        """The instant vector of `expr`: [(labels, value)]."""
        status, _, body = http_request(
            prometheus_port, "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        self.assertEqual(answer["status"], "success", answer)
        return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]

    def wait_query(self, prometheus_port, expr, expected, timeout=30.0):
        """Polls `expr` until {frozenset of labels minus job/instance: value} == expected;
        returns the last result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(prometheus_port, expr)
            seen = {frozenset((k, v) for k, v in labels.items()
                              if k not in ("job", "instance", "__name__")): value
                    for labels, value in result}
            if seen == expected:
                return result
            if time.monotonic() >= deadline:
                self.fail(f"Prometheus query {expr!r} gave {seen}, expected {expected}, "
                          f"within {timeout}s\n" + self.prometheus.describe()
                          + self._describe_proxies())
            time.sleep(0.25)

    def test_prometheus_reports_the_traffic_to_httpbin(self):
        httpbin = self.start_httpbin()
        admin, tcp, http_port = free_port(), free_port(), free_port()
        self.start_proxy(self.proxy_config(admin, tcp, http_port, httpbin), admin_port=admin)
        prometheus = self.start_prometheus(admin)

        # HTTP: route "httpbin" (Host test.localhost), as in Docker.
        for _ in range(3):
            status, _, body = http_request(http_port, "/get?from=proxy", "test.localhost")
            self.assertEqual(status, 200, body)
            answer = json.loads(body)
            self.assertEqual(answer["args"], {"from": "proxy"})
            # httpbin saw the request as the router sends it: Host is the endpoint's.
            self.assertEqual(answer["headers"]["Host"], f"127.0.0.1:{httpbin}")
            # (httpbin hides X-Forwarded-For and -Proto from its echo.)
            self.assertEqual(answer["headers"].get("X-Forwarded-Host"), "test.localhost")
        for _ in range(2):
            status, _, _ = http_request(http_port, "/status/418", "test.localhost")
            self.assertEqual(status, 418)
        # Route "host_8081": host.docker.internal does not resolve here → 503.
        status, _, _ = http_request(http_port, "/", "localhost")
        self.assertEqual(status, 503)
        # TCP: the listener pipes bytes to httpbin.
        with socket.create_connection(("127.0.0.1", tcp), timeout=10) as s:
            s.sendall(b"GET /status/201 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            response, _ = recv_until_eof(s, timeout=10)
        self.assertTrue(response.startswith(b"HTTP/1.1 201"), response[:200])

        # Prometheus scraped the proxy's admin API...
        up = self.wait_query(prometheus, 'up{job="reverse_proxy"}', {frozenset(): 1.0})
        self.assertEqual(up[0][0]["instance"], f"127.0.0.1:{admin}")
        # ...and holds the Go program's names and the labelled families.
        self.wait_query(prometheus, "http_request_total_count", {frozenset(): 6.0})
        self.wait_query(prometheus, "tcp_connections_total_count", {frozenset(): 1.0})
        self.wait_query(
            prometheus, 'sum by (route, status_class) (proxy_http_requests_total)',
            {frozenset({("route", "httpbin"), ("status_class", "2xx")}): 3.0,
             frozenset({("route", "httpbin"), ("status_class", "4xx")}): 2.0,
             frozenset({("route", "host_8081"), ("status_class", "5xx")}): 1.0})
        self.wait_query(prometheus,
                        'sum by (listener) (proxy_listener_connections_total{listener="tcp"})',
                        {frozenset({("listener", "tcp")}): 1.0})


if __name__ == "__main__":
    unittest.main()
