"""Config reload (docs/behaviour.md §7): /reload and SIGHUP apply a new config as a transaction while
traffic flows, and nothing in flight is dropped.

The upstreams answer with their own name, so every answer proves where it was routed. The
"websocket" listener leads to a WebSocket echo upstream and no reload changes it.
"""

import http.client
import json
import os
import re
import signal
import socket
import threading
import time
import unittest

from http_upstream import Reader, read_request, read_response
from proxy_harness import ProxyTestCase, echo_handler, free_port, recv_exact, sleep_until
from websocket_peer import encode_frame, read_frame, websocket_handler, websocket_handshake

UPSTREAMS = ["u0", "u1", "u2", "u3"]


def named_handler(name):
    """An HTTP/1.1 keep-alive upstream that answers every request with its name."""
    def handler(conn, server):
        reader = Reader(conn)
        while True:
            req = read_request(reader)
            if req is None:
                return
            body = name.encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return handler


def admin_call(admin_port, method, path, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def http_request(sock_reader, sock, path="/"):
    """One GET on an open connection; the Response."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: app.local\r\n\r\n".encode())
    return read_response(sock_reader)


class ReloadTestBase(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.upstreams = {}
        for name in UPSTREAMS:
            self.upstreams[name] = self.start_server(named_handler(name))
        self.echo = self.start_server(echo_handler)
        self.websocket = self.start_server(websocket_handler)
        self.admin_port = free_port()

    def config(self, main="u0", extra_listener=False, broken=None, echo_port=None,
               shutdown_timeout="2s", workers=2, more_routes="", ws_port=None,
               stable_ws=False):
        """web (HTTP, port 0): "/" → cluster `main`, "/fixed" → u3; tcp (port 0) → echo;
        websocket (HTTP, port 0) → the WebSocket upstream (cluster ws, or the one on `ws_port`);
        with `stable_ws` "/stable" there → cluster ws_stable (the WebSocket upstream);
        with `extra_listener` a second TCP listener "extra" (port 0) → echo."""
        lines = [f'admin: {{ address: "127.0.0.1:{self.admin_port}" }}',
                 "log_level: info",
                 f"workers: {workers}",
                 f"shutdown_timeout: {shutdown_timeout}",
                 "clusters:"]
        for name, server in self.upstreams.items():
            lines.append(f'  - {{ name: {name}, endpoints: ["127.0.0.1:{server.port}"] }}')
        lines.append(f'  - {{ name: echo, endpoints: ["127.0.0.1:{echo_port or self.echo.port}"] }}')
        ws = f"127.0.0.1:{ws_port or self.websocket.port}"
        lines.append(f'  - {{ name: ws, endpoints: ["{ws}"] }}')
        if stable_ws:
            stable = f"127.0.0.1:{self.websocket.port}"
            lines.append(f'  - {{ name: ws_stable, endpoints: ["{stable}"] }}')
        ws_routes = "{ name: ws, prefix: /, cluster: ws }"
        if stable_ws:
            ws_routes = "{ name: stable, prefix: /stable, cluster: ws_stable }, " + ws_routes
        route_cluster = "no_such_cluster" if broken == "cluster" else main
        lines += [
            "listeners:",
            "  - name: web",
            '    address: "127.0.0.1:0"',
            "    filters:",
            "      - name: http_connection_manager",
            "        config:",
            "          http_filters:",
            "            - name: path_prefix_router",
            "              config:",
            "                routes:",
            "                  - { name: fixed, prefix: /fixed, cluster: u3 }",
        ]
        lines += more_routes.splitlines()  # before the catch-all: first match wins
        lines += [
            f"                  - {{ name: main, prefix: /, cluster: {route_cluster} }}",
            "            - name: router",
            "  - name: tcp",
            '    address: "127.0.0.1:0"',
            "    filters:",
            "      - { name: tcp_proxy, config: { cluster: echo } }",
            "  - name: websocket",
            '    address: "127.0.0.1:0"',
            "    filters:",
            "      - name: http_connection_manager",
            "        config:",
            "          http_filters:",
            "            - name: path_prefix_router",
            f"              config: {{ routes: [{ws_routes}] }}",
            "            - name: router",
        ]
        if extra_listener:
            lines += ["  - name: extra",
                      '    address: "127.0.0.1:0"',
                      "    filters:",
                      "      - { name: tcp_proxy, config: { cluster: echo } }"]
        if broken == "bind":
            lines += ["  - name: taken",
                      f'    address: "127.0.0.1:{self.taken_port}"',
                      "    filters:",
                      "      - { name: tcp_proxy, config: { cluster: echo } }"]
        text = "\n".join(lines) + "\n"
        if broken == "key":
            text = text.replace("log_level: info", "log_level: info\nsurprise: 1")
        return text

    def write_config(self, text):
        with open(self.proxy.config_path, "w") as f:
            f.write(text)

    def start(self, **kw):
        self.proxy = self.start_proxy(self.config(**kw), admin_port=self.admin_port, workers=None)
        return self.dump()

    def dump(self):
        status, body = admin_call(self.admin_port, "GET", "/config_dump")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def port_of(self, listener):
        address = self.dump()["bound_addresses"][listener]
        return int(address.rsplit(":", 1)[1])

    def reload(self, text, method="POST"):
        self.write_config(text)
        status, body = admin_call(self.admin_port, method, "/reload")
        return status, json.loads(body)

    def get(self, port, path="/"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            return http_request(Reader(sock), sock, path)


class ReloadUnderTrafficTest(ReloadTestBase):
    """The issue's scenario: 20 reloads while traffic flows; no client retries."""

    def test_twenty_reloads_under_traffic(self):
        self.taken = socket.socket()
        self.addCleanup(self.taken.close)
        self.taken.bind(("127.0.0.1", 0))
        self.taken.listen(1)
        self.taken_port = self.taken.getsockname()[1]

        dump = self.start()
        self.assertEqual(dump["generation"], 1)
        web = self.port_of("web")
        tcp = self.port_of("tcp")
        self.assertNotEqual(web, 0)

        lock = threading.Lock()
        stop = threading.Event()
        # (send time, upstream name) of every answered request, and every failure.
        answers = []
        failures = []
        # (start, end, expected upstream after) of each applied reload.
        periods = []

        def record(sent, response, kind):
            with lock:
                if response.status != 200:
                    failures.append(f"{kind}: status {response.status} {response.body[:100]!r}")
                else:
                    answers.append((sent, response.body.decode()))

        def keep_alive_client():
            sock, reader = None, None
            while not stop.is_set():
                try:
                    if sock is None:
                        sock = socket.create_connection(("127.0.0.1", web), timeout=5)
                        reader = Reader(sock)
                    sent = time.monotonic()
                    response = http_request(reader, sock)
                    record(sent, response, "keep-alive")
                    if (response.header("connection") or "").lower() == "close":
                        sock.close()
                        sock = None
                except Exception as error:  # a reset, EOF or timeout: a failure
                    with lock:
                        failures.append(f"keep-alive: {error!r}")
                    if sock is not None:
                        sock.close()
                    sock = None
                time.sleep(0.002)
            if sock is not None:
                sock.close()

        def new_connection_client():
            while not stop.is_set():
                try:
                    sent = time.monotonic()
                    record(sent, self.get(web), "new-connection")
                except Exception as error:
                    with lock:
                        failures.append(f"new-connection: {error!r}")
                time.sleep(0.002)

        stream_errors = []
        stream_rounds = [0]

        def tcp_stream():
            try:
                with socket.create_connection(("127.0.0.1", tcp), timeout=5) as sock:
                    n = 0
                    while not stop.is_set():
                        payload = f"ping {n}\n".encode()
                        sock.sendall(payload)
                        self.assertEqual(recv_exact(sock, len(payload), timeout=5), payload)
                        n += 1
                        stream_rounds[0] = n
                        time.sleep(0.05)
            except Exception as error:
                stream_errors.append(repr(error))

        # A WebSocket through the "websocket" listener, which no reload changes: frames of
        # several sizes echoed back to back, on the one connection, throughout.
        ws_sock, ws_reader = websocket_handshake(self, self.port_of("websocket"), timeout=5)
        ws_sizes = (1, 125, 126, 65535, 65536, 300000)
        ws_errors = []
        ws_echoes = [0]

        def websocket_stream():
            n = 0
            try:
                while not stop.is_set():
                    payload = os.urandom(ws_sizes[n % len(ws_sizes)])
                    ws_sock.sendall(encode_frame(payload))
                    opcode, echoed = read_frame(ws_reader)
                    if opcode != 0x2 or echoed != payload:
                        ws_errors.append(f"frame {n}: opcode {opcode}, {len(echoed)} bytes "
                                         f"for {len(payload)}, equal: {echoed == payload}")
                        return
                    n += 1
                    ws_echoes[0] = n
                    time.sleep(0.01)
            except Exception as error:  # a reset, EOF or timeout: the tunnel was cut
                ws_errors.append(f"frame {n}: {error!r}")

        def websocket_echoes_after_reload():
            # The frame in flight may predate the reload; every size after it does not.
            target = ws_echoes[0] + 1 + len(ws_sizes)
            self.assertTrue(sleep_until(lambda: ws_echoes[0] >= target or ws_errors, 10),
                            f"WebSocket stalled at {ws_echoes[0]} echoes")
            self.assertEqual(ws_errors, [])

        threads = [threading.Thread(target=f, daemon=True)
                   for f in (keep_alive_client, new_connection_client, tcp_stream,
                             websocket_stream)]
        for thread in threads:
            thread.start()
        self.addCleanup(lambda: [stop.set()] + [t.join(10) for t in threads])

        # 20 reloads: 15 route changes, one adds a listener, one removes it, 3 broken.
        plan = ["u1", "u2", ("broken", "key"), "u3", ("add",), "u0",
                ("broken", "cluster"), "u1", ("remove",), "u2", ("broken", "bind"), "u3",
                "u0", "u1", "u2", "u3", "u0", "u1", "u2", "u3"]
        self.assertEqual(len(plan), 20)
        current, extra = "u0", False
        generation = 1
        route_changes = 0
        for step in plan:
            time.sleep(0.15)
            start = time.monotonic()
            if isinstance(step, tuple) and step[0] == "broken":
                status, answer = self.reload(self.config(current, extra, broken=step[1]))
                self.assertEqual(status, 400, answer)
                self.assertEqual(answer["status"], "error")
                self.assertEqual(answer["generation"], generation)
                self.assertEqual(len(answer["errors"]), 1)
                error = answer["errors"][0]
                self.assertRegex(error, r"config\.yml:\d+:\d+: ")
                expected = {"key": "surprise", "cluster": "no_such_cluster",
                            "bind": f"listeners[{4 if extra else 3}].address"}[step[1]]
                self.assertIn(expected, error)
                # The old routing still answers.
                self.assertEqual(self.get(web).body.decode(), current)
                self.assertEqual(self.dump()["generation"], generation)
                websocket_echoes_after_reload()
                continue
            if step == ("add",):
                extra = True
            elif step == ("remove",):
                extra_port = self.port_of("extra")
                extra = False
            else:
                route_changes += 1
                current = step
            status, answer = self.reload(self.config(current, extra),
                                         method="GET" if generation % 2 else "POST")
            end = time.monotonic()
            self.assertEqual(status, 200, answer)
            generation += 1
            self.assertEqual(answer["generation"], generation)
            periods.append((start, end, current))
            changes = answer["changes"]
            if step == ("add",):
                self.assertEqual(changes["listeners"]["added"], ["extra"])
                port = self.port_of("extra")
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(b"hello extra")
                    self.assertEqual(recv_exact(sock, 11, timeout=5), b"hello extra")
            elif step == ("remove",):
                self.assertEqual(changes["listeners"]["removed"], ["extra"])
                with self.assertRaises(OSError):
                    socket.create_connection(("127.0.0.1", extra_port), timeout=2).close()
            else:
                self.assertEqual(changes["routes"]["changed"], ["web/path_prefix_router/main"])
                self.assertEqual(changes["listeners"]["changed"], ["web"])
                # The new routing is what answers, on new connections...
                for _ in range(3):
                    self.assertEqual(self.get(web).body.decode(), current)
                self.assertEqual(self.get(web, "/fixed").body.decode(), "u3")
            self.assertEqual(changes["clusters"],
                             {"added": [], "removed": [], "changed": []})
            websocket_echoes_after_reload()
        self.assertGreaterEqual(route_changes, 5)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(10)

        self.assertEqual(failures, [], "\n".join(failures[:20]))
        self.assertEqual(stream_errors, [])
        self.assertGreater(stream_rounds[0], 20)
        self.assertGreater(len(answers), 100)
        # Every request sent after a reload answered, and before the next one started, went
        # where that reload routes it (keep-alive connections included).
        mismatches = []
        for sent, upstream in answers:
            expected = "u0"
            in_window = False
            for start, end, target in periods:
                if sent >= end:
                    expected = target
                elif sent >= start:
                    in_window = True
            if not in_window and upstream != expected:
                mismatches.append((sent, upstream, expected))
        self.assertEqual(mismatches, [], mismatches[:10])

        metrics = self.metrics(self.admin_port)
        self.assertEqual(metrics.value("proxy_config_generation"), generation)
        self.assertEqual(metrics.value("proxy_config_reloads_total", result="ok"), 17)
        self.assertEqual(metrics.value("proxy_config_reloads_total", result="failed"), 3)
        # The TCP stream lived through every reload, on its first connection.
        self.assertEqual(self.echo.accepted, 2)  # the stream and the one "extra" check
        # So did the WebSocket: every echo matched, one handshake, one upstream connection, and
        # it still closes cleanly through the tunnel.
        self.assertEqual(ws_errors, [])
        self.assertGreaterEqual(ws_echoes[0], 20 * len(ws_sizes))
        ws_sock.sendall(encode_frame(b"\x03\xe8", opcode=0x8))
        self.assertEqual(read_frame(ws_reader), (0x8, b"\x03\xe8"))
        self.assertEqual(ws_sock.recv(1), b"")
        self.assertEqual(self.websocket.accepted, 1)
        self.assertEqual(len(self.websocket.results), 1)
        self.assertEqual(self.websocket.errors, [])


class ReloadSemanticsTest(ReloadTestBase):
    def test_sighup_reloads_and_logs(self):
        self.start()
        web = self.port_of("web")
        self.write_config(self.config("u2"))
        os.kill(self.proxy.pid, signal.SIGHUP)
        self.proxy.wait_log(r"SIGHUP: reload applied, generation 2: .*\"web/path_prefix_router/main\"")
        self.assertEqual(self.get(web).body.decode(), "u2")
        self.write_config(self.config("u2", broken="key"))
        os.kill(self.proxy.pid, signal.SIGHUP)
        self.proxy.wait_log(r"SIGHUP: reload refused, generation 2 still running: \S*config\.yml:"
                            r"\d+:\d+: .*surprise")
        self.assertEqual(self.get(web).body.decode(), "u2")
        self.assertTrue(self.proxy.running())

    def test_config_dump(self):
        dump = self.start()
        self.assertEqual(dump["generation"], 1)
        self.assertEqual(set(dump["bound_addresses"]), {"web", "tcp", "websocket"})
        for address in dump["bound_addresses"].values():
            self.assertRegex(address, r"^127\.0\.0\.1:[1-9]\d*$")
        config = dump["config"]
        self.assertEqual([l["name"] for l in config["listeners"]],
                         ["web", "tcp", "websocket"])
        self.assertEqual(config["listeners"][0]["address"], "127.0.0.1:0")
        self.assertEqual(config["workers"], 2)
        self.assertEqual(config["shutdown_timeout"], "2s")
        status, answer = self.reload(self.config("u1", extra_listener=True))
        self.assertEqual(status, 200, answer)
        dump = self.dump()
        self.assertEqual(dump["generation"], 2)
        self.assertEqual(set(dump["bound_addresses"]), {"web", "tcp", "websocket", "extra"})
        # The kept listeners kept their ports.
        status, yaml_text = admin_call(self.admin_port, "GET", "/config_dump?format=yaml")
        self.assertEqual(status, 200)
        self.assertRegex(yaml_text, r"(?m)^generation: 2$")
        self.assertRegex(yaml_text, r"(?m)^  extra: 127\.0\.0\.1:[1-9]\d*$")
        self.assertIn("cluster: u1", yaml_text)
        status, _ = admin_call(self.admin_port, "GET", "/config_dump?format=xml")
        self.assertEqual(status, 400)

    def test_kept_listeners_keep_their_ports_and_restart_settings_are_reported(self):
        first = self.start()
        text = self.config("u1", workers=3)
        status, answer = self.reload(text)
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["restart_required"], ["workers"])
        dump = self.dump()
        self.assertEqual(dump["bound_addresses"], first["bound_addresses"])
        # The running value stays until a restart.
        self.assertEqual(dump["config"]["workers"], 2)
        self.assertEqual(self.get(self.port_of("web")).body.decode(), "u1")

    def test_unchanged_cluster_keeps_its_upstream_connection(self):
        self.start(workers=1)
        web = self.port_of("web")
        with socket.create_connection(("127.0.0.1", web), timeout=5) as sock:
            reader = Reader(sock)
            self.assertEqual(http_request(reader, sock, "/fixed").body, b"u3")
            self.assertEqual(self.upstreams["u3"].accepted, 1)
            more = "                  - { name: more, prefix: /more, cluster: u1 }"
            status, answer = self.reload(self.config("u0", more_routes=more))
            self.assertEqual(status, 200, answer)
            self.assertEqual(answer["changes"]["routes"]["added"], ["web/path_prefix_router/more"])
            self.assertEqual(http_request(reader, sock, "/fixed").body, b"u3")
            self.assertEqual(http_request(reader, sock, "/more").body, b"u1")
        with socket.create_connection(("127.0.0.1", web), timeout=5) as sock:
            self.assertEqual(http_request(Reader(sock), sock, "/fixed").body, b"u3")
        # One upstream connection to u3 served all three requests, across the reload.
        self.assertEqual(self.upstreams["u3"].accepted, 1)

    def test_tcp_connection_drains_when_its_cluster_changes(self):
        other_echo = self.start_server(echo_handler)
        self.start(shutdown_timeout="1s")
        tcp = self.port_of("tcp")
        sock = self.client(tcp)
        sock.sendall(b"before")
        self.assertEqual(recv_exact(sock, 6), b"before")
        status, answer = self.reload(self.config(echo_port=other_echo.port,
                                                 shutdown_timeout="1s"))
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["clusters"]["changed"], ["echo"])
        changed_at = time.monotonic()
        # Still served until the drain deadline...
        sock.sendall(b"during")
        self.assertEqual(recv_exact(sock, 6), b"during")
        # ...then closed, within shutdown_timeout (1 s) and some slack.
        sock.settimeout(5)
        try:
            data = sock.recv(100)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"")
        self.assertLess(time.monotonic() - changed_at, 3.0)
        # New connections go to the new endpoint.
        with socket.create_connection(("127.0.0.1", tcp), timeout=5) as fresh:
            fresh.sendall(b"after")
            self.assertEqual(recv_exact(fresh, 5), b"after")
        self.assertTrue(sleep_until(lambda: other_echo.accepted == 1, 2))

    def test_websocket_drains_when_its_cluster_changes_and_stays_when_not(self):
        other_ws = self.start_server(websocket_handler)
        self.start(shutdown_timeout="1s", stable_ws=True)
        port = self.port_of("websocket")
        moving, moving_reader = websocket_handshake(self, port, path="/chat", timeout=5)
        stable, stable_reader = websocket_handshake(self, port, path="/stable/chat", timeout=5)

        def echoes(sock, reader, payload):
            sock.sendall(encode_frame(payload))
            self.assertEqual((0x2, payload), read_frame(reader))

        echoes(moving, moving_reader, b"before")
        echoes(stable, stable_reader, b"before")
        status, answer = self.reload(self.config(ws_port=other_ws.port, shutdown_timeout="1s",
                                                 stable_ws=True))
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["clusters"]["changed"], ["ws"])
        changed_at = time.monotonic()
        # Both still served until the drain deadline...
        echoes(moving, moving_reader, b"during")
        echoes(stable, stable_reader, b"during")
        # ...then the one whose cluster changed is closed, within shutdown_timeout (1 s) and
        # some slack.
        moving.settimeout(5)
        try:
            data = moving.recv(100)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"")
        self.assertLess(time.monotonic() - changed_at, 3.0)
        # The one whose cluster did not change outlives the deadline.
        time.sleep(max(0.0, changed_at + 1.5 - time.monotonic()))
        echoes(stable, stable_reader, b"after")
        # A new WebSocket on the changed route reaches the new endpoint.
        fresh, fresh_reader = websocket_handshake(self, port, path="/chat", timeout=5)
        echoes(fresh, fresh_reader, b"new")
        self.assertEqual(other_ws.accepted, 1)
        self.assertEqual(self.websocket.accepted, 2)

    def test_keep_alive_connection_on_removed_listener_is_closed(self):
        text = self.config().replace('  - name: tcp\n', '  - name: web2\n    address: "127.0.0.1:0"\n'
                                     '    filters:\n      - name: http_connection_manager\n'
                                     '        config: { http_filters: [{ name: path_prefix_router, '
                                     'config: { routes: [{ prefix: /, cluster: u2 }] } }, '
                                     '{ name: router }] }\n  - name: tcp\n')
        self.proxy = self.start_proxy(text, admin_port=self.admin_port, workers=None)
        web2 = self.port_of("web2")
        sock = self.client(web2)
        reader = Reader(sock)
        self.assertEqual(http_request(reader, sock).body, b"u2")
        status, answer = self.reload(self.config())
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["listeners"]["removed"], ["web2"])
        # Idle: closed at once (a drained HTTP connection closes after its request in flight).
        sock.settimeout(5)
        self.assertEqual(sock.recv(100), b"")

    def test_reload_needs_post_or_get(self):
        self.start()
        status, _ = admin_call(self.admin_port, "PUT", "/reload")
        self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main()
