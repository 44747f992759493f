"""An in-process HTTP/1.1 upstream for the HTTP integration tests (raw sockets, stdlib only).

Each request is recorded in server.results as a dict {method, target, version, headers (list of
(name, value)), body_len, body_sha}. What it answers depends on a marker anywhere in the
request target (so a stripped prefix does not matter):

  (default)      200, Content-Length, JSON echo of what was received
  /__chunked     200, chunked JSON echo
  /__close       200, no length, body until close (JSON echo), then close
  /__204         204, no body          /__304   304, no body
  /__big/N       200, N bytes of pattern_block() with Content-Length
  /__hop         200 with hop-by-hop headers in the response and X-Up: yes, X-Drop: 1
  /__garbage     "HELLO WORLD" status line
  /__nocolon     a header line without a colon
  /__clte        Content-Length and Transfer-Encoding: chunked
  /__cut         Content-Length 1000, 10 bytes, then close
  /__reset       RST before answering
  /__hang        never answers (waits for server.release)
  /__delay/S     answers after S seconds
"""

import contextlib
import hashlib
import json
import socket
import struct
import time

from proxy_harness import TcpServer, pattern_block


class Reader:
    def __init__(self, conn):
        self.conn = conn
        self.buf = bytearray()

    def _fill(self):
        data = self.conn.recv(1 << 20)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            if len(self.buf) > 200000:
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

    def rest(self):
        """Every byte until the peer closes, those already buffered first."""
        out = bytearray(self.buf)
        self.buf.clear()
        try:
            while True:
                self._fill()
                out += self.buf
                self.buf.clear()
        except EOFError:
            pass
        return bytes(out)


def read_head(reader):
    """(start line, [(name, value)]) of the next message head, blank lines before it skipped.
    EOFError when the peer closed first."""
    line = reader.line()
    while line == b"":
        line = reader.line()
    headers = []
    while True:
        h = reader.line()
        if h == b"":
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1"), headers


def read_chunked(reader, sink):
    """Passes a chunked body's bytes to `sink`; returns its trailers [(lower name, value)]."""
    while True:
        size = int(reader.line().split(b";")[0].strip(), 16)
        if size == 0:
            break
        reader.exact(size, sink)
        reader.line()
    trailers = []
    while True:
        line = reader.line()
        if line == b"":
            break
        name, _, value = line.decode("latin-1").partition(":")
        trailers.append((name.strip().lower(), value.strip()))
    return trailers


def read_request(reader):
    """The next request or None at a clean EOF."""
    try:
        line, headers = read_head(reader)
    except EOFError:
        return None
    method, target, version = line.split(" ", 2)
    lower = {}
    for k, v in headers:
        lower.setdefault(k.lower(), []).append(v)
    digest = hashlib.sha256()
    total = [0]

    def sink(b):
        digest.update(b)
        total[0] += len(b)

    te = ",".join(lower.get("transfer-encoding", [])).lower()
    if "chunked" in te:
        read_chunked(reader, sink)
    elif "content-length" in lower:
        reader.exact(int(lower["content-length"][0]), sink)
    return {"method": method, "target": target, "version": version, "headers": headers,
            "body_len": total[0], "body_sha": digest.hexdigest()}


def header_values(req, name):
    return [v for k, v in req["headers"] if k.lower() == name.lower()]


def http_handler(conn, server):
    reader = Reader(conn)
    while True:
        req = read_request(reader)
        if req is None:
            return
        with server.lock:
            server.results.append(req)
        target = req["target"]
        body = json.dumps(req).encode()
        keep = True
        if "/__reset" in target:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if "/__hang" in target:
            server.release.wait(30)
            return
        if "/__delay/" in target:
            time.sleep(float(target.split("/__delay/")[1].split("?")[0].split("/")[0]))
        if "/__chunked" in target:
            out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            for i in range(0, len(body), 7):
                piece = body[i:i + 7]
                out += b"%x\r\n" % len(piece) + piece + b"\r\n"
            out += b"0\r\n\r\n"
        elif "/__close" in target:
            out = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body
            keep = False
        elif "/__204" in target:
            out = b"HTTP/1.1 204 No Content\r\nX-Up: yes\r\n\r\n"
        elif "/__304" in target:
            out = b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
        elif "/__big/" in target:
            n = int(target.split("/__big/")[1].split("?")[0].split("/")[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
            if req["method"] != "HEAD":
                block = server.block
                view = memoryview(block)
                sent = 0
                while sent < n:
                    off = sent % len(block)
                    k = min(len(block) - off, n - sent, 1 << 20)
                    conn.sendall(view[off:off + k])
                    sent += k
                    server.big_sent = sent
            continue
        elif "/__hop" in target:
            out = (b"HTTP/1.1 200 OK\r\nConnection: X-Drop\r\nKeep-Alive: timeout=5\r\n"
                   b"Upgrade: foo\r\nX-Drop: 1\r\nX-Up: yes\r\nContent-Length: %d\r\n\r\n"
                   % len(body)) + body
        elif "/__garbage" in target:
            out = b"HELLO WORLD\r\n\r\n"
            keep = False
        elif "/__nocolon" in target:
            out = b"HTTP/1.1 200 OK\r\nThis has no colon\r\nContent-Length: 2\r\n\r\nok"
            keep = False
        elif "/__clte" in target:
            out = (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5\r\nhello\r\n0\r\n\r\n")
            keep = False
        elif "/__cut" in target:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            time.sleep(0.2)
            return
        else:
            out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Up: yes\r\n"
            if req["method"] == "HEAD":
                out += b"Content-Length: %d\r\n\r\n" % len(body)
            else:
                out += b"Content-Length: %d\r\n\r\n" % len(body) + body
        conn.sendall(out)
        if not keep:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_WR)
            time.sleep(0.1)
            return


def start_http_upstream(testcase, handler=http_handler, **kw):
    """A server running `handler` (http_handler, or one that wraps it) with the state
    http_handler keeps."""
    server = testcase.start_server(handler, **kw)
    server.block = pattern_block()
    server.big_sent = 0
    return server


# ---------------------------------------------------------------------------------------------
# A minimal client side response parser on raw sockets

class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.version = version

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return vals[0] if vals else None

    def json(self):
        return json.loads(self.body)


def read_response(reader, method="GET"):
    """The next response; a body without length is read until the peer closes."""
    line, headers = read_head(reader)
    version, status, *rest = line.split(" ", 2)
    status = int(status)
    lower = {k.lower(): v for k, v in headers}
    chunks = []
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        pass
    elif "chunked" in lower.get("transfer-encoding", "").lower():
        read_chunked(reader, chunks.append)
    elif "content-length" in lower:
        reader.exact(int(lower["content-length"]), chunks.append)
    else:
        chunks.append(reader.rest())
    return Response(status, rest[0] if rest else "", headers, b"".join(chunks), version)


def send_request(sock, reader, target="/", method="GET", host="h.test", headers=(), body=None,
                 extra_raw=b""):
    """Sends one request on `sock` (Content-Length when there is a body) and reads the
    Response through `reader`."""
    raw = f"{method} {target} HTTP/1.1\r\n".encode()
    if host is not None:
        raw += f"Host: {host}\r\n".encode()
    for k, v in headers:
        raw += f"{k}: {v}\r\n".encode()
    if body is not None:
        raw += b"Content-Length: %d\r\n" % len(body)
    sock.sendall(raw + extra_raw + b"\r\n" + (body or b""))
    return read_response(reader, method)


def big_body_sha256(size):
    """The sha256 of the body /__big/`size` answers with."""
    block = pattern_block()
    view = memoryview(block)
    digest = hashlib.sha256()
    n = 0
    while n < size:
        off = n % len(block)
        k = min(len(block) - off, size - n)
        digest.update(view[off:off + k])
        n += k
    return digest.hexdigest()
