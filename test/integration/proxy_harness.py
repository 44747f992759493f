"""Shared helpers for the integration tests: the real proxy binary, real sockets, real clients.

Python 3.11 standard library only. Every wait is bounded; every process and socket a test
starts is cleaned up by the test (processes by PID). Environment:

  PROXY_BIN         the built proxy (default: $PROXY_SOURCE_DIR/build/proxy)
  PROXY_SOURCE_DIR  the repository root (default: two levels above this file)
"""

import contextlib
import hashlib
import http.client
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PROXY_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
PROXY_BIN = os.environ.get("PROXY_BIN") or os.path.join(SOURCE_DIR, "build", "proxy")
TESTDATA_DIR = os.path.join(SOURCE_DIR, "test", "server", "config", "testdata")

MiB = 1024 * 1024

# Variables that change what the proxy reads; tests set them explicitly when they mean to.
_PROXY_ENV_VARIABLES = ("CONFIG_FILE", "INTERNAL_API_PORT")


def proxy_env(**overrides):
    """The environment for a proxy process: ours without CONFIG_FILE/INTERNAL_API_PORT."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_ENV_VARIABLES}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def note(text):
    """A line on stderr when PROXY_IT_VERBOSE is set (measurements worth seeing)."""
    if os.environ.get("PROXY_IT_VERBOSE"):
        sys.stderr.write(f"[note] {text}\n")


def check_binary():
    if not (os.path.isfile(PROXY_BIN) and os.access(PROXY_BIN, os.X_OK)):
        raise RuntimeError(f"PROXY_BIN={PROXY_BIN!r} is not an executable file; build the proxy "
                           "or set PROXY_BIN")


# ---------------------------------------------------------------------------------------------
# Ports

def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_handed_out = set()
_port_lock = threading.Lock()


def _bindable(port, wildcard):
    families = [(socket.AF_INET, "127.0.0.1")]
    if wildcard:
        families = [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")]
    for family, host in families:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                if family == socket.AF_INET6:
                    with contextlib.suppress(OSError):
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
        except OSError as error:
            if family == socket.AF_INET6 and error.errno == 97:  # no IPv6 at all
                continue
            return False
    return True


def free_port(wildcard=False):
    """A port nothing listens on, below the ephemeral range, so that it is neither taken by an
    outgoing connection meanwhile nor (for a port meant to stay closed) self-connected to.
    With wildcard=True it is also free on every interface (for ":P" listeners)."""
    low = 20000
    high = max(low + 1000, min(_EPHEMERAL_LOW, 65535))
    with _port_lock:
        for _ in range(500):
            port = random.randrange(low, high)
            if port in _handed_out:
                continue
            if _bindable(port, wildcard):
                _handed_out.add(port)
                return port
    with socket.socket() as s:  # fall back to the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port, host="0.0.0.0"):
    wildcard = host in ("", "0.0.0.0", "::")
    if wildcard:
        return _bindable(port, True)
    try:
        with socket.socket() as s:
            s.bind((host, port))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Plain clients

def connect(port, host="127.0.0.1", timeout=5.0, rcvbuf=None, sndbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def connection_refused(port, host="127.0.0.1", timeout=1.0):
    """True if a connect is refused; False if it is accepted (the socket is closed at once)."""
    try:
        s = connect(port, host, timeout=timeout)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    s.close()
    return False


def recv_exact(sock, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"received {got} of {n} bytes within {timeout}s")
        sock.settimeout(remaining)
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError(f"EOF after {got} of {n} bytes")
        got += k
    return bytes(buf)


def recv_until_eof(sock, timeout=10.0, limit=256 * MiB):
    """All bytes until EOF. A reset counts as EOF (returned with reset=True)."""
    deadline = time.monotonic() + timeout
    chunks = []
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no EOF within {timeout}s ({total} bytes received)")
        sock.settimeout(remaining)
        try:
            data = sock.recv(1 << 20)
        except ConnectionResetError:
            return b"".join(chunks), True
        if not data:
            return b"".join(chunks), False
        chunks.append(data)
        total += len(data)
        if total > limit:
            raise AssertionError("more data than expected")


def wait_closed(sock, timeout):
    """Seconds until the peer closed (EOF or reset); raises TimeoutError. Data is discarded."""
    start = time.monotonic()
    recv_until_eof(sock, timeout=timeout)
    return time.monotonic() - start


def pattern_block(size=8 * MiB + 13, seed=1234):
    return random.Random(seed).randbytes(size)


def push_until_blocked(sock, limit, stall_seconds=1.0, chunk=1 << 20, block=None, digest=None):
    """Sends up to `limit` bytes on a non-blocking socket, cycling through `block`, until no
    progress for `stall_seconds`. Returns (bytes sent, stalled?). `digest` gets every byte the
    kernel accepted."""
    block = block if block is not None else pattern_block()
    view = memoryview(block)
    sock.setblocking(False)
    sent = 0
    try:
        while sent < limit:
            offset = sent % len(block)
            n = min(chunk, len(block) - offset, limit - sent)
            try:
                k = sock.send(view[offset:offset + n])
            except BlockingIOError:
                _, writable, _ = select.select([], [sock], [], stall_seconds)
                if not writable:
                    return sent, True
                continue
            if digest is not None:
                digest.update(view[offset:offset + k])
            sent += k
        return sent, False
    finally:
        sock.setblocking(True)


def drain_hash(sock, timeout=30.0):
    """Reads until EOF; returns (byte count, sha256 hexdigest)."""
    deadline = time.monotonic() + timeout
    digest = hashlib.sha256()
    buf = bytearray(4 * MiB)
    view = memoryview(buf)
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no EOF within {timeout}s ({total} bytes)")
        sock.settimeout(remaining)
        try:
            k = sock.recv_into(view)
        except ConnectionResetError:
            break
        if k == 0:
            break
        digest.update(view[:k])
        total += k
    return total, digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# In-process upstream servers

class TcpServer:
    """A threaded TCP server on 127.0.0.1: `handler(conn, server)` runs in a thread of its own
    for each accepted connection; the connection is closed when the handler returns."""

    def __init__(self, handler, port=0, rcvbuf=None, backlog=1024, conn_timeout=60.0,
                 host="127.0.0.1"):
        self.handler = handler
        self.conn_timeout = conn_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # "::1" only: an IPv6-only upstream, never reached over IPv4.
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if rcvbuf is not None:
            # Set on the listening socket so accepted sockets start with it (window scaling).
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((host, port))
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.threads = []
        self.accepted = 0
        self.errors = []
        self.results = []  # whatever handlers append
        self.release = threading.Event()  # handlers may wait on it
        self.stopping = threading.Event()
        self.accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.accept_thread.start()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(self.conn_timeout)
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            with self.lock:
                if self.stopping.is_set():
                    conn.close()
                    return
                self.accepted += 1
                self.conns.append(conn)
                self.threads.append(thread)
            thread.start()

    def _run(self, conn):
        try:
            self.handler(conn, self)
        except Exception as error:  # recorded; tests look at it when it matters
            if not self.stopping.is_set():
                with self.lock:
                    self.errors.append(repr(error))
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self):
        self.stopping.set()
        self.release.set()
        with contextlib.suppress(OSError):
            self.sock.close()
        self.accept_thread.join(timeout=2)
        with self.lock:
            conns = list(self.conns)
            threads = list(self.threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        for thread in threads:
            thread.join(timeout=2)


def echo_handler(conn, server):
    """Echoes everything; on EOF it half-closes, then returns (closing)."""
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    total = 0
    while True:
        n = conn.recv_into(view)
        if n == 0:
            break
        conn.sendall(view[:n])
        total += n
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
    with server.lock:
        server.results.append(("eof", total, time.monotonic()))


# ---------------------------------------------------------------------------------------------
# Metrics

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


class Metrics:
    """Prometheus text exposition, parsed."""

    def __init__(self, text):
        self.text = text
        self.types = {}
        self.helps = {}
        self.samples = []  # (name, labels dict, float)
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("# TYPE "):
                parts = line.split(None, 3)
                if len(parts) >= 4:
                    self.types[parts[2]] = parts[3].strip()
                continue
            if line.startswith("# HELP "):
                parts = line.split(None, 3)
                if len(parts) >= 3:
                    self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                raise ValueError(f"not a Prometheus sample line: {line!r}")
            labels = {}
            if m.group(2):
                pos = 0
                body = m.group(2)
                while pos < len(body):
                    lm = _LABEL_RE.match(body, pos)
                    if not lm:
                        raise ValueError(f"bad labels in {line!r}")
                    labels[lm.group(1)] = lm.group(2)
                    pos = lm.end()
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def find(self, name, **labels):
        return [(l, v) for n, l, v in self.samples
                if n == name and all(l.get(k) == str(x) for k, x in labels.items())]

    def value(self, name, **labels):
        """The sum of the samples of `name` whose labels include `labels`; None if none."""
        found = self.find(name, **labels)
        if not found:
            return None
        return sum(v for _, v in found)

    def names(self):
        return {n for n, _, _ in self.samples}


# ---------------------------------------------------------------------------------------------
# HTTP clients

def http_get(port, path, host="127.0.0.1", timeout=5.0):
    """(status, body text) with http.client (no proxy environment variables consulted)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def curl(url, timeout=5.0, extra=()):
    """(HTTP status or 0, body text, curl exit code) with the real curl."""
    marker = "\n__CURL_STATUS__"
    try:
        result = subprocess.run(
            ["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout), "-o", "-",
             "-w", marker + "%{http_code}", *extra, url],
            capture_output=True, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return 0, "", -1
    out = result.stdout.decode("utf-8", "replace")
    body, _, status = out.rpartition(marker)
    try:
        code = int(status)
    except ValueError:
        code = 0
    return code, body, result.returncode


# ---------------------------------------------------------------------------------------------
# Name resolution as a stock Debian 12 machine has it

# /etc/hosts as a fresh Debian 12 installs it: localhost is 127.0.0.1 and ::1, and
# getaddrinfo() returns ::1 first.
STOCK_HOSTS_FILE = os.path.join(HERE, "debian12-hosts")


def private_hosts_available():
    """Whether a process can be given its own /etc/hosts (a private mount namespace with a
    bind mount: root, util-linux's unshare)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            f'mount --bind "{STOCK_HOSTS_FILE}" /etc/hosts'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    return probe.returncode == 0


def with_private_hosts(cmd, hosts_path, resolv_conf_path=None):
    """`cmd` run with `hosts_path` as its /etc/hosts (and `resolv_conf_path` as its
    /etc/resolv.conf), in a mount namespace of its own (the machine's files are untouched).
    unshare and sh exec, so the PID is the command's."""
    script = 'mount --bind "$0" /etc/hosts && '
    if resolv_conf_path is not None:
        script += f'mount --bind "{resolv_conf_path}" /etc/resolv.conf && '
    return ["unshare", "-m", "sh", "-c", script + 'exec "$@"', hosts_path, *cmd]


# ---------------------------------------------------------------------------------------------
# The proxy process

class ProxyProcess:
    """One proxy process, its config file and its captured output."""

    def __init__(self, config_text=None, config_path=None, args=(), env=None, cwd=None,
                 workers=2, workdir=None, use_c_flag=True, hosts=None, resolv_conf=None):
        """hosts: lines added to a stock Debian /etc/hosts (a list), or a whole file (a str),
        that the proxy alone sees (see with_private_hosts()); None: the machine's own file.
        resolv_conf: with hosts, the text of the proxy's own /etc/resolv.conf."""
        check_binary()
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="proxy-it-")
        if config_text is not None:
            config_path = os.path.join(self.workdir, "config.yml")
            with open(config_path, "w") as f:
                f.write(config_text)
        self.config_path = config_path
        cmd = [PROXY_BIN]
        if config_path is not None and use_c_flag:
            cmd += ["-c", config_path]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        cmd += list(args)
        if hosts is not None:
            hosts_path = os.path.join(self.workdir, "hosts")
            if isinstance(hosts, str):
                content = hosts
            else:
                with open(STOCK_HOSTS_FILE) as stock:
                    content = stock.read() + "".join(line + "\n" for line in hosts)
            with open(hosts_path, "w") as f:
                f.write(content)
            resolv_path = None
            if resolv_conf is not None:
                resolv_path = os.path.join(self.workdir, "resolv.conf")
                with open(resolv_path, "w") as f:
                    f.write(resolv_conf)
            cmd = with_private_hosts(cmd, hosts_path, resolv_path)
        self.cmd = cmd
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        self.stdout_path = os.path.join(self.workdir, "stdout.log")
        self._stderr = open(self.stderr_path, "wb")
        self._stdout = open(self.stdout_path, "wb")
        self.killed_by_us = False
        self.stopped_by_test = False
        self.proc = subprocess.Popen(cmd, stdout=self._stdout, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL,
                                     env=env if env is not None else proxy_env(), cwd=cwd)
        self.pid = self.proc.pid

    # -- output
    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def describe(self, tail=60):
        lines = self.stderr_text().splitlines()
        shown = "\n".join("    " + l for l in lines[-tail:])
        code = self.proc.returncode
        return (f"proxy pid {self.pid} {' '.join(self.cmd)}; exit code "
                f"{'running' if code is None else code}; stderr (last {tail} lines):\n{shown}")

    # -- state
    def running(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def wait_ready(self, admin_port, timeout=10.0, host="127.0.0.1"):
        """Polls GET /ready until 200; fails early if the process exits."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("proxy exited before it was ready\n" + self.describe())
            try:
                status, _ = http_get(admin_port, "/ready", host=host, timeout=1.0)
                if status == 200:
                    return
                last = f"status {status}"
            except OSError as error:
                last = repr(error)
            time.sleep(0.02)
        raise AssertionError(f"proxy not ready on admin port {admin_port} within {timeout}s "
                             f"(last: {last})\n" + self.describe())

    def wait_log(self, pattern, timeout=10.0):
        """The first match of regex `pattern` in stderr, waiting for it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = regex.search(self.stderr_text())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no log line matching {pattern!r} within {timeout}s\n"
                             + self.describe())

    def bound_ports(self, timeout=10.0):
        """{listener name: port} and the admin port, from the start-up log lines."""
        admin = self.wait_log(r"admin API on \S*:(\d+)", timeout)
        listeners = {m.group(1): int(m.group(2)) for m in
                     re.finditer(r"listener (\S+) on \S*:(\d+)", self.stderr_text())}
        return listeners, int(admin.group(1))

    # -- stopping
    def signal(self, sig):
        self.stopped_by_test = True
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"proxy still running after {timeout}s\n" + self.describe())

    def kill(self):
        if self.proc.poll() is None:
            self.killed_by_us = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)

    def stop(self, timeout=8.0):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code (None if it hung)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def close_files(self):
        for f in (self._stderr, self._stdout):
            with contextlib.suppress(OSError):
                f.close()

    def remove_workdir(self):
        if self.own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def run_proxy_once(args, env=None, cwd=None, timeout=15.0):
    """Runs the proxy to completion (for --validate, --help, config errors...).
    Returns CompletedProcess with text stdout/stderr; a proxy that does not exit is killed and
    reported as returncode None."""
    check_binary()
    proc = subprocess.Popen([PROXY_BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env if env is not None else proxy_env(),
                            cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=5)
        code = None
    return subprocess.CompletedProcess(proc.args, code, out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------------
# Configs

def canonical_config(admin_port, listeners, clusters, shutdown_timeout="2s", log_level="info",
                     workers=2, admin_host="127.0.0.1"):
    """listeners: list of dicts {name, address, filters (YAML text lines list) | cluster,
    idle_timeout, buffer_limit, max_connections}; clusters: list of (name, [endpoints])."""
    lines = [f'admin: {{ address: "{admin_host}:{admin_port}" }}',
             f"log_level: {log_level}",
             f"workers: {workers}",
             f"shutdown_timeout: {shutdown_timeout}",
             "clusters:"]
    for cluster in clusters:
        name, endpoints = cluster[0], cluster[1]
        connect_timeout = cluster[2] if len(cluster) > 2 else "1s"
        eps = ", ".join(f'"{e}"' for e in endpoints)
        lines += [f"  - name: {name}", f"    endpoints: [{eps}]",
                  f"    connect_timeout: {connect_timeout}"]
    lines.append("listeners:")
    for listener in listeners:
        lines += [f"  - name: {listener['name']}", f"    address: \"{listener['address']}\""]
        if "max_connections" in listener:
            lines.append(f"    max_connections: {listener['max_connections']}")
        lines.append("    filters:")
        if "filters" in listener:
            lines += ["      " + l for l in listener["filters"]]
        else:
            cfg = [f"cluster: {listener['cluster']}"]
            if "idle_timeout" in listener:
                cfg.append(f"idle_timeout: {listener['idle_timeout']}")
            if "buffer_limit" in listener:
                cfg.append(f"buffer_limit: {listener['buffer_limit']}")
            if listener.get("stats", True):
                lines.append("      - name: stats")
            lines += ["      - name: tcp_proxy", f"        config: {{ {', '.join(cfg)} }}"]
    return "\n".join(lines) + "\n"


def tcp_config(admin_port, listen_port, endpoints, **kw):
    """One listener "tcp" on 127.0.0.1:listen_port → cluster "echo" with `endpoints` ports."""
    listener = {"name": "tcp", "address": f"127.0.0.1:{listen_port}", "cluster": "echo"}
    for key in ("idle_timeout", "buffer_limit", "max_connections"):
        if key in kw:
            listener[key] = kw.pop(key)
    eps = [e if isinstance(e, str) else f"127.0.0.1:{e}" for e in endpoints]
    return canonical_config(admin_port, [listener], [("echo", eps)], **kw)


# ---------------------------------------------------------------------------------------------
# Test case base

class ProxyTestCase(unittest.TestCase):
    """Starts proxies and upstreams with automatic cleanup; prints the proxy's stderr when a
    test fails."""

    def setUp(self):
        check_binary()
        self.proxies = []
        self.addCleanup(self._cleanup_proxies)

    # -- resources with cleanup
    def start_proxy(self, config_text=None, admin_port=None, wait=True, **kw):
        proxy = ProxyProcess(config_text=config_text, **kw)
        self.proxies.append(proxy)
        if wait and admin_port is not None:
            proxy.wait_ready(admin_port)
        return proxy

    def start_server(self, handler=echo_handler, **kw):
        server = TcpServer(handler, **kw)
        self.addCleanup(server.close)
        return server

    def client(self, port, **kw):
        s = connect(port, **kw)
        self.addCleanup(s.close)
        return s

    def start_tcp_proxy(self, upstream_ports, **kw):
        """A proxy with listener "tcp" → cluster "echo"; returns (proxy, listen port, admin)."""
        admin_port = free_port()
        listen_port = free_port()
        config = tcp_config(admin_port, listen_port, upstream_ports, **kw)
        proxy = self.start_proxy(config, admin_port=admin_port)
        return proxy, listen_port, admin_port

    def metrics(self, admin_port, use_curl=False):
        if use_curl:
            status, body, rc = curl(f"http://127.0.0.1:{admin_port}/metrics")
            self.assertEqual((rc, status), (0, 200), f"curl /metrics: {body!r}")
        else:
            status, body = http_get(admin_port, "/metrics")
            self.assertEqual(status, 200, body)
        return Metrics(body)

    def wait_metric(self, admin_port, predicate, timeout=5.0, what="metric condition",
                    use_curl=False):
        """Polls /metrics until predicate(Metrics) is true; returns that Metrics."""
        deadline = time.monotonic() + timeout
        metrics = None
        while True:
            metrics = self.metrics(admin_port, use_curl=use_curl)
            if predicate(metrics):
                return metrics
            if time.monotonic() >= deadline:
                self.fail(f"{what} not reached within {timeout}s; /metrics was:\n{metrics.text}"
                          + self._describe_proxies())
            time.sleep(0.05)

    # -- failure reporting
    def _describe_proxies(self):
        return "".join("\n" + p.describe() for p in getattr(self, "proxies", []))

    def _test_failed(self):
        """Whether this test already failed. (Inside a cleanup, _Outcome.success reads True
        whatever happened before, so the result's lists are consulted.)"""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return True
        for test, _ in list(getattr(result, "failures", [])) + list(getattr(result, "errors", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def _cleanup_proxies(self):
        already_failed = self._test_failed()
        crashed = []
        for proxy in self.proxies:
            was_running = proxy.running()
            code = proxy.stop(timeout=8.0) if was_running else proxy.proc.returncode
            if was_running and code is None:
                crashed.append(f"proxy pid {proxy.pid} did not exit within 8s of SIGTERM "
                               "at cleanup (killed)")
            elif code is not None and code < 0 and not proxy.killed_by_us:
                crashed.append(f"proxy pid {proxy.pid} died of signal {-code}")
            elif (not was_running and not proxy.stopped_by_test and code not in (0, None)
                  and not already_failed):
                crashed.append(f"proxy pid {proxy.pid} exited on its own with code {code}")
            proxy.close_files()
        if self._test_failed() or crashed:
            for proxy in self.proxies:
                sys.stderr.write("\n--- " + proxy.describe(tail=80) + "\n")
        for proxy in self.proxies:
            proxy.remove_workdir()
        if crashed:
            self.fail("; ".join(crashed))


def reply_after_eof_handler(conn, server):
    """Reads until EOF, then answers b"got N:" + reversed data, then closes."""
    chunks = []
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        chunks.append(data)
    data = b"".join(chunks)
    conn.sendall(b"got %d:" % len(data) + data[::-1])
    with server.lock:
        server.results.append(("received", data))


def sleep_until(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
