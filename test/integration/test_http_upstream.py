"""The raw HTTP/1.1 reader the integration tests share (http_upstream.py), on socket pairs:
no proxy involved, so what each test sends arrives exactly as it is split here."""

import hashlib
import socket
import unittest

from http_upstream import (Reader, big_body_sha256, read_chunked, read_head, read_request,
                           read_response)
from proxy_harness import pattern_block


class ReaderTest(unittest.TestCase):
    def setUp(self):
        self.ours, self.theirs = socket.socketpair()
        self.ours.settimeout(5)
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)

    def peer_sends(self, *pieces, close=True):
        """The peer writes each piece in its own send, then closes (half-closes when
        `close`)."""
        for piece in pieces:
            self.theirs.sendall(piece)
        if close:
            self.theirs.shutdown(socket.SHUT_WR)

    def test_close_delimited_body_in_the_same_read_as_the_head(self):
        self.peer_sends(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello")
        response = read_response(Reader(self.ours))
        self.assertEqual((200, "OK", "HTTP/1.0"), (response.status, response.reason,
                                                    response.version))
        self.assertEqual(b"hello", response.body)

    def test_close_delimited_body_split_across_reads(self):
        reader = Reader(self.ours)
        self.peer_sends(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nab", close=False)
        line, headers = read_head(reader)
        self.peer_sends(b"cd", b"ef")
        self.assertEqual("HTTP/1.1 200 OK", line)
        self.assertEqual([("Connection", "close")], headers)
        self.assertEqual(b"abcdef", reader.rest())

    def test_empty_close_delimited_body(self):
        self.peer_sends(b"HTTP/1.1 200 OK\r\n\r\n")
        self.assertEqual(b"", read_response(Reader(self.ours)).body)

    def test_length_and_chunked_responses_leave_what_follows(self):
        self.peer_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"2;x=1\r\nde\r\n1\r\nf\r\n0\r\nX-Sum: 9\r\n\r\n"
                        b"HTTP/1.1 204 No Content\r\n\r\n")
        reader = Reader(self.ours)
        self.assertEqual(b"abc", read_response(reader).body)
        self.assertEqual(b"def", read_response(reader).body)
        no_content = read_response(reader)
        self.assertEqual((204, b""), (no_content.status, no_content.body))
        self.assertEqual(b"", reader.rest())

    def test_head_response_has_no_body(self):
        self.peer_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", close=False)
        response = read_response(Reader(self.ours), "HEAD")
        self.assertEqual((200, b"", "9"), (response.status, response.body,
                                           response.header("content-length")))

    def test_chunked_trailers(self):
        self.peer_sends(b"4\r\nabcd\r\n0\r\nX-A: 1\r\nx-b:2\r\n\r\nrest")
        reader = Reader(self.ours)
        chunks = []
        self.assertEqual([("x-a", "1"), ("x-b", "2")], read_chunked(reader, chunks.append))
        self.assertEqual(b"abcd", b"".join(chunks))
        self.assertEqual(b"rest", reader.rest())

    def test_requests_with_length_chunked_and_eof(self):
        self.peer_sends(b"\r\nPOST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
                        b"PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"3\r\nabc\r\n0\r\n\r\n")
        reader = Reader(self.ours)
        first, second = read_request(reader), read_request(reader)
        self.assertEqual(("POST", "/a", "HTTP/1.1", 2, hashlib.sha256(b"hi").hexdigest()),
                         (first["method"], first["target"], first["version"],
                          first["body_len"], first["body_sha"]))
        self.assertEqual(("PUT", "/b", 3, hashlib.sha256(b"abc").hexdigest()),
                         (second["method"], second["target"], second["body_len"],
                          second["body_sha"]))
        self.assertIsNone(read_request(reader))

    def test_big_body_sha256_is_what_the_upstream_sends(self):
        block = pattern_block()
        size = len(block) + 5
        self.assertEqual(hashlib.sha256(block + block[:5]).hexdigest(), big_body_sha256(size))


if __name__ == "__main__":
    unittest.main()
