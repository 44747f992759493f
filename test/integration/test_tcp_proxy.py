"""tcp_proxy end to end: an in-process upstream, the real proxy, plain socket clients."""

import contextlib
import hashlib
import os
import socket
import threading
import time
import unittest

from proxy_harness import (MiB, note, ProxyTestCase, canonical_config, drain_hash, echo_handler,
                           free_port, push_until_blocked, recv_exact, recv_until_eof,
                           reply_after_eof_handler, sleep_until)


class ByteExactnessTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.upstream = self.start_server(echo_handler)
        self.proxy, self.port, self.admin = self.start_tcp_proxy([self.upstream.port])

    def echo_roundtrip(self, payload):
        s = self.client(self.port)
        s.sendall(payload)
        got = recv_exact(s, len(payload), timeout=20)
        self.assertEqual(got, payload)
        s.shutdown(socket.SHUT_WR)
        rest, _ = recv_until_eof(s, timeout=5)
        self.assertEqual(rest, b"", "bytes after the echo")

    def test_one_byte(self):
        self.echo_roundtrip(b"\x00")

    def test_one_mebibyte(self):
        self.echo_roundtrip(os.urandom(MiB))

    def test_64_mebibytes_concurrently_hash_compared(self):
        size = 64 * MiB
        data = os.urandom(size)
        expected = hashlib.sha256(data).hexdigest()
        s = self.client(self.port, timeout=60)
        errors = []

        def send():
            try:
                view = memoryview(data)
                for offset in range(0, size, 4 * MiB):
                    s.sendall(view[offset:offset + 4 * MiB])
                s.shutdown(socket.SHUT_WR)
            except OSError as error:
                errors.append(repr(error))

        sender = threading.Thread(target=send, daemon=True)
        start = time.monotonic()
        sender.start()
        received, digest = drain_hash(s, timeout=60)
        sender.join(timeout=10)
        elapsed = time.monotonic() - start
        self.assertEqual(errors, [])
        note(f"64 MiB echoed in {elapsed:.2f}s")
        self.assertEqual(received, size, f"bytes echoed back (in {elapsed:.1f}s)")
        self.assertEqual(digest, expected, "sha256 of the echoed bytes")

    def test_200_concurrent_connections_distinct_payloads(self):
        count = 200
        payloads = [b"conn-%03d-" % i + os.urandom(4096 + i) for i in range(count)]
        sockets = [self.client(self.port, timeout=10) for _ in range(count)]
        for s, payload in zip(sockets, payloads):
            s.sendall(payload)
        for i, (s, payload) in enumerate(zip(sockets, payloads)):
            self.assertEqual(recv_exact(s, len(payload), timeout=10), payload, f"connection {i}")
        # All 200 are open at once.
        self.wait_metric(self.admin, lambda m: m.value("tcp_connections_active_count") == count,
                         what=f"tcp_connections_active_count == {count}")
        for s in sockets:
            s.close()
        self.wait_metric(self.admin, lambda m: m.value("tcp_connections_active_count") == 0,
                         what="tcp_connections_active_count == 0")
        self.assertEqual(self.upstream.accepted, count)


class HalfCloseTest(ProxyTestCase):
    def test_client_half_closes_upstream_replies_after_eof(self):
        upstream = self.start_server(reply_after_eof_handler)
        _, port, _ = self.start_tcp_proxy([upstream.port])
        s = self.client(port)
        payload = os.urandom(300 * 1024)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply, reset = recv_until_eof(s, timeout=10)
        self.assertFalse(reset, "the connection was reset instead of closed")
        self.assertEqual(reply, b"got %d:" % len(payload) + payload[::-1])

    def test_upstream_half_closes_first_client_keeps_sending(self):
        received = {}
        done = threading.Event()

        def handler(conn, server):
            conn.sendall(b"hello")
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                chunks.append(data)
            received["data"] = b"".join(chunks)
            done.set()

        upstream = self.start_server(handler)
        _, port, _ = self.start_tcp_proxy([upstream.port])
        s = self.client(port)
        self.assertEqual(recv_exact(s, 5), b"hello")
        rest, reset = recv_until_eof(s, timeout=5)
        self.assertEqual((rest, reset), (b"", False), "EOF after the upstream's half-close")
        # The client's direction is still open: everything it sends now reaches the upstream.
        payload = os.urandom(2 * MiB)
        for offset in range(0, len(payload), 256 * 1024):
            s.sendall(payload[offset:offset + 256 * 1024])
            time.sleep(0.01)
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(done.wait(10), "upstream never saw EOF after the client's half-close")
        self.assertEqual(len(received["data"]), len(payload))
        self.assertEqual(received["data"], payload)


class UpstreamFailureTest(ProxyTestCase):
    def test_upstream_down_closes_client_counts_and_recovers(self):
        down_port = free_port()
        proxy, port, admin = self.start_tcp_proxy([down_port])
        before = self.metrics(admin)
        self.assertIn(before.value("proxy_listener_connection_failures_total", listener="tcp",
                                   cause="upstream_connect_refused"), (None, 0.0))
        for attempt in range(2):
            s = self.client(port)
            start = time.monotonic()
            with contextlib.suppress(OSError):
                s.sendall(b"anyone there?")
            data, _ = recv_until_eof(s, timeout=2.0)
            elapsed = time.monotonic() - start
            self.assertEqual(data, b"")
            self.assertLess(elapsed, 2.0)
            s.close()
            self.wait_metric(
                admin,
                lambda m, n=attempt + 1: m.value("proxy_listener_connection_failures_total",
                                                 listener="tcp",
                                                 cause="upstream_connect_refused") == n,
                what=f'connection_failures_total{{cause="upstream_connect_refused"}} == '
                     f'{attempt + 1}')
        metrics = self.metrics(admin)
        self.assertEqual(metrics.value("proxy_listener_upstream_connect_failures_total",
                                       listener="tcp"), 2, metrics.text)
        self.assertTrue(proxy.running(), "the proxy died on an upstream connect failure")
        # The upstream comes back: the next client is served.
        self.start_server(echo_handler, port=down_port)
        s = self.client(port)
        s.sendall(b"ping")
        self.assertEqual(recv_exact(s, 4), b"ping")

    def test_first_endpoint_down_second_serves(self):
        down_port = free_port()
        upstream = self.start_server(echo_handler)
        _, port, _ = self.start_tcp_proxy([down_port, upstream.port])
        for i in range(10):
            s = self.client(port)
            payload = b"via second endpoint %d" % i
            s.sendall(payload)
            try:
                got = recv_exact(s, len(payload), timeout=3)
            except (EOFError, ConnectionResetError) as error:
                self.fail(f"connection {i} was not served by the second endpoint: {error!r}")
            self.assertEqual(got, payload, f"connection {i}")
            s.close()
        self.assertEqual(upstream.accepted, 10)


class IdleTimeoutTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.upstream = self.start_server(echo_handler)
        self.proxy, self.port, self.admin = self.start_tcp_proxy([self.upstream.port],
                                                                 idle_timeout="500ms")

    def test_idle_connection_is_closed_both_sides(self):
        s = self.client(self.port)
        s.sendall(b"x")
        self.assertEqual(recv_exact(s, 1), b"x")
        start = time.monotonic()
        data, _ = recv_until_eof(s, timeout=5)
        elapsed = time.monotonic() - start
        self.assertEqual(data, b"")
        self.assertGreater(elapsed, 0.35, "closed long before idle_timeout")
        self.assertLess(elapsed, 2.5, "idle_timeout 500ms took too long")
        # The upstream side was closed as well.
        self.assertTrue(sleep_until(lambda: any(r[0] == "eof" for r in self.upstream.results), 3),
                        "the upstream connection was not closed by the idle timeout")

    def test_activity_keeps_connection_open(self):
        s = self.client(self.port)
        end = time.monotonic() + 1.6
        i = 0
        while time.monotonic() < end:
            s.sendall(b"%d" % (i % 10))
            self.assertEqual(recv_exact(s, 1, timeout=2), b"%d" % (i % 10),
                             f"connection closed while active ({i} round trips)")
            i += 1
            time.sleep(0.2)


class BackpressureTest(ProxyTestCase):
    """The proxy buffers a bounded amount: a sender toward a peer that does not read blocks,
    and the proxy's RSS stays within 16 MiB of where it started."""

    TOTAL = 100 * MiB
    RSS_GROWTH_LIMIT_KIB = 16 * 1024
    # Kernel socket buffers on the way (client send, proxy receive and send, peer receive)
    # plus the proxy's buffer_limit: far below the 100 MiB the sender tries to send.
    BLOCKED_BEFORE = 64 * MiB

    def test_paused_upstream_reader(self):
        sink_results = {}

        def sink(conn, server):
            server.release.wait(60)
            count, digest = drain_hash(conn, timeout=60)
            sink_results["count"], sink_results["digest"] = count, digest

        upstream = self.start_server(sink, rcvbuf=64 * 1024)
        proxy, port, _ = self.start_tcp_proxy([upstream.port], buffer_limit=1048576)
        baseline = proxy.rss_kib()
        s = self.client(port, timeout=30, sndbuf=256 * 1024)
        digest = hashlib.sha256()
        start = time.monotonic()
        sent, stalled = push_until_blocked(s, self.TOTAL, stall_seconds=1.0, digest=digest)
        peak = proxy.rss_kib()
        self.assertTrue(stalled, f"the sender never blocked: sent all {sent} bytes toward an "
                                 f"upstream that does not read")
        self.assertLess(sent, self.BLOCKED_BEFORE, "the sender blocked only after this much")
        time.sleep(0.3)
        peak = max(peak, proxy.rss_kib())
        self.assertLessEqual(peak - baseline, self.RSS_GROWTH_LIMIT_KIB,
                             f"proxy RSS grew {peak - baseline} KiB (from {baseline} KiB) with "
                             f"{sent} bytes sent in {time.monotonic() - start:.1f}s")
        note(f"paused upstream reader: sender blocked after {sent} bytes, proxy RSS "
             f"{baseline} -> {peak} KiB")
        # Releasing the reader lets every byte through, in order.
        s.shutdown(socket.SHUT_WR)
        upstream.release.set()
        self.assertTrue(sleep_until(lambda: "digest" in sink_results, 30),
                        f"upstream did not receive to EOF; errors {upstream.errors}")
        self.assertEqual(sink_results["count"], sent)
        self.assertEqual(sink_results["digest"], digest.hexdigest())

    def test_paused_client_reader(self):
        state = {}
        pushed = threading.Event()

        def source(conn, server):
            digest = hashlib.sha256()
            sent, stalled = push_until_blocked(conn, self.TOTAL, stall_seconds=1.0, digest=digest)
            state.update(sent=sent, stalled=stalled, digest=digest.hexdigest())
            pushed.set()
            server.release.wait(60)
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(30)
            while conn.recv(65536):
                pass

        upstream = self.start_server(source)
        proxy, port, _ = self.start_tcp_proxy([upstream.port], buffer_limit=1048576)
        baseline = proxy.rss_kib()
        s = self.client(port, timeout=30, rcvbuf=64 * 1024)
        self.assertTrue(pushed.wait(60), f"the upstream never finished pushing: {upstream.errors}")
        peak = proxy.rss_kib()
        self.assertTrue(state["stalled"], f"the upstream never blocked: sent all {state['sent']} "
                                          "bytes toward a client that does not read")
        self.assertLess(state["sent"], self.BLOCKED_BEFORE)
        time.sleep(0.3)
        peak = max(peak, proxy.rss_kib())
        self.assertLessEqual(peak - baseline, self.RSS_GROWTH_LIMIT_KIB,
                             f"proxy RSS grew {peak - baseline} KiB (from {baseline} KiB) with "
                             f"{state['sent']} bytes sent by the upstream")
        note(f"paused client reader: upstream blocked after {state['sent']} bytes, proxy RSS "
             f"{baseline} -> {peak} KiB")
        upstream.release.set()
        count, digest = drain_hash(s, timeout=30)
        self.assertEqual(count, state["sent"])
        self.assertEqual(digest, state["digest"])



class SpliceTest(ProxyTestCase):
    """Bytes move with splice(2) by default; `splice: false` copies them; the stats byte
    counters are right either way."""

    def echo_through(self, port, size, timeout=60):
        data = os.urandom(size)
        s = self.client(port, timeout=timeout)
        errors = []

        def send():
            try:
                view = memoryview(data)
                for offset in range(0, size, 4 * MiB):
                    s.sendall(view[offset:offset + 4 * MiB])
                s.shutdown(socket.SHUT_WR)
            except OSError as error:
                errors.append(repr(error))

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received, digest = drain_hash(s, timeout=timeout)
        sender.join(timeout=10)
        self.assertEqual(errors, [])
        self.assertEqual(received, size, "bytes echoed back")
        self.assertEqual(digest, hashlib.sha256(data).hexdigest(), "sha256 of the echoed bytes")

    def closed_metrics(self, admin):
        return self.wait_metric(
            admin, lambda m: m.value("proxy_listener_connections_total", listener="tcp") == 1
            and m.value("proxy_listener_connections_active", listener="tcp") == 0,
            what="the connection closed", use_curl=True)

    def test_64_mebibytes_spliced_and_counted(self):
        upstream = self.start_server(echo_handler)
        _, port, admin = self.start_tcp_proxy([upstream.port])
        size = 64 * MiB
        self.echo_through(port, size)
        metrics = self.closed_metrics(admin)
        self.assertEqual(metrics.value("proxy_listener_received_bytes_total", listener="tcp"), size)
        self.assertEqual(metrics.value("proxy_listener_sent_bytes_total", listener="tcp"), size)
        # The first 64 KiB (and what was in flight when the threshold passed) are copied;
        # the rest goes by splice(2).
        spliced = metrics.value("proxy_listener_spliced_bytes_total", listener="tcp")
        self.assertGreater(spliced, 2 * size - 4 * MiB, "bulk bytes went by splice(2)")
        self.assertLess(spliced, 2 * size, "the first bytes were copied")
        self.assertEqual(metrics.value("proxy_listener_connection_failures_total",
                                       listener="tcp", cause="client_reset"), 0)

    def test_short_exchange_is_copied_not_spliced(self):
        upstream = self.start_server(echo_handler)
        _, port, admin = self.start_tcp_proxy([upstream.port])
        self.echo_through(port, 1000)
        metrics = self.closed_metrics(admin)
        self.assertEqual(metrics.value("proxy_listener_received_bytes_total", listener="tcp"), 1000)
        self.assertEqual(metrics.value("proxy_listener_sent_bytes_total", listener="tcp"), 1000)
        self.assertEqual(metrics.value("proxy_listener_spliced_bytes_total", listener="tcp"), 0,
                         "below 64 KiB no pipe is made")

    def test_splice_false_copies_and_counts(self):
        upstream = self.start_server(echo_handler)
        admin, listen = free_port(), free_port()
        config = canonical_config(admin, [{
            "name": "tcp", "address": f"127.0.0.1:{listen}",
            "filters": ["- name: stats", "- name: tcp_proxy",
                        "  config: { cluster: echo, splice: false }"]}],
            [("echo", [f"127.0.0.1:{upstream.port}"])])
        self.start_proxy(config, admin_port=admin)
        size = 8 * MiB
        self.echo_through(listen, size)
        metrics = self.closed_metrics(admin)
        self.assertEqual(metrics.value("proxy_listener_received_bytes_total", listener="tcp"), size)
        self.assertEqual(metrics.value("proxy_listener_sent_bytes_total", listener="tcp"), size)
        self.assertEqual(metrics.value("proxy_listener_spliced_bytes_total", listener="tcp"), 0)


if __name__ == "__main__":
    unittest.main()
