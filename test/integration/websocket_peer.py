"""A WebSocket peer for the integration tests (RFC 6455 handshake and frames, stdlib only): an
echo upstream handler for TcpServer, frame encoding/decoding, and a client handshake through
the proxy that checks the 101. Used by test_websocket.py and test_reload.py."""

import base64
import hashlib
import os
import socket
import struct

from http_upstream import Reader, header_values, read_request

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


def websocket_handshake(test, port, early=b"", path="/chat", timeout=20):
    """Opens a client socket to `port` (closed by `test`'s cleanup), upgrades it, checks the 101
    and the upstream's first frame ("hello") with `test`'s asserts; returns (socket, Reader).
    `early` is sent in the same write as the request head. Every socket op is bounded by
    `timeout`."""
    sock = test.client(port, timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode() + early)
    reader = Reader(sock)
    status = reader.line()
    test.assertEqual(b"HTTP/1.1 101 Switching Protocols", status)
    headers = {}
    while True:
        line = reader.line()
        if not line:
            break
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    test.assertEqual("websocket", headers.get("upgrade", "").lower())
    test.assertEqual("upgrade", headers.get("connection", "").lower())
    test.assertEqual(accept_key(key), headers.get("sec-websocket-accept"))
    test.assertNotIn("content-length", headers)
    test.assertNotIn("transfer-encoding", headers)
    test.assertEqual((0x1, b"hello"), read_frame(reader))
    return sock, reader
