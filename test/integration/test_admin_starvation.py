"""Idle or slow admin clients never delay the probes (README.md, "Admin API"): with 100
connections sitting on the admin port, idle or sending one byte a second, /healthz, /ready
and /metrics still answer within 200 ms; past the connection cap the oldest connection makes
room; a request head that does not arrive in time is answered 408 and closed; a reload in
flight does not hold the probes either."""

import json
import os
import socket
import threading
import time
import unittest

from proxy_harness import ProxyTestCase, connect, free_port, note, recv_until_eof

PROBES = ("/healthz", "/ready", "/metrics")
PROBE_DEADLINE = 0.2  # seconds, per probe, connection set-up included
ATTACKERS = 100
CONNECTION_CAP = 256  # AdminServer::kMaxConnections


def probe(port, path, timeout=2.0):
    """(status, seconds) of one GET on a fresh connection, as an orchestrator's probe makes."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 10.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                  .encode())
        data, _ = recv_until_eof(s, timeout=timeout)
    elapsed = time.monotonic() - start
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, elapsed


def config(admin_port, clusters=1, routes=1):
    lines = [f'admin: {{ address: "127.0.0.1:{admin_port}" }}', "workers: 1",
             "shutdown_timeout: 1s", "clusters:"]
    for i in range(clusters):
        lines.append(f'  - {{ name: c{i}, endpoints: ["127.0.0.1:{1000 + i}"] }}')
    lines += ["listeners:", "  - name: web", f'    address: "127.0.0.1:{free_port()}"',
              "    filters:", "      - name: http_connection_manager", "        config:",
              "          http_filters:", "            - name: path_prefix_router",
              "              config:", "                routes:"]
    for i in range(routes):
        lines.append(" " * 18 + f"- {{ name: r{i}, prefix: /p{i}/, cluster: c{i % clusters} }}")
    lines.append("            - name: router")
    return "\n".join(lines) + "\n"


class AdminStarvationTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.admin = free_port()
        self.proxy = self.start_proxy(config(self.admin), admin_port=self.admin, workers=None)

    def open_connections(self, n):
        sockets = []
        for _ in range(n):
            s = connect(self.admin, timeout=5)
            self.addCleanup(s.close)
            sockets.append(s)
        return sockets

    def assert_probes_fast(self, rounds=5, label=""):
        worst = 0.0
        for _ in range(rounds):
            for path in PROBES:
                status, elapsed = probe(self.admin, path)
                self.assertEqual(status, 200, f"{label} {path}")
                self.assertLess(elapsed, PROBE_DEADLINE, f"{label} {path} took {elapsed:.3f}s")
                worst = max(worst, elapsed)
        note(f"{label}: worst probe {worst * 1000:.1f} ms over {rounds * len(PROBES)} probes")
        return worst

    def test_probes_answer_within_200ms_beside_100_idle_connections(self):
        sockets = self.open_connections(ATTACKERS)
        time.sleep(0.2)  # all accepted
        self.assert_probes_fast(label=f"{ATTACKERS} idle connections")
        # They are still open (nothing was closed to make room below the cap).
        for s in sockets[:5]:
            s.setblocking(False)
            with self.assertRaises(BlockingIOError):
                s.recv(1)

    def test_probes_answer_within_200ms_beside_100_byte_a_second_connections(self):
        sockets = self.open_connections(ATTACKERS)
        head = b"GET /config_dump HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 64
        stop = threading.Event()

        def trickle():
            offset = 0
            while not stop.is_set() and offset < len(head):
                for s in sockets:
                    try:
                        s.send(head[offset:offset + 1])
                    except OSError:
                        pass
                offset += 1
                stop.wait(1.0)

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(stop.set)
        time.sleep(1.5)  # every connection is part-way through a request head
        self.assert_probes_fast(rounds=4, label=f"{ATTACKERS} byte-a-second connections")

    def test_a_head_that_does_not_arrive_in_time_is_answered_408_and_closed(self):
        s = connect(self.admin, timeout=10)
        self.addCleanup(s.close)
        start = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # never finished
        data, _ = recv_until_eof(s, timeout=10)
        elapsed = time.monotonic() - start
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:100])
        self.assertGreater(elapsed, 4.0)
        self.assertLess(elapsed, 8.0)

    def test_past_the_connection_cap_the_oldest_connection_makes_room(self):
        sockets = self.open_connections(CONNECTION_CAP + 44)
        time.sleep(0.3)
        self.assert_probes_fast(rounds=2, label=f"{CONNECTION_CAP + 44} idle connections")
        # The first ones were closed to make room; the last ones are open.
        sockets[0].settimeout(2)
        data, _ = recv_until_eof(sockets[0], timeout=2)
        self.assertEqual(data, b"")
        last = sockets[-1]
        last.setblocking(False)
        with self.assertRaises(BlockingIOError):
            last.recv(1)

    def test_probes_are_not_held_by_a_reload_in_flight(self):
        """A large config makes the reload take a while on the main thread; the probes are
        answered meanwhile by the admin thread."""
        text = config(self.admin, clusters=50, routes=5000)
        with open(self.proxy.config_path, "w") as f:
            f.write(text)
        answer = {}

        def reload():
            with socket.create_connection(("127.0.0.1", self.admin), timeout=60) as s:
                s.sendall(b"POST /reload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                          b"Content-Length: 0\r\n\r\n")
                data, _ = recv_until_eof(s, timeout=60)
            answer["data"] = data
            answer["done"] = time.monotonic()

        thread = threading.Thread(target=reload, daemon=True)
        started = time.monotonic()
        thread.start()
        self.addCleanup(thread.join, 60)
        probes_during = 0
        worst = 0.0
        while "done" not in answer and time.monotonic() - started < 60:
            for path in PROBES:
                status, elapsed = probe(self.admin, path)
                self.assertEqual(status, 200, path)
                self.assertLess(elapsed, PROBE_DEADLINE, f"{path} took {elapsed:.3f}s "
                                                         "during a reload")
                worst = max(worst, elapsed)
                if "done" not in answer:
                    probes_during += 1
        thread.join(60)
        self.assertTrue(answer.get("data", b"").startswith(b"HTTP/1.1 200 "),
                        answer.get("data", b"")[:300])
        body = answer["data"].partition(b"\r\n\r\n")[2]
        self.assertEqual(json.loads(body)["generation"], 2)
        note(f"reload took {answer['done'] - started:.2f}s; {probes_during} probes answered "
             f"meanwhile, worst {worst * 1000:.1f} ms")
        self.assertGreater(probes_during, 0, "the reload ended before any probe could be made")


if __name__ == "__main__":
    unittest.main()
