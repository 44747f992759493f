"""The proxy out of descriptors (EMFILE) is the proxy's problem, not the upstream's: the
request gets 503 with cause local_resource_exhausted, the TCP client is closed with that
cause, the cause is logged with strerror, and passive health ejects nothing (a healthy
upstream would otherwise be refused to everyone for ejection_time). Also: max_connections
is exact over every worker, and a descriptor limit too small for it is warned about."""

import os
import resource
import time
import unittest

from http_upstream import Reader, read_response, send_request, start_http_upstream
from proxy_harness import (ProxyTestCase, echo_handler, free_port, recv_exact, recv_until_eof,
                           sleep_until)


def config(admin, web, tcp, up_port, echo_port, log_path):
    return f"""admin: {{ address: "127.0.0.1:{admin}" }}
workers: 1
shutdown_timeout: 2s
access_log: {{ path: "{log_path}", format: text }}
clusters:
  - name: up
    endpoints: ["127.0.0.1:{up_port}"]
    passive_health: {{ consecutive_failures: 1, ejection_time: 60s }}
  - name: echo
    endpoints: ["127.0.0.1:{echo_port}"]
    passive_health: {{ consecutive_failures: 1, ejection_time: 60s }}
listeners:
  - name: web
    address: "127.0.0.1:{web}"
    max_connections: 1000000
    filters:
      - name: http_connection_manager
        config:
          http_filters:
            - name: stats
            - name: path_prefix_router
              config: {{ routes: [{{ prefix: /, cluster: up }}] }}
            - name: router
  - name: tcp
    address: "127.0.0.1:{tcp}"
    filters:
      - name: stats
      - name: tcp_proxy
        config: {{ cluster: echo, splice: false }}
"""


class DescriptorExhaustionTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.up = start_http_upstream(self)
        self.echo = self.start_server(echo_handler)
        self.admin, self.web, self.tcp = free_port(), free_port(), free_port()
        self.log_dir = self.enterContext_tempdir()
        self.log_path = os.path.join(self.log_dir, "access.log")
        self.proxy = self.start_proxy(
            config(self.admin, self.web, self.tcp, self.up.port, self.echo.port, self.log_path),
            admin_port=self.admin, workers=None)
        self.idle = []  # client connections that only hold a descriptor in the proxy

    def enterContext_tempdir(self):
        import shutil
        import tempfile
        path = tempfile.mkdtemp(prefix="proxy-it-fds-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def fds(self):
        return [int(name) for name in os.listdir(f"/proc/{self.proxy.pid}/fd")]

    def limit_to_free(self, free):
        """Lowers the proxy's soft RLIMIT_NOFILE (as `ulimit -n` would) so exactly `free`
        descriptor numbers are left: a new descriptor takes the lowest free number below the
        limit, and the proxy raised its soft limit only at start."""
        # The admin connection of the readiness probe closes on its own time: settled first.
        previous = None
        while True:
            used = set(self.fds())
            if used == previous:
                break
            previous = used
            time.sleep(0.3)
        limit, left = 0, 0
        while left < free:
            if limit not in used:
                left += 1
            limit += 1
        self.soft, self.hard = resource.prlimit(self.proxy.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(self.proxy.pid, resource.RLIMIT_NOFILE, (limit, self.hard))
        self.addCleanup(self.unlimit)
        self.limit = limit
        return limit

    def free_slots(self):
        used = set(self.fds())
        return len([n for n in range(self.limit) if n not in used])

    def unlimit(self):
        if self.proxy.running():
            resource.prlimit(self.proxy.pid, resource.RLIMIT_NOFILE, (self.soft, self.hard))

    def fill(self, count):
        """`count` idle HTTP client connections, each accepted (holding one descriptor)."""
        before = self.free_slots()
        for _ in range(count):
            self.idle.append(self.client(self.web, timeout=10))
        ok = sleep_until(lambda: self.free_slots() <= before - count, 5)
        self.assertTrue(ok, f"the proxy did not accept {count} connections: "
                            f"{self.free_slots()} descriptors free, was {before}")

    def release(self, count):
        before = self.free_slots()
        for _ in range(count):
            self.idle.pop().close()
        self.assertTrue(sleep_until(lambda: self.free_slots() >= before + count, 5),
                        "the proxy did not close the released connections")

    def access_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_emfile_on_the_upstream_socket_is_local_and_ejects_nothing(self):
        # The descriptor limit cannot hold max_connections: said at start.
        self.proxy.wait_log(r"descriptor limit \(RLIMIT_NOFILE\) is \d+ .*may need about \d+")

        # HTTP: every descriptor taken by idle clients, then a request needs one more.
        self.limit_to_free(3)
        self.fill(3)
        s, r = self.idle[0], Reader(self.idle[0])
        resp = send_request(s, r, "/full")
        self.assertEqual(resp.status, 503, resp.body)
        self.assertEqual(resp.body, b"proxy out of resources\n")
        self.proxy.wait_log(rf"local_resource_exhausted: listener web cluster up endpoint "
                            rf"127\.0\.0\.1:{self.up.port}: Too many open files")
        self.assertEqual(self.up.accepted, 0)

        # TCP: one descriptor left; the accept takes it, so the upstream socket cannot open.
        self.release(1)
        c = self.client(self.tcp, timeout=10)
        data, _ = recv_until_eof(c, timeout=5)
        self.assertEqual(data, b"")
        self.proxy.wait_log(rf"local_resource_exhausted: listener tcp cluster echo endpoint "
                            rf"127\.0\.0\.1:{self.echo.port}: Too many open files")
        self.assertEqual(self.echo.accepted, 0)

        # Descriptors back: both upstreams were never ejected (one failure would eject them).
        while self.idle:
            self.release(1)
        self.unlimit()
        s = self.client(self.web, timeout=10)
        r = Reader(s)
        resp = send_request(s, r, "/after")
        self.assertEqual(resp.status, 200, resp.body)
        t = self.client(self.tcp, timeout=10)
        t.sendall(b"ping")
        self.assertEqual(recv_exact(t, 4), b"ping")

        m = self.wait_metric(self.admin, lambda m: m.value(
            "proxy_listener_connection_failures_total", listener="tcp",
            cause="local_resource_exhausted") == 1, what="the tcp failure counted")
        self.assertEqual(m.value("proxy_http_request_failures_total", listener="web",
                                 cause="local_resource_exhausted"), 1, m.text)
        for cluster in ("up", "echo"):
            self.assertEqual(m.value("proxy_upstream_endpoint_ejections_total", cluster=cluster)
                             or 0, 0, m.text)
            self.assertEqual(m.value("proxy_upstream_endpoints_healthy", cluster=cluster), 1,
                             m.text)
        self.assertTrue(sleep_until(lambda: self.access_log().count("local_resource_exhausted")
                                    == 2, 5), self.access_log())
        self.assertRegex(self.access_log(),
                         r'(?m)"GET /full HTTP/1\.1" 503 .* local_resource_exhausted$')
        self.assertRegex(self.access_log(), r'(?m)"TCP" - .* local_resource_exhausted$')


class ExactConnectionLimitTest(ProxyTestCase):
    """max_connections counts over every worker: with 4 workers and a limit of 4, the old
    per-worker share (1 each) refused a second connection landing on a busy worker."""

    def test_limit_is_exact_over_the_workers(self):
        from proxy_harness import tcp_config
        upstream = self.start_server(echo_handler)
        admin, port = free_port(), free_port()
        self.start_proxy(tcp_config(admin, port, [upstream.port], max_connections=4),
                         admin_port=admin, workers=4)
        clients = []
        for i in range(4):
            c = self.client(port, timeout=10)
            c.sendall(b"c%d" % i)
            self.assertEqual(recv_exact(c, 2), b"c%d" % i, f"connection {i} under the limit")
            clients.append(c)
        over = self.client(port, timeout=10)
        try:
            over.sendall(b"over")
        except OSError:
            pass
        data, _ = recv_until_eof(over, timeout=3)
        self.assertEqual(data, b"", "the connection over the limit was served")
        self.wait_metric(admin, lambda m: m.value("proxy_listener_connections_rejected_total",
                                                  listener="tcp") == 1,
                         what="connections_rejected_total == 1")
        clients.pop().close()
        time.sleep(0.2)
        deadline = time.monotonic() + 5
        while True:
            again = self.client(port, timeout=10)
            again.sendall(b"again")
            try:
                if recv_exact(again, 5, timeout=2) == b"again":
                    break
            except (AssertionError, OSError, EOFError):
                pass
            self.assertLess(time.monotonic(), deadline, "a freed place was not given again")


if __name__ == "__main__":
    unittest.main()
