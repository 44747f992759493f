"""Expect: 100-continue and chunked trailers end to end: curl and raw-socket clients, a raw
upstream that answers 100 then reads, or refuses before reading, and one that sends and
records trailers."""

import hashlib
import os
import subprocess
import tempfile
import unittest

from http_upstream import Reader, header_values, read_chunked, read_head, read_response
from proxy_harness import MiB, ProxyTestCase, free_port, pattern_block


def upstream_handler(conn, server):
    """/continue: 100 Continue (when asked), reads the body, answers its sha256.
    /reject/N: answers N at once without reading the body.
    /trailers: a chunked response with trailers, some of which a trailer must not carry.
    /record: reads a chunked request and records its trailers."""
    reader = Reader(conn)
    while True:
        try:
            line, headers = read_head(reader)
        except EOFError:
            return
        target = line.split(" ")[1]
        lower = {k.lower(): v for k, v in headers}
        server.results.append({"target": target, "headers": headers})
        if target.startswith("/reject/"):
            status = int(target.rsplit("/", 1)[1])
            conn.sendall(f"HTTP/1.1 {status} Refused\r\nContent-Length: 3\r\n\r\nno\n".encode())
            # The body never comes (or the proxy closes): wait for the end.
            try:
                reader.rest()
            except OSError:
                pass
            return
        if target == "/trailers":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n"
                         b"\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\nContent-Length: 99\r\n"
                         b"Host: evil\r\nServer-Timing: total;dur=1\r\n\r\n")
            continue
        if lower.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        chunks = []
        if "chunked" in lower.get("transfer-encoding", "").lower():
            trailers = read_chunked(reader, chunks.append)
        else:
            reader.exact(int(lower.get("content-length", "0")), chunks.append)
            trailers = []
        body = b"".join(chunks)
        server.results[-1]["trailers"] = trailers
        server.results[-1]["body"] = len(body)
        digest = hashlib.sha256(body).hexdigest().encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(digest) + digest)


def config(admin, port, up_port):
    return "\n".join([
        f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 1", "shutdown_timeout: 2s",
        "clusters:", f'  - {{ name: up, endpoints: ["127.0.0.1:{up_port}"] }}',
        "listeners:", "  - name: web", f'    address: "127.0.0.1:{port}"', "    filters:",
        "      - name: http_connection_manager", "        config:",
        "          http_filters:", "            - name: path_prefix_router",
        "              config: { routes: [{ prefix: /, cluster: up }] }",
        "            - name: router"]) + "\n"


class ExpectTrailersTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_server(upstream_handler)
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(config(self.admin, self.port, self.up.port),
                                      admin_port=self.admin)
        fd, self.body_file = tempfile.mkstemp()
        self.addCleanup(os.unlink, self.body_file)
        self.body = pattern_block(2 * MiB + 5)
        with os.fdopen(fd, "wb") as f:
            f.write(self.body)

    def curl(self, path, *extra):
        return subprocess.run(
            ["curl", "-sS", "-v", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}",
             "-H", "Expect: 100-continue", "--data-binary", f"@{self.body_file}", *extra,
             f"http://127.0.0.1:{self.port}{path}"],
            capture_output=True, timeout=30)

    def test_continue_is_relayed_and_the_body_follows(self):
        result = self.curl("/continue")
        out, code = result.stdout.rsplit(b"\n", 1)
        self.assertEqual(b"200", code, result.stderr)
        self.assertEqual(hashlib.sha256(self.body).hexdigest().encode(), out)
        self.assertIn(b"< HTTP/1.1 100 Continue", result.stderr)
        self.assertEqual(["100-continue"], header_values(self.up.results[0], "expect"))

    def test_refusal_before_the_body_is_relayed(self):
        for status in (417, 413):
            result = self.curl(f"/reject/{status}")
            out, code = result.stdout.rsplit(b"\n", 1)
            self.assertEqual(str(status).encode(), code, result.stderr)
            self.assertEqual(b"no\n", out)
            self.assertNotIn(b"100 Continue", result.stderr)

    def test_refusal_closes_a_connection_whose_body_was_not_read(self):
        with self.client(self.port) as sock:
            sock.sendall(b"PUT /reject/413 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            reader = Reader(sock)
            response = read_response(reader)
            self.assertEqual(413, response.status)
            self.assertEqual("close", response.header("connection"))
            # The body is sent anyway; it is never taken for a request.
            try:
                sock.sendall(b"GET /continue HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
            except OSError:
                pass
            sock.settimeout(5)
            try:
                self.assertEqual(b"", sock.recv(100))
            except ConnectionResetError:
                pass
        self.assertEqual(1, len(self.up.results))

    def test_response_trailers_reach_an_http11_client_without_framing_fields(self):
        with self.client(self.port) as sock:
            sock.sendall(b"GET /trailers HTTP/1.1\r\nHost: x\r\n\r\n")
            reader = Reader(sock)
            line, headers = read_head(reader)
            self.assertIn(" 200 ", line)
            self.assertEqual("chunked", dict((k.lower(), v) for k, v in headers)
                             .get("transfer-encoding"))
            chunks = []
            trailers = read_chunked(reader, chunks.append)
        self.assertEqual(b"hello", b"".join(chunks))
        self.assertEqual([("x-checksum", "abc"), ("server-timing", "total;dur=1")], trailers)

    def test_response_trailers_are_dropped_for_an_http10_client(self):
        with self.client(self.port) as sock:
            sock.sendall(b"GET /trailers HTTP/1.0\r\nHost: x\r\n\r\n")
            response = read_response(Reader(sock))
        self.assertEqual(200, response.status)
        # Delimited by the close: no chunking, so nowhere to put trailers.
        self.assertEqual(b"hello", response.body)
        self.assertIsNone(response.header("transfer-encoding"))

    def test_request_trailers_reach_the_upstream_without_framing_fields(self):
        with self.client(self.port) as sock:
            sock.sendall(b"POST /record HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"\r\n4\r\nabcd\r\n0\r\nX-Sum: 7\r\nHost: evil\r\n"
                         b"Content-Type: text/html\r\n\r\n")
            response = read_response(Reader(sock))
        self.assertEqual(hashlib.sha256(b"abcd").hexdigest().encode(), response.body)
        self.assertEqual([("x-sum", "7")], self.up.results[0]["trailers"])


if __name__ == "__main__":
    unittest.main()
