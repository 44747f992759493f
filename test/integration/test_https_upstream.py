"""https:// upstreams end to end (docs/behaviour.md §3 "TLS to https targets"): the real proxy, a
python ssl upstream on 127.0.0.1 with certificates made here by the openssl CLI, raw socket
clients speaking plain HTTP to the proxy."""

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from http_upstream import (Reader, big_body_sha256, header_values, http_handler, read_head,
                           read_response, send_request, start_http_upstream)
from proxy_harness import (MiB, ProxyTestCase, free_port, note, pattern_block, proxy_env,
                           run_proxy_once)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


class Pki:
    """A CA and server certificates signed by it, in a temporary directory."""

    def __init__(self, name="Proxy Test CA"):
        self.dir = tempfile.mkdtemp(prefix="proxy-tls-it-")
        self.ca = os.path.join(self.dir, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", f"/CN={name}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)

    def issue(self, name, alt_names):
        """(cert path, key path) for subjectAltName `alt_names` ("DNS:localhost,IP:...")."""
        with open(os.path.join(self.dir, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
                cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                cwd=self.dir)
        return os.path.join(self.dir, f"{name}.pem"), os.path.join(self.dir, f"{name}.key")

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


PKI = None
OTHER_PKI = None


def setUpModule():
    global PKI, OTHER_PKI
    PKI = Pki()
    PKI.localhost = PKI.issue("localhost", "DNS:localhost,IP:127.0.0.1")
    PKI.other = PKI.issue("other", "DNS:other.test")
    OTHER_PKI = Pki("Unrelated CA")
    OTHER_PKI.localhost = OTHER_PKI.issue("localhost", "DNS:localhost,IP:127.0.0.1")


def tearDownModule():
    for pki in (PKI, OTHER_PKI):
        if pki is not None:
            pki.close()


def tls_handler(conn, server):
    """http_upstream's handler behind a TLS server handshake. A failed handshake is recorded,
    and so is every byte the client sends after it (there must be none)."""
    raw = conn
    try:
        conn = server.ssl_context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as error:
        after = 0
        with contextlib.suppress(OSError):
            raw.settimeout(2.0)
            while True:
                data = raw.recv(65536)
                if not data:
                    break
                after += len(data)
        with server.lock:
            server.handshake_failures.append(repr(error))
            server.bytes_after_failure += after
        return
    with server.lock:
        server.tls_connections += 1
    try:
        http_handler(conn, server)
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def start_https_upstream(testcase, cert, host="127.0.0.1"):
    """http_upstream behind TLS with `cert` (cert path, key path) on `host`, recording the
    SNI of each handshake and the failed ones."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    server = start_http_upstream(testcase, tls_handler, host=host)
    server.ssl_context = context
    server.sni = []
    server.tls_connections = 0
    server.handshake_failures = []
    server.bytes_after_failure = 0
    context.sni_callback = lambda sslobj, name, ctx: server.sni.append(name)
    return server


class HttpsCase(ProxyTestCase):
    def start_https_upstream(self, cert):
        return start_https_upstream(self, cert)

    def config(self, upstream, endpoint_host="localhost", tls_block=None, cluster_extra=(),
               route="cluster: secure"):
        """One route (to cluster "secure" = https://HOST:upstream unless `route` says else)."""
        lines = [f'admin: {{ address: "127.0.0.1:{self.admin}" }}', "workers: 2",
                 "shutdown_timeout: 2s", "clusters:", "  - name: secure",
                 f'    endpoints: ["https://{endpoint_host}:{upstream.port}"]',
                 "    connect_timeout: 2s", *cluster_extra]
        if tls_block is not None:
            lines.append(f"    tls: {tls_block}")
        lines += ["listeners:", "  - name: web", f'    address: "127.0.0.1:{self.port}"',
                  "    filters:", "      - name: http_connection_manager", "        config:",
                  "          http_filters:", "            - name: stats",
                  "            - name: path_prefix_router",
                  f"              config: {{ routes: [{{ prefix: /, {route} }}] }}",
                  "            - name: router"]
        return "\n".join(lines) + "\n"

    def start(self, upstream, env=None, **config):
        """A proxy of config(upstream, **config)."""
        self.admin, self.port = free_port(), free_port()
        self.proxy = self.start_proxy(self.config(upstream, **config), admin_port=self.admin,
                                      env=env if env is not None else self.clean_env())
        return self.proxy

    def reload(self, text):
        with open(self.proxy.config_path, "w") as f:
            f.write(text)
        conn = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=10)
        try:
            conn.request("POST", "/reload")
            response = conn.getresponse()
            return response.status, json.loads(response.read().decode())
        finally:
            conn.close()

    @staticmethod
    def clean_env(**overrides):
        # The upstream CA must come from the config or from what the test sets, never from
        # the machine's own SSL_CERT_FILE.
        return proxy_env(**{"SSL_CERT_FILE": None, "SSL_CERT_DIR": None, **overrides})

    def conn(self, timeout=30.0):
        s = self.client(self.port, timeout=timeout)
        return s, Reader(s)

    def request(self, target="/", sock=None, method="GET", body=None, host="h.test"):
        s, r = sock if sock is not None else self.conn()
        return send_request(s, r, target, method=method, host=host, body=body)


class TrustedTest(HttpsCase):
    def test_cluster_ca_file_200_keepalive_and_sni(self):
        up = self.start_https_upstream(PKI.localhost)
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        c = self.conn()
        for i in range(5):
            body = b"payload-%d" % i
            resp = self.request(f"/r{i}?q=1", sock=c, method="POST", body=body)
            self.assertEqual(resp.status, 200, resp.body[:300])
            got = resp.json()
            self.assertEqual(got["target"], f"/r{i}?q=1")
            self.assertEqual((got["body_len"], got["body_sha"]),
                             (len(body), hashlib.sha256(body).hexdigest()))
        # Host is the target's authority; the client spoke plain HTTP to the proxy.
        self.assertEqual(header_values(got, "host"), [f"localhost:{up.port}"])
        self.assertEqual(header_values(got, "x-forwarded-proto"), ["http"])
        # Keep-alive over TLS: five requests, one upstream TLS connection.
        self.assertEqual(up.tls_connections, 1)
        self.assertEqual(up.accepted, 1)
        # The endpoint's host name went out as SNI.
        self.assertEqual(up.sni, ["localhost"])
        self.assertEqual(up.handshake_failures, [])

    def test_ssl_cert_file_env_is_the_system_store(self):
        up = self.start_https_upstream(PKI.localhost)
        self.start(up, env=self.clean_env(SSL_CERT_FILE=PKI.ca))
        resp = self.request("/env")
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(resp.json()["target"], "/env")

    def test_inline_https_target_uses_the_default_tls_context(self):
        up = self.start_https_upstream(PKI.localhost)
        # The defaults: the system store (here SSL_CERT_FILE) and the target's host as SNI.
        self.start(up, env=self.clean_env(SSL_CERT_FILE=PKI.ca),
                   route=f'target: "https://localhost:{up.port}"')
        resp = self.request("/inline")
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(resp.json()["target"], "/inline")
        self.assertEqual(up.sni, ["localhost"])

    def test_reload_changing_tls_replaces_the_cluster(self):
        up = self.start_https_upstream(OTHER_PKI.localhost)
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        self.assertEqual(self.request("/before").status, 502)
        # Only the tls block changes: the cluster is rebuilt with a context that trusts it.
        status, answer = self.reload(self.config(up, tls_block=f'{{ ca_file: "{OTHER_PKI.ca}" }}'))
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["clusters"]["changed"], ["secure"], answer)
        resp = self.request("/after")
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(resp.json()["target"], "/after")

    def test_configured_sni_is_sent_and_verified(self):
        up = self.start_https_upstream(PKI.other)  # valid for other.test only
        self.start(up, endpoint_host="127.0.0.1",
                   tls_block=f'{{ ca_file: "{PKI.ca}", sni: other.test }}')
        resp = self.request("/sni")
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(up.sni, ["other.test"])
        # The name the certificate was checked for is the upstream Host too.
        self.assertEqual(header_values(resp.json(), "host"), [f"other.test:{up.port}"])

    def test_configured_sni_leaves_a_preserved_host_alone(self):
        up = self.start_https_upstream(PKI.other)
        self.start(up, endpoint_host="127.0.0.1",
                   tls_block=f'{{ ca_file: "{PKI.ca}", sni: other.test }}',
                   route="cluster: secure, preserve_host: true")
        resp = self.request("/kept", host="client.example")
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(header_values(resp.json(), "host"), ["client.example"])

    def test_ip_endpoint_verified_against_ip_san_without_sni(self):
        up = self.start_https_upstream(PKI.localhost)
        self.start(up, endpoint_host="127.0.0.1", tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        resp = self.request("/ip")
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(up.sni, [None])  # an address is never sent as SNI


class UntrustedTest(HttpsCase):
    def assert_never_sent(self, up):
        deadline = time.monotonic() + 5
        while not up.handshake_failures and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(up.handshake_failures, "the upstream saw no failed handshake")
        time.sleep(0.3)  # bytes_after_failure is read until the proxy closes
        with up.lock:
            self.assertEqual(up.results, [])
            self.assertEqual(up.tls_connections, 0)
            self.assertEqual(up.bytes_after_failure, 0)

    def test_unknown_ca_502_and_request_never_sent(self):
        up = self.start_https_upstream(OTHER_PKI.localhost)
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        resp = self.request("/secret", method="POST", body=b"do not leak")
        self.assertEqual(resp.status, 502)
        self.assertIn(b"TLS", resp.body)
        self.assert_never_sent(up)
        # The failure cause metrics and logs share.
        self.wait_metric(self.admin, lambda m: m.value("proxy_http_request_failures_total",
                                                       cause="upstream_tls_error") == 1,
                         what='proxy_http_request_failures_total{cause="upstream_tls_error"} == 1')

    def test_failed_handshakes_eject_the_endpoint(self):
        up = self.start_https_upstream(OTHER_PKI.localhost)
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}',
                   cluster_extra=["    passive_health: { consecutive_failures: 2, "
                                  "ejection_time: 60s }"])
        # Passive health counts a failed TLS handshake as a failed connect.
        self.assertEqual(self.request("/1").status, 502)
        self.assertEqual(self.request("/2").status, 502)
        resp = self.request("/3")
        self.assertEqual(resp.status, 503, resp.body)
        self.assertEqual(resp.body, b"no healthy upstream\n")
        self.wait_metric(self.admin, lambda m: m.value("proxy_upstream_endpoint_ejections_total",
                                                       cluster="secure") == 1,
                         what='proxy_upstream_endpoint_ejections_total{cluster="secure"} == 1')

    def test_no_ca_at_all_502(self):
        up = self.start_https_upstream(PKI.localhost)
        self.start(up, env=self.clean_env(SSL_CERT_FILE="/nonexistent/ca.pem",
                                          SSL_CERT_DIR="/nonexistent"))
        resp = self.request("/x")
        self.assertEqual(resp.status, 502)
        self.assert_never_sent(up)

    def test_host_name_mismatch_502(self):
        up = self.start_https_upstream(PKI.other)  # other.test, asked for localhost
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        resp = self.request("/x")
        self.assertEqual(resp.status, 502)
        self.assert_never_sent(up)
        self.assertEqual(up.sni, ["localhost"])

    def test_verify_false_accepts_it(self):
        up = self.start_https_upstream(OTHER_PKI.localhost)
        self.start(up, tls_block="{ verify: false }")
        self.assertEqual(self.request("/x").status, 200)

    def test_verify_false_is_never_silent(self):
        up = self.start_https_upstream(OTHER_PKI.localhost)
        proxy = self.start(up, tls_block="{ verify: false }")
        proxy.wait_log(r"clusters\[0\]\.tls\.verify: false: cluster \"secure\" does not verify")
        conn = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=10)
        try:
            conn.request("GET", "/config_dump")
            dump = json.loads(conn.getresponse().read().decode())
        finally:
            conn.close()
        self.assertEqual(len(dump["warnings"]), 1, dump["warnings"])
        self.assertIn("tls.verify: false", dump["warnings"][0])

    def test_failure_reason_is_logged(self):
        up = self.start_https_upstream(OTHER_PKI.localhost)
        proxy = self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        self.assertEqual(self.request("/x").status, 502)
        proxy.wait_log(r"upstream_tls_error: listener web cluster secure endpoint "
                       rf"127\.0\.0\.1:{up.port}: certificate verify failed: ")

    def test_plain_http_upstream_behind_https_url_502(self):
        def plain_http_server(conn, server):
            # As nginx does with bytes that are not HTTP: 400, then close.
            data = conn.recv(65536)
            with server.lock:
                server.results.append(data)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        plain = self.start_server(plain_http_server)
        self.start(plain, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        resp = self.request("/x")
        self.assertEqual(resp.status, 502)
        self.assertIn(b"TLS", resp.body)
        self.assertEqual(len(plain.results), 1)
        self.assertEqual(plain.results[0][:1], b"\x16")  # a TLS handshake record, no request


class TruncationTest(HttpsCase):
    """A response without a length is read until the close; only close_notify ends it. A
    bare FIN (no close_notify) may be anyone on the path cutting it: the client must not get
    it as a complete response."""

    def start_close_delimited_upstream(self, clean):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*PKI.localhost)

        def handler(conn, server):
            tls = context.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                data = tls.recv(65536)
                if not data:
                    return
                head += data
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 5000)
            if clean:
                tls.unwrap()  # close_notify, then the FIN at close
            else:
                tls.shutdown(socket.SHUT_WR)  # a bare FIN: no close_notify
                with contextlib.suppress(OSError):
                    tls.recv(1)

        return self.start_server(handler)

    def fetch(self):
        s, _ = self.conn(timeout=10)
        s.sendall(b"GET /stream HTTP/1.1\r\nHost: h.test\r\n\r\n")
        data = b""
        with contextlib.suppress(OSError):
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"\r\n0\r\n\r\n"):
                    break
        return data

    def test_close_notify_completes_the_response(self):
        up = self.start_close_delimited_upstream(clean=True)
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        data = self.fetch()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200])
        self.assertTrue(data.endswith(b"\r\n0\r\n\r\n"), data[-200:])

    def test_bare_fin_is_a_truncation(self):
        up = self.start_close_delimited_upstream(clean=False)
        self.start(up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')
        data = self.fetch()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200])
        self.assertFalse(data.endswith(b"\r\n0\r\n\r\n"),
                         "a truncated response was ended as complete")
        self.wait_metric(self.admin, lambda m: m.value("proxy_http_request_failures_total",
                                                       listener="web", cause="upstream_reset") == 1,
                         what='proxy_http_request_failures_total{cause="upstream_reset"} == 1')


class LargeBodiesTest(HttpsCase):
    SIZE = 20 * MiB

    def setUp(self):
        super().setUp()
        self.up = self.start_https_upstream(PKI.localhost)
        self.start(self.up, tls_block=f'{{ ca_file: "{PKI.ca}" }}')

    def sample_rss(self):
        rss0 = self.proxy.rss_kib()
        peak = [rss0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], self.proxy.rss_kib())
                except (OSError, RuntimeError):
                    return
                time.sleep(0.01)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 2)
        self.addCleanup(done.set)
        return rss0, peak, done

    def test_20mib_upload_byte_exact_rss_bounded(self):
        block = pattern_block()
        s, r = self.conn(timeout=60)
        rss0, peak, done = self.sample_rss()
        s.sendall(b"POST /up HTTP/1.1\r\nHost: h.test\r\nContent-Length: %d\r\n\r\n" % self.SIZE)
        digest = hashlib.sha256()
        view = memoryview(block)
        sent = 0
        while sent < self.SIZE:
            off = sent % len(block)
            k = min(len(block) - off, self.SIZE - sent, 1 * MiB)
            s.sendall(view[off:off + k])
            digest.update(view[off:off + k])
            sent += k
        resp = read_response(r)
        done.set()
        self.assertEqual(resp.status, 200, resp.body[:300])
        got = resp.json()
        self.assertEqual((got["body_len"], got["body_sha"]), (self.SIZE, digest.hexdigest()))
        note(f"TLS upload RSS growth {(peak[0] - rss0) / 1024:.1f} MiB")
        self.assertLessEqual(peak[0] - rss0, 16 * 1024)

    def test_20mib_download_byte_exact_rss_bounded(self):
        s, r = self.conn(timeout=60)
        rss0, peak, done = self.sample_rss()
        s.sendall(b"GET /__big/%d HTTP/1.1\r\nHost: h.test\r\n\r\n" % self.SIZE)
        digest = hashlib.sha256()
        line, headers = read_head(r)
        self.assertIn(" 200 ", line)
        self.assertEqual([str(self.SIZE)],
                         [v for k, v in headers if k.lower() == "content-length"])
        r.exact(self.SIZE, digest.update)
        done.set()
        self.assertEqual(digest.hexdigest(), big_body_sha256(self.SIZE))
        note(f"TLS download RSS growth {(peak[0] - rss0) / 1024:.1f} MiB")
        self.assertLessEqual(peak[0] - rss0, 16 * 1024)


class ConfigTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory(prefix="proxy-tls-config-")
        self.addCleanup(self.dir.cleanup)

    def validate(self, tls_block, endpoint="https://localhost:1"):
        path = os.path.join(self.dir.name, "config.yml")
        with open(path, "w") as f:
            f.write("clusters:\n"
                    "  - name: secure\n"
                    f'    endpoints: ["{endpoint}"]\n'
                    f"    tls: {tls_block}\n"
                    "listeners: []\n")
        return path, run_proxy_once(["-c", path, "--validate"], env=proxy_env(), timeout=10)

    def test_missing_ca_file_is_a_one_line_error_at_its_position(self):
        path, result = self.validate("{ ca_file: missing-ca.pem }")
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith(f"{path}:4:21: clusters[0].tls.ca_file: "), lines[0])
        self.assertIn(os.path.join(self.dir.name, "missing-ca.pem"), lines[0])

    def test_ca_file_without_certificates_is_a_one_line_error(self):
        with open(os.path.join(self.dir.name, "junk.pem"), "w") as f:
            f.write("this is not PEM\n")
        path, result = self.validate("{ ca_file: junk.pem }")
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith(f"{path}:4:21: clusters[0].tls.ca_file: expected a "
                                            "PEM file of CA certificates"), lines[0])

    def test_good_ca_file_validates(self):
        path, result = self.validate(f'{{ ca_file: "{PKI.ca}", sni: api.test, verify: true }}')
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
