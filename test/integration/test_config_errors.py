"""Config errors and the command line: one line `FILE:LINE:COL: FIELD: ...`, exit 1.

Each bad config is tried twice: with --validate and as a normal start (which must exit 1
without serving). Lines marked `#<` in a case are where the error may be reported.
"""

import os
import re
import socket
import tempfile
import unittest

from proxy_harness import (TESTDATA_DIR, check_binary, free_port, proxy_env, run_proxy_once)

ERROR_RE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<field>[^:]+): (?P<msg>.+)$")

CANONICAL = """\
admin: {{ address: "127.0.0.1:{A}" }}
log_level: info
workers: 2
shutdown_timeout: 2s
clusters:
  - name: echo
    endpoints: ["127.0.0.1:{U}"]
listeners:
  - name: tcp
    address: "127.0.0.1:{P}"
    filters:
      - name: stats
      - name: tcp_proxy
        config: {{ cluster: echo }}
"""

SEED_TCP = """\
tcp:
  target: "127.0.0.1:{U}"
  port: ":{P}"
log_level: "log"
"""


def insert_after(text, anchor, new_line):
    lines = text.splitlines()
    index = next(i for i, l in enumerate(lines) if anchor in l)
    lines.insert(index + 1, new_line)
    return "\n".join(lines) + "\n"


def mark(text, *needles):
    """Appends the `#<` marker to every line containing one of `needles`."""
    out = []
    for line in text.splitlines():
        if any(n in line for n in needles):
            line += "  #<"
        out.append(line)
    return "\n".join(out) + "\n"


def case_texts():
    """name → (config template, field tokens (one must appear in FIELD), words the line must
    mention)."""
    c = CANONICAL
    cases = {}
    cases["unknown_top_level_key"] = (
        insert_after(c, "workers: 2", "bogus_setting: 1  #<"), ["bogus_setting"], [])
    cases["unknown_key_in_listener"] = (
        insert_after(c, 'address: "127.0.0.1:{P}"', "    bogus_key: 3  #<"), ["bogus_key"], [])
    cases["unknown_key_in_tcp_proxy_config"] = (
        mark(c.replace("config: {{ cluster: echo }}", "config: {{ cluster: echo, bogus_opt: 1 }}"),
             "bogus_opt"), ["bogus_opt"], [])
    cases["unknown_filter_name"] = (
        mark(c.replace("- name: stats", "- name: no_such_filter"), "no_such_filter"),
        ["filters"], ["no_such_filter"])
    cases["terminal_filter_not_last"] = (
        mark(c.replace("""\
      - name: stats
      - name: tcp_proxy
        config: {{ cluster: echo }}
""", """\
      - name: tcp_proxy
        config: {{ cluster: echo }}
      - name: stats
"""), "- name: tcp_proxy", "- name: stats", "config: {{ cluster"), ["filters"], [])
    cases["overlapping_listeners"] = (
        mark(c.replace('address: "127.0.0.1:{P}"', 'address: ":{P}"') + """\
  - name: tcp2
    address: "127.0.0.1:{P}"
    filters:
      - name: stats
      - name: tcp_proxy
        config: {{ cluster: echo }}
""", 'address: ":{P}"', 'address: "127.0.0.1:{P}"', "name: tcp2"),
        ["listeners", "address"], [])
    cases["unknown_cluster"] = (
        mark(c.replace("config: {{ cluster: echo }}", "config: {{ cluster: nowhere }}"),
             "cluster: nowhere"), ["cluster"], ["nowhere"])
    cases["bad_listener_address"] = (
        mark(c.replace('address: "127.0.0.1:{P}"', 'address: "127.0.0.1:99999"'), "99999"),
        ["address"], [])
    cases["tcp_proxy_targets_own_listener"] = (
        mark(c.replace('endpoints: ["127.0.0.1:{U}"]', 'endpoints: ["127.0.0.1:{P}"]')
             .replace('address: "127.0.0.1:{P}"', 'address: ":{P}"'),
             "endpoints:", 'address: ":{P}"', "config: {{ cluster", "- name: tcp_proxy",
             "- name: echo", "- name: tcp"),
        ["cluster", "endpoint", "tcp_proxy", "address", "listeners"], [])
    cases["unknown_log_level"] = (
        mark(c.replace("log_level: info", "log_level: verbose"), "log_level"), ["log_level"], [])
    cases["bad_duration"] = (
        mark(c.replace("shutdown_timeout: 2s", "shutdown_timeout: 5 parsecs"),
             "shutdown_timeout"), ["shutdown_timeout"], [])
    cases["bad_idle_timeout"] = (
        mark(c.replace("config: {{ cluster: echo }}",
                       "config: {{ cluster: echo, idle_timeout: soon }}"), "idle_timeout"),
        ["idle_timeout"], [])
    # Seed form.
    s = SEED_TCP
    cases["seed_unknown_key"] = (
        mark(s.replace('  target: "127.0.0.1:{U}"', '  targt: "127.0.0.1:{U}"'), "targt"),
        ["targt"], [])
    cases["seed_tcp_port_equals_http_port"] = (
        mark(s + 'http_config:\n  port: ":{P}"\n  shutdown_timeout: "5s"\n', 'port: ":{P}"'),
        ["port"], [])
    cases["seed_tcp_targets_own_listener"] = (
        mark(s.replace('target: "127.0.0.1:{U}"', 'target: "127.0.0.1:{P}"'), "target:",
             "port:", "tcp:"), ["target", "tcp", "port", "cluster", "endpoint"], [])
    cases["seed_tcp_targets_own_listener_localhost"] = (
        mark(s.replace('target: "127.0.0.1:{U}"', 'target: "localhost:{P}"'), "target:",
             "port:", "tcp:"), ["target", "tcp", "port", "cluster", "endpoint"], [])
    routes = """\
http_routes:
  - target: "{T}"
    host: "localhost"
    path_prefix: "{X}"
http_config:
  port: ":{H}"
  shutdown_timeout: "5s"
"""
    cases["seed_path_prefix_without_slash"] = (
        mark(s + routes.replace("{X}", "users").replace("{T}", "http://127.0.0.1:{U}"),
             "path_prefix"), ["path_prefix"], [])
    cases["seed_target_scheme_ftp"] = (
        mark(s + routes.replace("{X}", "/files").replace("{T}", "ftp://127.0.0.1:{U}"),
             "target: \"ftp"), ["target"], [])
    cases["seed_unknown_log_level"] = (
        mark(s.replace('log_level: "log"', 'log_level: "trace"'), "log_level"), ["log_level"], [])
    cases["seed_bad_shutdown_timeout"] = (
        mark(s + 'http_config:\n  port: ":{H}"\n  shutdown_timeout: "fast"\n',
             "shutdown_timeout"), ["shutdown_timeout"], [])
    return cases


class ConfigErrorTest(unittest.TestCase):
    def setUp(self):
        check_binary()
        self.dir = tempfile.TemporaryDirectory(prefix="proxy-it-config-")
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_one_line_error(self, result, path, allowed_lines=None, field_tokens=(),
                              mentions=(), allow_warnings=False, what=""):
        context = f"{what}\nexit code {result.returncode}\nstderr:\n{result.stderr}\n" \
                  f"stdout:\n{result.stdout}"
        self.assertIsNotNone(result.returncode, "the proxy did not exit (killed)" + context)
        self.assertEqual(result.returncode, 1, context)
        lines = result.stderr.splitlines()
        if allow_warnings:
            lines = [l for l in lines if not l.startswith("warning:")]
        self.assertEqual(len(lines), 1, "expected exactly one line on stderr" + context)
        m = ERROR_RE.match(lines[0])
        self.assertIsNotNone(m, "not FILE:LINE:COL: FIELD: MESSAGE" + context)
        self.assertEqual(m.group("file"), path, context)
        self.assertGreaterEqual(int(m.group("col")), 1, context)
        if allowed_lines is not None:
            self.assertIn(int(m.group("line")), allowed_lines,
                          f"reported line {m.group('line')}, expected one of "
                          f"{sorted(allowed_lines)}" + context)
        if field_tokens:
            field = m.group("field").lower()
            self.assertTrue(any(t.lower() in field for t in field_tokens),
                            f"FIELD {m.group('field')!r} names none of {field_tokens}" + context)
        for word in mentions:
            self.assertIn(word, lines[0], context)
        return m

    def test_bad_configs(self):
        ports = {"A": free_port(), "U": free_port(), "P": free_port(wildcard=True),
                 "H": free_port(wildcard=True)}
        for name, (template, tokens, mentions) in case_texts().items():
            text = template
            for key, value in ports.items():
                text = text.replace("{" + key + "}", str(value))
            text = text.replace("{{", "{").replace("}}", "}")
            marked = {i + 1 for i, l in enumerate(text.splitlines()) if l.endswith("#<")}
            self.assertTrue(marked, f"case {name} has no marked line")
            path = self.write(f"{name}.yml", text)
            for mode in ("--validate", "start"):
                with self.subTest(case=name, mode=mode):
                    args = ["-c", path] + (["--validate"] if mode == "--validate" else [])
                    env = proxy_env(INTERNAL_API_PORT=f"127.0.0.1:{ports['A']}")
                    result = run_proxy_once(args, env=env, timeout=10)
                    self.assert_one_line_error(result, path, marked, tokens, mentions,
                                               allow_warnings=(mode == "--validate"),
                                               what=f"case {name} ({mode}):\n{text}")

    def test_missing_file(self):
        path = os.path.join(self.dir.name, "does-not-exist.yml")
        for args in (["-c", path], ["-c", path, "--validate"]):
            with self.subTest(args=args):
                result = run_proxy_once(args, timeout=10)
                self.assertEqual(result.returncode, 1, result.stderr)
                lines = result.stderr.splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                self.assertTrue(lines[0].startswith(path + ":"), result.stderr)

    def test_missing_file_from_config_file_env(self):
        path = os.path.join(self.dir.name, "nope.yml")
        result = run_proxy_once(["--validate"], env=proxy_env(CONFIG_FILE=path), timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertTrue(result.stderr.startswith(path + ":"), result.stderr)

    def test_yaml_syntax_error(self):
        text = ('admin: { address: "127.0.0.1:1" }\n'
                "log_level: info\n"
                "listeners:\n"
                "  - name: tcp\n"
                "    address: [unclosed\n"
                "    filters: x\n")
        path = self.write("syntax.yml", text)
        for args in (["-c", path, "--validate"], ["-c", path]):
            with self.subTest(args=args):
                result = run_proxy_once(args, timeout=10)
                self.assertEqual(result.returncode, 1, result.stderr)
                lines = result.stderr.splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                m = re.match(r"^(.+?):(\d+):(\d+): ", lines[0])
                self.assertIsNotNone(m, result.stderr)
                self.assertEqual(m.group(1), path)
                self.assertTrue(1 <= int(m.group(2)) <= len(text.splitlines()) + 1,
                                result.stderr)

    def test_listener_address_in_use(self):
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        text = CANONICAL.format(A=free_port(), U=free_port(), P=port)
        path = self.write("in-use.yml", text)
        result = run_proxy_once(["-c", path, "--workers", "2"], timeout=10)
        self.assertEqual(result.returncode, 1, f"stderr:\n{result.stderr}")
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        self.assertTrue(lines, "nothing on stderr")
        self.assertIn(str(port), lines[-1], f"the message does not name the address:\n"
                                            f"{result.stderr}")
        self.assertTrue(lines[-1].startswith(path + ":"), result.stderr)

    def test_admin_address_in_use(self):
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        admin = blocker.getsockname()[1]
        text = CANONICAL.format(A=admin, U=free_port(), P=free_port())
        path = self.write("admin-in-use.yml", text)
        result = run_proxy_once(["-c", path, "--workers", "2"], timeout=10)
        self.assertEqual(result.returncode, 1, f"stderr:\n{result.stderr}")
        self.assertIn(str(admin), result.stderr)


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        check_binary()
        self.dir = tempfile.TemporaryDirectory(prefix="proxy-it-cli-")
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def validate_ok(self, path, env=None, args=None):
        result = run_proxy_once(args if args is not None else ["-c", path, "--validate"],
                                env=env, timeout=10)
        self.assertEqual(result.returncode, 0, f"stderr:\n{result.stderr}")
        self.assertEqual(result.stdout, f"{path}: ok\n")
        for line in result.stderr.splitlines():
            self.assertTrue(line.startswith("warning:"), f"unexpected stderr line {line!r}")
        return result

    def test_seed_fixtures_validate(self):
        for name in ("example-config.yml", "config-docker.yml"):
            with self.subTest(fixture=name):
                path = os.path.join(TESTDATA_DIR, name)
                self.assertTrue(os.path.isfile(path), f"missing fixture {path}")
                self.validate_ok(path)

    def test_config_file_env_and_c_flag_precedence(self):
        good = os.path.join(TESTDATA_DIR, "example-config.yml")
        self.validate_ok(good, env=proxy_env(CONFIG_FILE=good), args=["--validate"])
        missing = os.path.join(self.dir.name, "missing.yml")
        # -c wins over CONFIG_FILE.
        self.validate_ok(good, env=proxy_env(CONFIG_FILE=missing), args=["-c", good, "--validate"])

    def test_not_a_regular_file_or_too_large_is_one_line(self):
        fifo = os.path.join(self.dir.name, "fifo.yml")
        os.mkfifo(fifo)
        big = self.write("big.yml", "")
        os.truncate(big, 16 * 1024 * 1024 + 1)
        cases = [("/dev/zero", "/dev/zero: not a regular file (a device)"),
                 (fifo, f"{fifo}: not a regular file (a FIFO)"),
                 (self.dir.name, f"{self.dir.name}: not a regular file (a directory)"),
                 (big, f"{big}: file too large: 16777217 bytes, at most 16777216")]
        for path, message in cases:
            for mode in (["--validate"], []):
                with self.subTest(path=path, mode=mode):
                    # Bounded: /dev/zero read to its end, or a FIFO open, would never return.
                    result = run_proxy_once(["-c", path, *mode], timeout=10)
                    self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
                    lines = result.stderr.splitlines()
                    self.assertEqual(len(lines), 1, result.stderr)
                    self.assertTrue(lines[0].startswith(message), result.stderr)

    def test_canonical_config_validates(self):
        path = self.write("ok.yml", CANONICAL.format(A=1, U=2, P=3))
        self.validate_ok(path)

    def print_config(self, path):
        result = run_proxy_once(["-c", path, "--print-config"], timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.strip(), "empty --print-config output")
        return result.stdout

    def check_printed(self, source_path, expect_in):
        printed = self.print_config(source_path)
        for text in expect_in:
            self.assertIn(text, printed)
        for key in ("listeners:", "clusters:", "admin:"):
            self.assertRegex(printed, r"(?m)^" + key, f"--print-config output:\n{printed}")
        copy = self.write("printed-" + os.path.basename(source_path), printed)
        self.validate_ok(copy)
        again = self.print_config(copy)
        self.assertEqual(again, printed, "--print-config is not a fixed point")

    def test_print_config_canonical_revalidates(self):
        path = self.write("canonical.yml", CANONICAL.format(A=4100, U=4101, P=4102))
        self.check_printed(path, ["127.0.0.1:4100", "127.0.0.1:4101", "127.0.0.1:4102",
                                  "tcp_proxy", "stats"])

    def test_print_config_seed_revalidates(self):
        for name in ("example-config.yml", "config-docker.yml"):
            with self.subTest(fixture=name):
                self.check_printed(os.path.join(TESTDATA_DIR, name),
                                   [":8020", "localhost:8080", "tcp_proxy", "42007"])

    def test_help_and_version(self):
        result = run_proxy_once(["--help"], timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("validate", result.stdout)
        self.assertIn("config", result.stdout)
        result = run_proxy_once(["--version"], timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^proxy \S+")

    def test_bad_command_line_values(self):
        for args in (["--workers", "abc"], ["--workers", "0"], ["--log-level", "verbose"]):
            with self.subTest(args=args):
                path = self.write("ok.yml", CANONICAL.format(A=1, U=2, P=3))
                result = run_proxy_once(["-c", path, "--validate", *args], timeout=10)
                self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertIn(args[0], result.stderr)


if __name__ == "__main__":
    unittest.main()
