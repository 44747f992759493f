"""Upgrade through the proxy end to end: a WebSocket echo upstream (the RFC 6455 handshake and
frames, stdlib only), clients on raw sockets. After the 101 the proxy is a byte tunnel: frames
of every size both ways, bytes sent behind the request head, half-close, SIGTERM drain, and
plain requests beside it. Upgrade requests the proxy does not tunnel (h2c, with a body) and an
upstream refusing the upgrade stay ordinary HTTP."""

import base64
import hashlib
import os
import signal
import socket
import struct
import time
import unittest

from http_upstream import Reader, header_values, read_request, read_response
from proxy_harness import MiB, ProxyTestCase, free_port, pattern_block

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def encode_frame(payload, opcode=0x2, mask=True):
    head = bytearray([0x80 | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head.append(bit | n)
    elif n < 1 << 16:
        head.append(bit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(bit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    head += key
    return bytes(head) + xor_mask(payload, key)


def xor_mask(payload, key):
    if not payload:
        return b""
    # Whole-buffer XOR through big integers: fast enough for 5 MiB in pure Python.
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


def read_frame(reader):
    """(opcode, payload) of the next frame from a Reader; unmasks client frames."""
    head = bytearray()
    reader.exact(2, head.extend)
    opcode, second = head[0] & 0x0F, head[1]
    n = second & 0x7F
    ext = bytearray()
    if n == 126:
        reader.exact(2, ext.extend)
        n = struct.unpack("!H", ext)[0]
    elif n == 127:
        reader.exact(8, ext.extend)
        n = struct.unpack("!Q", ext)[0]
    key = bytearray()
    if second & 0x80:
        reader.exact(4, key.extend)
    payload = bytearray()
    reader.exact(n, payload.extend)
    payload = bytes(payload)
    if key:
        payload = xor_mask(payload, bytes(key))
    return opcode, payload


def websocket_handler(conn, server):
    """A WebSocket echo server. Plain requests get 200 "plain" (keep-alive). /refuse answers
    426. After the handshake it sends a text frame "hello" in the same write as the 101, echoes
    every frame, answers a close frame with one and closes, and on the client's FIN sends a
    text frame "bye", then closes."""
    reader = Reader(conn)
    while True:
        req = read_request(reader)
        if req is None:
            return
        server.results.append(req)
        upgrade = header_values(req, "upgrade")
        key = header_values(req, "sec-websocket-key")
        if "/refuse" in req["target"] or not upgrade or not key:
            body = b"refused" if "/refuse" in req["target"] else b"plain"
            status = "426 Upgrade Required" if "/refuse" in req["target"] else "200 OK"
            conn.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                         + body)
            continue
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept_key(key[0])}\r\n\r\n").encode()
                     + encode_frame(b"hello", opcode=0x1, mask=False))
        while True:
            try:
                opcode, payload = read_frame(reader)
            except EOFError:
                conn.sendall(encode_frame(b"bye", opcode=0x1, mask=False))
                conn.shutdown(socket.SHUT_WR)
                return
            if opcode == 0x8:
                conn.sendall(encode_frame(payload, opcode=0x8, mask=False))
                return
            conn.sendall(encode_frame(payload, opcode=opcode, mask=False))


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
        sock = self.client(self.port, timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode() + early)
        reader = Reader(sock)
        status = reader.line()
        self.assertEqual(b"HTTP/1.1 101 Switching Protocols", status)
        headers = {}
        while True:
            line = reader.line()
            if not line:
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        self.assertEqual("websocket", headers.get("upgrade", "").lower())
        self.assertEqual("upgrade", headers.get("connection", "").lower())
        self.assertEqual(accept_key(key), headers.get("sec-websocket-accept"))
        self.assertNotIn("content-length", headers)
        self.assertNotIn("transfer-encoding", headers)
        self.assertEqual((0x1, b"hello"), read_frame(reader))
        return sock, reader

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
