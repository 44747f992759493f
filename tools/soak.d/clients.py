"""The soak test's clients: one function per kind, each doing one bounded operation against
the proxy and raising on anything unexpected. run_client() loops one of them until told to
stop and counts successes, expected events and errors in a Stats.

Kinds (the unit counted as "ok" in brackets):

  keepalive  one keep-alive connection, up to 100 small GETs, some on the route a reload
             changes, some chunked                                        [request]
  newconn    a new connection per request (Connection: close); checks the proxy closes
                                                                          [request]
  bigbody    several-MiB bodies both ways: GET /big/N checked by sha256, POST of N bytes
             (Content-Length or chunked) whose sha256 the upstream answers [request]
  websocket  an upgrade to the WebSocket echo, 10-30 messages of 1 B to 1 MiB, close
             handshake                                                    [message]
  tcp        tcp_proxy to the echo: 4-10 exchanges of up to 384 KiB (past the splice
             threshold), then a half-close answered by EOF               [exchange]
  slow       a request head a byte at a time, its 64 KiB answer read 512 B at a time
             through a small receive buffer; or a request body 32 B at a time [request]
  noread     never reads: a 32 MiB GET behind an 8 KiB receive buffer (the proxy's
             stream_idle_timeout must close it), or a small GET left unread (idle_timeout
             must close it). A close by the proxy is expected; so is the client giving up
             after --noread-bound seconds (counted apart)               [session]
  pipeline   24 requests written at once, answers checked in order       [request]

Error kinds: status (unexpected status), reset (RST or EPIPE), closed (EOF where bytes
were due), timeout, hash (body or message differs from what was sent/expected), refused
(connect refused), protocol (unparseable answer), other.
"""

import base64
import hashlib
import os
import random
import select
import socket
import threading
import time

from upstreams import (MiB, Reader, accept_key, encode_frame, pattern_bytes, pattern_sha256,
                       read_body, read_frame, read_head)

KINDS = ["keepalive", "newconn", "bigbody", "websocket", "tcp", "slow", "noread", "pipeline"]
BIG_SIZES = [2 * MiB + 1, 3 * MiB + 7, 5 * MiB + 3, 6 * MiB + 11]


class Stopped(Exception):
    """The run is over: a long wait was abandoned (not an error)."""


class StatusError(Exception):
    pass


class HashError(Exception):
    pass


class ProtocolError(Exception):
    pass


class UnexpectedClose(Exception):
    pass


def classify(error):
    if isinstance(error, HashError):
        return "hash"
    if isinstance(error, StatusError):
        return "status"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(error, (EOFError, UnexpectedClose)):
        return "closed"
    if isinstance(error, (ProtocolError, ValueError, IndexError)):
        return "protocol"
    return "other"


class Stats:
    """Thread-safe counters: ok units per client kind, expected events, errors."""

    def __init__(self, clock, keep_errors=200):
        self.lock = threading.Lock()
        self.clock = clock  # seconds since the load started
        self.ok = {k: 0 for k in KINDS}
        self.events = {}  # (kind, name) -> count: expected things worth reporting
        self.errors = {}  # (kind, error kind) -> count
        self.error_log = []  # (elapsed, kind, error kind, message), the first keep_errors
        self.keep_errors = keep_errors

    def add_ok(self, kind, n=1):
        with self.lock:
            self.ok[kind] += n

    def event(self, kind, name, n=1):
        with self.lock:
            self.events[(kind, name)] = self.events.get((kind, name), 0) + n

    def event_max(self, kind, name, value):
        with self.lock:
            self.events[(kind, name)] = max(self.events.get((kind, name), value), value)

    def error(self, kind, error_kind, message):
        with self.lock:
            self.errors[(kind, error_kind)] = self.errors.get((kind, error_kind), 0) + 1
            if len(self.error_log) < self.keep_errors:
                self.error_log.append((round(self.clock(), 2), kind, error_kind, message))

    def errors_by_kind(self):
        """{error kind: count} over every client."""
        with self.lock:
            out = {}
            for (_, error_kind), n in self.errors.items():
                out[error_kind] = out.get(error_kind, 0) + n
            return out

    def totals(self):
        with self.lock:
            return sum(self.ok.values()), sum(self.errors.values())

    def snapshot(self):
        with self.lock:
            return {"ok": dict(self.ok),
                    "errors": {f"{k}/{e}": n for (k, e), n in sorted(self.errors.items())},
                    "events": {f"{k}/{e}": n for (k, e), n in sorted(self.events.items())}}


class Ctx:
    """What every client needs: the proxy's ports, the stop flag, limits, the stats."""

    def __init__(self, http_port, tcp_port, stats, stop, op_timeout=30.0, think=0.01,
                 noread_bound=30.0):
        self.http_port = http_port
        self.tcp_port = tcp_port
        self.stats = stats
        self.stop = stop
        self.op_timeout = op_timeout
        self.think = think
        self.noread_bound = noread_bound


# ---------------------------------------------------------------------------------------------
# Helpers

def connect(port, timeout, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
    except BaseException:
        s.close()
        raise
    return s


def head(method, target, extra=b""):
    return (f"{method} {target} HTTP/1.1\r\nHost: soak.test\r\n".encode() + extra + b"\r\n")


def read_response(reader, sink=None, method="GET"):
    """(status, headers, body or None when sink took it)."""
    line, headers = read_head(reader)
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ProtocolError(f"bad status line {line[:80]!r}")
    status = int(parts[1])
    chunks = []
    if method != "HEAD" and status not in (204, 304) and not 100 <= status < 200:
        if ("chunked" not in headers.get("transfer-encoding", "").lower()
                and "content-length" not in headers):
            raise ProtocolError(f"{status} without a length")
        read_body(reader, headers, sink if sink is not None else chunks.append)
    return status, headers, (None if sink is not None else b"".join(chunks))


def expect_status(status, want, what):
    if status != want:
        raise StatusError(f"{status} for {what}")


def expect_eof(sock, timeout):
    """The peer closes next (after a Connection: close answer, a WebSocket close frame): EOF
    (or a reset) within timeout."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return
    if data:
        raise ProtocolError(f"{len(data)} unexpected bytes where the connection should close")


def sleep_or_stop(ctx, seconds):
    if ctx.stop.wait(seconds):
        raise Stopped()


def check_small(body, target, stats, kind):
    """Small answers are "ok TARGET"; on the /alt/ route the upstream sees TARGET, or TARGET
    without /alt (the reloaded config strips the prefix)."""
    got = body.decode("latin-1")
    if got == "ok " + target:
        if target.startswith("/alt/"):
            stats.event(kind, "alt_route_unstripped")
        return
    if target.startswith("/alt/") and got == "ok " + target[len("/alt"):]:
        stats.event(kind, "alt_route_stripped")
        return
    raise HashError(f"body {got[:80]!r} for {target}")


def small_target(rng, tag, i):
    r = rng.random()
    if r < 0.6:
        return f"/k/{tag}/{i}"
    if r < 0.85:
        return f"/alt/k/{tag}/{i}"
    return f"/k/{tag}/{i}/chunked"


# ---------------------------------------------------------------------------------------------
# The kinds

def keepalive(ctx, rng, tag):
    sock = None
    reader = None
    reused = False
    try:
        for i in range(100):
            if ctx.stop.is_set():
                return
            target = small_target(rng, tag, i)
            for attempt in (0, 1):
                if sock is None:
                    sock = connect(ctx.http_port, ctx.op_timeout)
                    reader = Reader(sock)
                    reused = False
                reader.received_any = False
                try:
                    sock.sendall(head("GET", target))
                    status, headers, body = read_response(reader)
                    break
                except (EOFError, ConnectionResetError, BrokenPipeError):
                    # A reused connection the proxy closed before any answer byte: the usual
                    # keep-alive race, retried once on a new connection as clients do.
                    if attempt == 0 and reused and not reader.received_any:
                        ctx.stats.event("keepalive", "retried_on_closed_keepalive")
                        sock.close()
                        sock = None
                        continue
                    raise
            expect_status(status, 200, target)
            check_small(body, target, ctx.stats, "keepalive")
            ctx.stats.add_ok("keepalive")
            reused = True
            if "close" in headers.get("connection", "").lower():
                ctx.stats.event("keepalive", "proxy_said_connection_close")
                sock.close()
                sock = None
            if ctx.think:
                time.sleep(ctx.think)
    finally:
        if sock is not None:
            sock.close()


def newconn(ctx, rng, tag):
    for i in range(20):
        if ctx.stop.is_set():
            return
        target = small_target(rng, tag, i)
        with connect(ctx.http_port, ctx.op_timeout) as sock:
            sock.sendall(head("GET", target, b"Connection: close\r\n"))
            status, headers, body = read_response(Reader(sock))
            expect_status(status, 200, target)
            check_small(body, target, ctx.stats, "newconn")
            expect_eof(sock, ctx.op_timeout)
        ctx.stats.add_ok("newconn")
        if ctx.think:
            time.sleep(ctx.think)


def bigbody(ctx, rng, tag):
    with connect(ctx.http_port, ctx.op_timeout) as sock:
        reader = Reader(sock)
        for i in range(4):
            if ctx.stop.is_set():
                return
            n = rng.choice(BIG_SIZES)
            mode = rng.choice(["get", "post", "post_chunked"])
            digest = hashlib.sha256()
            if mode == "get":
                target = f"/big/{n}"
                sock.sendall(head("GET", target))
                length = [0]

                def sink(b):
                    digest.update(b)
                    length[0] += len(b)

                status, _, _ = read_response(reader, sink)
                expect_status(status, 200, target)
                if length[0] != n or digest.hexdigest() != pattern_sha256(n):
                    raise HashError(f"GET {target}: {length[0]} bytes, sha256 differs"
                                    if length[0] == n else
                                    f"GET {target}: {length[0]} bytes of {n}")
            else:
                target = f"/upload/{tag}/{i}"
                if mode == "post":
                    sock.sendall(head("POST", target, b"Content-Length: %d\r\n" % n))
                    for piece in pattern_bytes(n):
                        sock.sendall(piece)
                else:
                    sock.sendall(head("POST", target, b"Transfer-Encoding: chunked\r\n"))
                    for piece in pattern_bytes(n):
                        sock.sendall(b"%x\r\n" % len(piece))
                        sock.sendall(piece)
                        sock.sendall(b"\r\n")
                    sock.sendall(b"0\r\n\r\n")
                status, _, body = read_response(reader)
                expect_status(status, 200, f"POST {target} ({mode})")
                want = b"len=%d sha256=%s" % (n, pattern_sha256(n).encode())
                if body != want:
                    raise HashError(f"POST {target} ({mode}, {n} bytes): "
                                    f"upstream saw {body[:90]!r}")
            ctx.stats.add_ok("bigbody")
            ctx.stats.event("bigbody", "bytes_" + ("down" if mode == "get" else "up"), n)
            # Paced: bulk bytes are cheap to ask for and would take the machine's CPU.
            time.sleep(max(ctx.think, 0.2))


def _ws_size(rng):
    r = rng.random()
    if r < 0.7:
        return rng.randint(1, 4096)
    if r < 0.95:
        return rng.randint(4097, 65536)
    return rng.randint(256 * 1024, MiB)


def websocket(ctx, rng, tag):
    with connect(ctx.http_port, ctx.op_timeout) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(head("GET", f"/ws/{tag}", (
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n").encode()))
        reader = Reader(sock)
        line, headers = read_head(reader)
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {line[:80]!r}")
        expect_status(int(parts[1]), 101, "WebSocket upgrade")
        if headers.get("sec-websocket-accept") != accept_key(key):
            raise ProtocolError("wrong Sec-WebSocket-Accept")
        for _ in range(rng.randint(10, 30)):
            if ctx.stop.is_set():
                break
            payload = rng.randbytes(_ws_size(rng))
            opcode = 0x2 if rng.random() < 0.8 else 0x1
            if opcode == 0x1:
                payload = payload.hex().encode()[:len(payload)]
            sock.sendall(encode_frame(payload, opcode=opcode))
            got_opcode, got = read_frame(reader)
            if got_opcode != opcode or got != payload:
                raise HashError(f"echo of a {len(payload)}-byte message: opcode {got_opcode}, "
                                f"{len(got)} bytes, equal={got == payload}")
            ctx.stats.add_ok("websocket")
            if ctx.think:
                time.sleep(ctx.think)
        sock.sendall(encode_frame(b"\x03\xe8", opcode=0x8))
        got_opcode, got = read_frame(reader)
        if got_opcode != 0x8:
            raise ProtocolError(f"opcode {got_opcode} where the close frame was due")
        expect_eof(sock, ctx.op_timeout)


def exchange(sock, data, timeout):
    """Sends data and reads as many bytes back (an echo), both at once; returns them."""
    deadline = time.monotonic() + timeout
    sock.setblocking(False)
    view = memoryview(data)
    sent = 0
    got = bytearray()
    try:
        while len(got) < len(data):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"echo: sent {sent}, got {len(got)} of {len(data)} bytes")
            want_write = [sock] if sent < len(data) else []
            readable, writable, _ = select.select([sock], want_write, [], min(remaining, 1.0))
            if writable:
                try:
                    sent += sock.send(view[sent:sent + 65536])
                except BlockingIOError:
                    pass
            if readable:
                try:
                    chunk = sock.recv(262144)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise UnexpectedClose(f"EOF after {len(got)} of {len(data)} echoed bytes")
                got += chunk
        return bytes(got)
    finally:
        sock.setblocking(True)
        sock.settimeout(timeout)


def tcp(ctx, rng, tag):
    with connect(ctx.tcp_port, ctx.op_timeout) as sock:
        for _ in range(rng.randint(4, 10)):
            if ctx.stop.is_set():
                break
            n = rng.randint(1, 4096) if rng.random() < 0.6 else rng.randint(4097, 384 * 1024)
            data = rng.randbytes(n)
            back = exchange(sock, data, ctx.op_timeout)
            if back != data:
                raise HashError(f"tcp echo of {n} bytes differs")
            ctx.stats.add_ok("tcp")
            if ctx.think:
                time.sleep(ctx.think)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(ctx.op_timeout)
        if sock.recv(4096) != b"":
            raise ProtocolError("bytes after the echo was complete")


def slow(ctx, rng, tag):
    if rng.random() < 0.5:
        n = 65536
        target = f"/big/{n}"
        with connect(ctx.http_port, ctx.op_timeout, rcvbuf=8192) as sock:
            for byte in head("GET", target):
                sock.sendall(bytes([byte]))
                sleep_or_stop(ctx, 0.015)
            reader = Reader(sock)
            line, headers = read_head(reader)
            status = int(line.split(" ", 2)[1])
            expect_status(status, 200, f"slow GET {target}")
            length = int(headers.get("content-length", "-1"))
            if length != n:
                raise ProtocolError(f"Content-Length {length} for {target}")
            digest = hashlib.sha256(bytes(reader.buf))
            got = len(reader.buf)
            reader.buf.clear()
            while got < n:
                sleep_or_stop(ctx, 0.01)
                chunk = sock.recv(min(512, n - got))
                if not chunk:
                    raise UnexpectedClose(f"slow reader: EOF after {got} of {n} body bytes")
                digest.update(chunk)
                got += len(chunk)
            if digest.hexdigest() != pattern_sha256(n):
                raise HashError(f"slow GET {target}: sha256 differs")
    else:
        n = 4096
        body = rng.randbytes(n)
        target = f"/upload/slow/{tag}"
        with connect(ctx.http_port, ctx.op_timeout) as sock:
            sock.sendall(head("POST", target, b"Content-Length: %d\r\n" % n))
            for i in range(0, n, 32):
                sock.sendall(body[i:i + 32])
                sleep_or_stop(ctx, 0.01)
            status, _, got = read_response(Reader(sock))
            expect_status(status, 200, f"slow POST {target}")
            want = b"len=%d sha256=%s" % (n, hashlib.sha256(body).hexdigest().encode())
            if got != want:
                raise HashError(f"slow POST {target}: upstream saw {got[:90]!r}")
    ctx.stats.add_ok("slow")


def noread(ctx, rng, tag):
    """Sends a GET and never reads. The proxy should close the connection: the small answer
    leaves it idle (idle_timeout), the 32 MiB one stalls (stream_idle_timeout). A close is seen
    as POLLRDHUP/POLLHUP; but when the proxy closed with answer bytes still queued toward our
    full receive window, its FIN waits behind them and never arrives. So after --noread-bound
    the client reads: EOF within the few MiB that buffers can hold means the proxy had closed;
    more than that means it had not (the client then closes; expected, counted apart)."""
    big = rng.random() < 0.5
    variant = "big" if big else "small"
    target = "/big/33554432" if big else f"/k/noread/{tag}"
    start = time.monotonic()
    with connect(ctx.http_port, ctx.op_timeout, rcvbuf=8192) as sock:
        sock.sendall(head("GET", target))
        poller = select.poll()
        poller.register(sock, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        deadline = start + ctx.noread_bound
        closed = False
        while time.monotonic() < deadline:
            if ctx.stop.is_set():
                raise Stopped()
            if poller.poll(250):
                closed = True
                break
        if not closed:
            # Drain: a proxy that closed lets through at most its buffer plus the kernel's.
            limit, got = 16 * 1024 * 1024, 0
            drain_deadline = time.monotonic() + ctx.op_timeout
            sock.settimeout(1.0)
            while got < limit and time.monotonic() < drain_deadline:
                if ctx.stop.is_set():
                    raise Stopped()
                try:
                    data = sock.recv(1 << 20)
                except (TimeoutError, socket.timeout):
                    if not big:
                        break  # the small answer was read and the connection is still open
                    continue
                except ConnectionResetError:
                    closed = True
                    break
                if not data:
                    closed = True
                    break
                got += len(data)
        if closed:
            ctx.stats.event("noread", f"{variant}_closed_by_proxy")
            ctx.stats.event_max("noread", f"{variant}_closed_after_s_max",
                                round(time.monotonic() - start, 1))
        else:
            ctx.stats.event("noread", f"{variant}_closed_by_client_after_bound")
    ctx.stats.add_ok("noread")


def pipeline(ctx, rng, tag):
    with connect(ctx.http_port, ctx.op_timeout) as sock:
        reader = Reader(sock)
        for round_ in range(3):
            if ctx.stop.is_set():
                return
            targets = [f"/p/{tag}/{round_}/{i}" + ("/chunked" if i % 8 == 7 else "")
                       for i in range(24)]
            sock.sendall(b"".join(head("GET", t) for t in targets))
            for i, target in enumerate(targets):
                try:
                    status, headers, body = read_response(reader)
                except EOFError:
                    raise UnexpectedClose(f"pipeline: EOF after {i} of {len(targets)} answers")
                expect_status(status, 200, target)
                check_small(body, target, ctx.stats, "pipeline")
                ctx.stats.add_ok("pipeline")
                if "close" in headers.get("connection", "").lower():
                    # The proxy may stop a pipeline (e.g. draining): it says so, and the
                    # requests after it were never processed.
                    ctx.stats.event("pipeline", "cut_by_connection_close")
                    return
            if ctx.think:
                time.sleep(ctx.think)


FUNCTIONS = {"keepalive": keepalive, "newconn": newconn, "bigbody": bigbody,
             "websocket": websocket, "tcp": tcp, "slow": slow, "noread": noread,
             "pipeline": pipeline}


def run_client(ctx, kind, index, seed):
    """Loops one kind until ctx.stop; every failure is counted and followed by a short pause."""
    rng = random.Random(seed)
    fn = FUNCTIONS[kind]
    n = 0
    while not ctx.stop.is_set():
        n += 1
        try:
            fn(ctx, rng, f"{kind}{index}-{n}")
        except Stopped:
            return
        except Exception as error:  # every failure is a finding: counted, never raised
            ctx.stats.error(kind, classify(error), f"{type(error).__name__}: {error}")
            ctx.stop.wait(0.2)
