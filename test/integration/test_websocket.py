"""Upgrade through the proxy end to end: a WebSocket echo upstream (the RFC 6455 handshake and
frames, stdlib only), clients on raw sockets. After the 101 the proxy is a byte tunnel: frames
of every size both ways, bytes sent behind the request head, half-close, SIGTERM drain, and
plain requests beside it. Upgrade requests the proxy does not tunnel (h2c, with a body) and an
upstream refusing the upgrade stay ordinary HTTP."""

import hashlib
import os
import signal
import socket
import time
import unittest

from http_upstream import Reader, header_values, read_response
from proxy_harness import MiB, ProxyTestCase, free_port, pattern_block
from websocket_peer import encode_frame, read_frame, websocket_handler, websocket_handshake

def ws_config(admin, port, up_port, shutdown_timeout="5s"):
    return "\n".join([
        f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 2",
        f"shutdown_timeout: {shutdown_timeout}", "clusters:",
        f'  - {{ name: ws, endpoints: ["127.0.0.1:{up_port}"], connect_timeout: 1s }}',
        "listeners:", "  - name: web", f'    address: "127.0.0.1:{port}"', "    filters:",
        "      - name: http_connection_manager", "        config:",
        "          http_filters:", "            - name: stats",
        "            - name: path_prefix_router",
        "              config: { routes: [{ prefix: /, cluster: ws }] }",
        "            - name: router"]) + "\n"


class WebSocketCase(ProxyTestCase):
    shutdown_timeout = "5s"

    def setUp(self):
        super().setUp()
        self.up = self.start_server(websocket_handler)
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(
            ws_config(self.admin, self.port, self.up.port, self.shutdown_timeout),
            admin_port=self.admin)

    def handshake(self, early=b"", path="/chat"):
        """A client socket after a checked 101, its Reader, and the upstream's first frame."""
        return websocket_handshake(self, self.port, early, path)

    def plain_get(self):
        with self.client(self.port) as other:
            other.sendall(b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            response = read_response(Reader(other))
        self.assertEqual(200, response.status)
        self.assertEqual(b"plain", response.body)


class WebSocketTest(WebSocketCase):
    def test_upgrade_headers_reach_the_upstream(self):
        sock, _ = self.handshake()
        sock.close()
        req = self.up.results[0]
        self.assertEqual(["websocket"], header_values(req, "upgrade"))
        self.assertEqual(["upgrade"], [v.lower() for v in header_values(req, "connection")])
        self.assertEqual(["13"], header_values(req, "sec-websocket-version"))

    def test_messages_of_every_size_both_ways(self):
        sock, reader = self.handshake()
        block = pattern_block(5 * MiB)
        for size in (0, 1, 125, 126, 65535, 65536, 1 * MiB + 7, 5 * MiB):
            payload = block[:size]
            sock.sendall(encode_frame(payload))
            opcode, echoed = read_frame(reader)
            self.assertEqual(0x2, opcode)
            self.assertEqual(len(payload), len(echoed), f"size {size}")
            self.assertEqual(hashlib.sha256(payload).digest(), hashlib.sha256(echoed).digest())
            # A plain request on another connection is served meanwhile.
            if size == 65536:
                self.plain_get()
        sock.sendall(encode_frame(b"\x03\xe8", opcode=0x8))
        self.assertEqual((0x8, b"\x03\xe8"), read_frame(reader))
        sock.settimeout(5)
        self.assertEqual(b"", sock.recv(1))  # closed after the upstream closed
        sock.close()

    def test_bytes_sent_behind_the_request_head_are_relayed(self):
        sock, reader = self.handshake(early=encode_frame(b"eager", opcode=0x1))
        self.assertEqual((0x1, b"eager"), read_frame(reader))
        sock.close()

    def test_client_half_close_still_gets_the_upstreams_last_bytes(self):
        sock, reader = self.handshake()
        sock.sendall(encode_frame(b"last", opcode=0x1))
        self.assertEqual((0x1, b"last"), read_frame(reader))
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual((0x1, b"bye"), read_frame(reader))
        sock.settimeout(5)
        self.assertEqual(b"", sock.recv(1))
        sock.close()

    def test_several_tunnels_at_once(self):
        tunnels = [self.handshake() for _ in range(4)]
        for i, (sock, _) in enumerate(tunnels):
            sock.sendall(encode_frame(f"m{i}".encode(), opcode=0x1))
        for i, (sock, reader) in enumerate(tunnels):
            self.assertEqual((0x1, f"m{i}".encode()), read_frame(reader))
            sock.close()

    def test_refused_upgrade_stays_http_on_the_same_connection(self):
        with self.client(self.port) as sock:
            sock.sendall(b"GET /refuse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5aw==\r\n"
                         b"\r\n")
            reader = Reader(sock)
            response = read_response(reader)
            self.assertEqual(426, response.status)
            self.assertEqual(b"refused", response.body)
            sock.sendall(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(b"plain", read_response(reader).body)

    def test_h2c_upgrade_is_a_plain_request(self):
        # The proxy speaks HTTP/1.1 only: Upgrade: h2c and its HTTP2-Settings are removed and
        # the upstream answers in HTTP/1.1.
        with self.client(self.port) as sock:
            sock.sendall(b"GET /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                         b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
            reader = Reader(sock)
            self.assertEqual(200, read_response(reader).status)
            sock.sendall(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(b"plain", read_response(reader).body)
        req = self.up.results[0]
        self.assertEqual([], header_values(req, "upgrade"))
        self.assertEqual([], header_values(req, "http2-settings"))

    def test_upgrade_with_a_body_is_a_plain_request(self):
        with self.client(self.port) as sock:
            sock.sendall(b"POST /body HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                         b"Upgrade: websocket\r\nSec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5aw==\r\n"
                         b"Content-Length: 4\r\n\r\nbody")
            self.assertEqual(200, read_response(Reader(sock)).status)
        req = self.up.results[0]
        self.assertEqual([], header_values(req, "upgrade"))
        self.assertEqual(4, req["body_len"])


class WebSocketDrainTest(WebSocketCase):
    shutdown_timeout = "2s"

    def test_sigterm_leaves_a_tunnel_working_until_shutdown_timeout(self):
        sock, reader = self.handshake()
        start = time.monotonic()
        os.kill(self.proxy.pid, signal.SIGTERM)
        time.sleep(0.5)
        sock.sendall(encode_frame(b"still here", opcode=0x1))
        self.assertEqual((0x1, b"still here"), read_frame(reader))
        # Cut at the shutdown timeout, not before, and the proxy exits cleanly.
        sock.settimeout(10)
        try:
            rest = sock.recv(1)
        except ConnectionResetError:
            rest = b""
        self.assertEqual(b"", rest)
        self.assertGreater(time.monotonic() - start, 1.5)
        self.proxy.proc.wait(timeout=10)
        self.assertEqual(0, self.proxy.proc.returncode)
        sock.close()


if __name__ == "__main__":
    unittest.main()
