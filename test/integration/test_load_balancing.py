"""Load balancing, passive health and DNS end to end: the real proxy (--workers 1, so the
round-robin rotation is one worker's and exactly predictable), in-process upstreams that
answer with their own name, plain socket clients.

What is covered here: round robin order, least_request avoiding a busy upstream, ejection
after consecutive connect failures and the return after ejection_time (HTTP and TCP), every
endpoint down → 503, an unresolvable name → 503 beside working routes, the health metrics.
A name that *starts* resolving needs DNS control this test does not have: that path (the
main thread's periodic re-resolution swapping an address) is covered by the unit tests
test/common/upstream/cluster_impl_test.cc and test/server/dns_refresher_test.cc; here a
resolvable name (`localhost`) and an unresolvable one are used as they are at load."""

import socket
import threading
import time
import unittest

from http_upstream import Reader, read_request, read_response
from proxy_harness import ProxyTestCase, TcpServer, echo_handler, free_port, recv_exact


def identity_handler(conn, server):
    """Answers every request with the server's name; /slow waits for server.release."""
    reader = Reader(conn)
    while True:
        req = read_request(reader)
        if req is None:
            return
        with server.lock:
            server.results.append(req["target"])
        if req["target"].startswith("/slow"):
            server.slow_started.set()
            server.release.wait(10)
        body = (server.name + "\n").encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def lb_config(admin, port, clusters, routes):
    """clusters: list of (name, endpoints, extra YAML fields dict); routes: (prefix, cluster)."""
    lines = [f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 1",
             "shutdown_timeout: 1s", "clusters:"]
    for name, endpoints, extra in clusters:
        eps = ", ".join(f'"{e}"' for e in endpoints)
        lines += [f"  - name: {name}", f"    endpoints: [{eps}]", "    connect_timeout: 1s"]
        lines += [f"    {key}: {value}" for key, value in extra.items()]
    lines += ["listeners:", "  - name: web", f'    address: "127.0.0.1:{port}"', "    filters:",
              "      - name: http_connection_manager", "        config:",
              "          http_filters:", "            - name: stats",
              "            - name: path_prefix_router", "              config:",
              "                routes:"]
    for prefix, cluster in routes:
        lines.append(f"                  - {{ prefix: {prefix}, cluster: {cluster} }}")
    lines.append("            - name: router")
    return "\n".join(lines) + "\n"


class LoadBalancingCase(ProxyTestCase):
    def upstream(self, name, port=0):
        server = TcpServer(identity_handler, port=port)
        server.name = name
        server.slow_started = threading.Event()
        self.addCleanup(server.close)
        return server

    def start(self, clusters, routes=(("/", "c"),)):
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(lb_config(self.admin, self.port, clusters, routes),
                                      admin_port=self.admin, workers=1)

    def get(self, path="/"):
        """One request on a new connection: (status, body text)."""
        s = self.client(self.port, timeout=10)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: lb.test\r\n\r\n".encode())
        resp = read_response(Reader(s))
        s.close()
        return resp.status, resp.body.decode()

    def names(self, count, path="/"):
        out = []
        for _ in range(count):
            status, body = self.get(path)
            out.append(body.strip() if status == 200 else status)
        return out

    def metric(self, name, cluster):
        return self.metrics(self.admin).value(name, cluster=cluster)


class RoundRobinTest(LoadBalancingCase):
    def test_alternates_exactly_across_three(self):
        ups = [self.upstream(n) for n in ("a", "b", "c")]
        self.start([("c", [f"127.0.0.1:{u.port}" for u in ups], {"lb_policy": "round_robin"})])
        self.assertEqual(self.names(9), ["a", "b", "c"] * 3)

    def test_default_policy_is_round_robin_on_keep_alive_too(self):
        ups = [self.upstream(n) for n in ("a", "b")]
        self.start([("c", [f"127.0.0.1:{u.port}" for u in ups], {})])
        s = self.client(self.port, timeout=10)
        reader = Reader(s)
        got = []
        for _ in range(4):
            s.sendall(b"GET / HTTP/1.1\r\nHost: lb.test\r\n\r\n")
            got.append(read_response(reader).body.decode().strip())
        self.assertEqual(got, ["a", "b", "a", "b"])


class LeastRequestTest(LoadBalancingCase):
    def test_idle_upstream_takes_requests_while_another_is_busy(self):
        busy, idle = self.upstream("busy"), self.upstream("idle")
        self.start([("c", [f"127.0.0.1:{busy.port}", f"127.0.0.1:{idle.port}"],
                     {"lb_policy": "least_request"})])
        slow = {}
        thread = threading.Thread(target=lambda: slow.update(r=self.get("/slow")), daemon=True)
        thread.start()
        # Both are idle at first: the tie goes to the first, "busy".
        self.assertTrue(busy.slow_started.wait(5), "the slow request did not reach 'busy'")
        self.assertEqual(self.names(5), ["idle"] * 5)
        busy.release.set()
        thread.join(10)
        self.assertEqual(slow.get("r"), (200, "busy\n"))
        # Both idle again: ties rotate.
        self.assertEqual(sorted(self.names(2)), ["busy", "idle"])


class PassiveHealthTest(LoadBalancingCase):
    def test_down_endpoint_is_ejected_after_five_failures_and_returns(self):
        up = self.upstream("up")
        down_port = free_port()  # nothing listens: connect refused
        self.start([("c", [f"127.0.0.1:{up.port}", f"127.0.0.1:{down_port}"],
                     {"passive_health": "{ consecutive_failures: 5, ejection_time: 2s }"})])
        self.assertEqual(self.metric("proxy_upstream_endpoints_healthy", "c"), 2)
        # Alternating: the down endpoint's five refusals are 502s, then it is left out.
        got = self.names(20)
        self.assertEqual(got[:10], ["up", 502] * 5)
        self.assertEqual(got[10:], ["up"] * 10)
        self.assertEqual(self.metric("proxy_upstream_endpoint_ejections_total", "c"), 1)
        self.assertEqual(self.metric("proxy_upstream_endpoints_healthy", "c"), 1)
        self.assertEqual(len(up.results), 15)

        # It comes back up; after ejection_time it gets its turn again.
        back = self.upstream("back", port=down_port)
        self.wait_metric(self.admin, lambda m: m.value("proxy_upstream_endpoints_healthy",
                                                       cluster="c") == 2,
                         timeout=5, what="the ejected endpoint's return")
        got = self.names(6)
        self.assertEqual(sorted(got), ["back"] * 3 + ["up"] * 3)
        self.assertEqual(len(back.results), 3)

    def test_every_endpoint_down_is_503_with_a_body(self):
        ports = [free_port(), free_port()]
        self.start([("c", [f"127.0.0.1:{p}" for p in ports], {})])  # default: 5 failures
        self.assertEqual(self.names(10), [502] * 10)
        status, body = self.get()
        self.assertEqual((status, body), (503, "no healthy upstream\n"))
        self.assertEqual(self.metric("proxy_upstream_endpoint_ejections_total", "c"), 2)
        self.assertEqual(self.metric("proxy_upstream_endpoints_healthy", "c"), 0)

    def test_tcp_proxy_skips_a_down_endpoint_and_ejects_it(self):
        echo = TcpServer(echo_handler)
        self.addCleanup(echo.close)
        down_port = free_port()
        admin, port = free_port(), free_port()
        config = "\n".join([
            f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 1", "clusters:",
            f'  - {{ name: t, endpoints: ["127.0.0.1:{down_port}", "127.0.0.1:{echo.port}"],',
            "      passive_health: { consecutive_failures: 2, ejection_time: 30s } }",
            "listeners:", "  - name: tcp", f'    address: "127.0.0.1:{port}"', "    filters:",
            "      - name: tcp_proxy", "        config: { cluster: t }"]) + "\n"
        self.start_proxy(config, admin_port=admin, workers=1)
        for i in range(6):
            s = self.client(port, timeout=5)
            s.sendall(b"ping%d" % i)
            self.assertEqual(recv_exact(s, 5, timeout=5), b"ping%d" % i)
            s.close()
        metrics = self.metrics(admin)
        self.assertEqual(metrics.value("proxy_upstream_endpoint_ejections_total", cluster="t"), 1)
        self.assertEqual(metrics.value("proxy_upstream_endpoints_healthy", cluster="t"), 1)
        self.assertEqual(echo.accepted, 6)


class DnsTest(LoadBalancingCase):
    def test_unresolvable_name_is_503_while_others_work(self):
        up = self.upstream("up")
        self.start([("ghost", ["nonexistent.invalid:80"], {"dns_refresh_interval": "100ms"}),
                    ("named", [f"localhost:{up.port}"], {"dns_refresh_interval": "0s"})],
                   routes=(("/ghost", "ghost"), ("/", "named")))
        status, body = self.get("/ghost")
        self.assertEqual((status, body), (503, "no healthy upstream: name does not resolve\n"))
        self.assertEqual(self.get("/"), (200, "up\n"))
        self.assertEqual(self.metric("proxy_upstream_endpoints_healthy", "ghost"), 0)
        self.assertEqual(self.metric("proxy_upstream_endpoints_healthy", "named"), 1)
        # The refresher keeps retrying the name on the main thread; traffic is unaffected.
        time.sleep(0.3)
        self.assertEqual(self.get("/ghost")[0], 503)
        self.assertEqual(self.get("/"), (200, "up\n"))
        self.assertTrue(self.proxy.running())


if __name__ == "__main__":
    unittest.main()
