"""The soak test's own upstreams (Python 3.11 standard library only, on 127.0.0.1).

HttpUpstream: an HTTP/1.1 keep-alive server on one or more listening ports (one thread per
connection). What it answers depends on the request target:

  GET  /big/N        200, N bytes of the shared pattern (Content-Length); see pattern_sha256()
  POST /upload...    200, "len=L sha256=HEX" of the request body (Content-Length or chunked)
  GET  /ws...        with Upgrade: websocket: 101, then echoes every frame; a close frame is
                     answered with one and the connection is closed
  GET  .../chunked   200, chunked "ok TARGET"
  anything else      200, "ok TARGET" (Content-Length)

`Connection: close` from the proxy is honoured. Idle keep-alive connections stay open (the
proxy's pool decides) until close_idle(), which the soak test calls once its clients have
stopped, so that descriptor counts can settle.

EchoServer: a TCP echo; on EOF it half-closes and closes.
"""

import base64
import contextlib
import hashlib
import random
import socket
import struct
import threading

MiB = 1024 * 1024
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_PATTERN = random.Random(20261207).randbytes(MiB + 13)


def pattern_bytes(n):
    """Yields memoryview slices making up the first n bytes of the pattern stream."""
    view = memoryview(_PATTERN)
    sent = 0
    while sent < n:
        off = sent % len(_PATTERN)
        k = min(len(_PATTERN) - off, n - sent, 256 * 1024)
        yield view[off:off + k]
        sent += k


_sha_cache = {}
_sha_lock = threading.Lock()


def pattern_sha256(n):
    """The sha256 hex digest of the first n bytes of the pattern (what /big/N answers)."""
    with _sha_lock:
        if n in _sha_cache:
            return _sha_cache[n]
    digest = hashlib.sha256()
    for piece in pattern_bytes(n):
        digest.update(piece)
    value = digest.hexdigest()
    with _sha_lock:
        _sha_cache[n] = value
    return value


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def xor_mask(payload, key):
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


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
    key = random.randbytes(4)
    head += key
    return bytes(head) + xor_mask(payload, key)


class Reader:
    """Buffered reads on a blocking socket (its own timeout applies to each recv)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.received_any = False

    def _fill(self):
        data = self.sock.recv(256 * 1024)
        if not data:
            raise EOFError("peer closed")
        self.received_any = True
        self.buf += data

    def line(self, limit=65536):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self._fill()

    def exact(self, n, sink):
        while n > 0:
            if not self.buf:
                self._fill()
            k = min(n, len(self.buf))
            sink(bytes(self.buf[:k]))
            del self.buf[:k]
            n -= k


def read_frame(reader):
    """(opcode, payload) of the next WebSocket frame; unmasks masked frames."""
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


def read_head(reader):
    """(start line, {lower name: value}) of the next message head; EOFError at EOF."""
    line = reader.line()
    while line == b"":
        line = reader.line()
    headers = {}
    while True:
        h = reader.line()
        if h == b"":
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return line.decode("latin-1"), headers


def read_body(reader, headers, sink):
    """Passes a request or response body (chunked or Content-Length) to sink."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int(reader.line().split(b";")[0].strip(), 16)
            if size == 0:
                break
            reader.exact(size, sink)
            reader.line()
        while reader.line() != b"":
            pass
    elif "content-length" in headers:
        reader.exact(int(headers["content-length"]), sink)


class _Server:
    """Accept loops on listening sockets, one thread per connection, all tracked."""

    def __init__(self, ports_wanted, conn_timeout):
        self.conn_timeout = conn_timeout
        self.lock = threading.Lock()
        self.conns = {}  # socket -> {"idle": bool}
        self.stopping = threading.Event()
        self.errors = 0
        self.accepted = 0
        self.listeners = []
        for _ in range(ports_wanted):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(512)
            s.settimeout(0.2)
            self.listeners.append(s)
        self.ports = [s.getsockname()[1] for s in self.listeners]
        self.threads = [threading.Thread(target=self._accept_loop, args=(s,), daemon=True,
                                         name=f"{type(self).__name__}-accept")
                        for s in self.listeners]
        for t in self.threads:
            t.start()

    def _accept_loop(self, lsock):
        while not self.stopping.is_set():
            try:
                conn, _ = lsock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            conn.settimeout(self.conn_timeout)
            with self.lock:
                if self.stopping.is_set():
                    conn.close()
                    return
                self.accepted += 1
                self.conns[conn] = {"idle": False}
            threading.Thread(target=self._run, args=(conn,), daemon=True,
                             name=f"{type(self).__name__}-conn").start()

    def _run(self, conn):
        try:
            self.handle(conn)
        except Exception:  # a peer that went away mid-exchange: the proxy's business
            with self.lock:
                self.errors += 1
        finally:
            with self.lock:
                self.conns.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.close()

    def set_idle(self, conn, idle):
        with self.lock:
            state = self.conns.get(conn)
            if state is not None:
                state["idle"] = idle

    def open_connections(self):
        with self.lock:
            return len(self.conns)

    def close_idle(self):
        """Closes (FIN) every connection waiting for its next request. Returns how many."""
        with self.lock:
            idle = [c for c, state in self.conns.items() if state["idle"]]
        for conn in idle:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        return len(idle)

    def close(self):
        self.stopping.set()
        for s in self.listeners:
            with contextlib.suppress(OSError):
                s.close()
        for t in self.threads:
            t.join(timeout=2)
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class HttpUpstream(_Server):
    def __init__(self, ports=2, conn_timeout=120.0):
        super().__init__(ports, conn_timeout)

    def handle(self, conn):
        reader = Reader(conn)
        while True:
            self.set_idle(conn, True)
            try:
                line, headers = read_head(reader)
            except EOFError:
                return
            self.set_idle(conn, False)
            method, target, _ = line.split(" ", 2)
            digest = hashlib.sha256()
            length = [0]

            def sink(b):
                digest.update(b)
                length[0] += len(b)

            read_body(reader, headers, sink)
            close = "close" in headers.get("connection", "").lower()
            tail = b"Connection: close\r\n" if close else b""
            if "websocket" in headers.get("upgrade", "").lower() and "/ws" in target:
                self._websocket(conn, reader, headers)
                return
            if "/big/" in target:
                n = int(target.split("/big/")[1].split("?")[0].split("/")[0])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (n, tail))
                for piece in pattern_bytes(n):
                    conn.sendall(piece)
            elif "/upload" in target:
                body = b"len=%d sha256=%s" % (length[0], digest.hexdigest().encode())
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), tail)
                             + body)
            elif target.endswith("/chunked"):
                body = b"ok " + target.encode()
                half = len(body) // 2
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + tail
                             + b"\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
                             % (half, body[:half], len(body) - half, body[half:]))
            else:
                body = b"ok " + target.encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n%s\r\n" % (len(body), tail) + body)
            if close:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)
                return

    def _websocket(self, conn, reader, headers):
        key = headers.get("sec-websocket-key", "")
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode())
        while True:
            try:
                opcode, payload = read_frame(reader)
            except EOFError:
                return
            if opcode == 0x8:
                conn.sendall(encode_frame(payload, opcode=0x8, mask=False))
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)
                return
            conn.sendall(encode_frame(payload, opcode=opcode, mask=False))


class EchoServer(_Server):
    def __init__(self, conn_timeout=120.0):
        super().__init__(1, conn_timeout)
        self.port = self.ports[0]

    def handle(self, conn):
        buf = bytearray(256 * 1024)
        view = memoryview(buf)
        while True:
            n = conn.recv_into(view)
            if n == 0:
                break
            conn.sendall(view[:n])
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
