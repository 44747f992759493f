"""docker-compose.yml, the Dockerfile and config/config-docker.yml, without a Docker engine.

Debian's docker-compose validates the compose file (`docker-compose config` needs no daemon)
and prints it normalized; the tests then check the wiring between the three services, the
proxy's config and Prometheus's config. The Dockerfile is parsed: its build stages may run
only what CI runs (tools/setup, tools/build) and its runtime stage must install the package
of every shared library the built binary links. PyYAML comes with docker-compose.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

from proxy_harness import PROXY_BIN, SOURCE_DIR, check_binary, proxy_env, run_proxy_once

COMPOSE_FILE = os.path.join(SOURCE_DIR, "docker-compose.yml")
DOCKERFILE = os.path.join(SOURCE_DIR, "Dockerfile")
DOCKERIGNORE = os.path.join(SOURCE_DIR, ".dockerignore")
CONFIG_DOCKER = os.path.join(SOURCE_DIR, "config", "config-docker.yml")
PROMETHEUS_CONFIG = os.path.join(SOURCE_DIR, "config", "prometheus.yml")

SERVICES = {"reverse-proxy", "prometheus", "httpbin"}
# Packages every Debian image has (Essential: yes) and that need not be listed.
BASE_IMAGE_PACKAGES = {"libc6"}

DOCKER_COMPOSE = shutil.which("docker-compose")
try:
    import yaml
except ImportError:  # python3-yaml, a dependency of docker-compose
    yaml = None


def compose_env():
    """Our environment without the variables the compose file interpolates."""
    env = proxy_env()
    for name in list(env):
        if name.startswith("COMPOSE_") or name.startswith("DOCKER_"):
            env.pop(name)
    return env


def run_compose_config(compose_file, cwd):
    return subprocess.run([DOCKER_COMPOSE, "-f", compose_file, "config"], cwd=cwd,
                          env=compose_env(), capture_output=True, text=True, timeout=120)


def port_of(address):
    """The port of a ":P" / "HOST:P" / "[v6]:P" address."""
    return int(address.rsplit(":", 1)[1])


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


# ---------------------------------------------------------------------------------------------
# Dockerfile parsing

class Instruction:
    def __init__(self, keyword, args, line):
        self.keyword = keyword
        self.args = args
        self.line = line

    def shell_words(self):
        """RUN/ENTRYPOINT/CMD arguments as words (exec form JSON, or shell form split)."""
        if self.args.lstrip().startswith("["):
            return json.loads(self.args)
        return shlex.split(self.args)


def parse_dockerfile(path):
    """Instructions grouped by stage: [{"image", "name", "instructions"}]. Handles comments,
    backslash continuations and comment lines inside a continued instruction."""
    instructions = []
    pending = None
    pending_line = 0
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            stripped = line.strip()
            if stripped.startswith("#") or (not stripped and pending is None):
                continue
            if pending is None:
                pending, pending_line = "", number
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            pending += stripped
            keyword, _, args = pending.strip().partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip(), pending_line))
            pending = None
    if pending is not None:
        raise AssertionError(f"{path}:{pending_line}: instruction continued past the end")
    stages = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"image": words[0], "name": name, "instructions": []})
        elif instruction.keyword == "ARG" and not stages:
            continue
        else:
            if not stages:
                raise AssertionError(f"line {instruction.line}: {instruction.keyword} before FROM")
            stages[-1]["instructions"].append(instruction)
    return stages


def split_commands(words):
    """A shell-form RUN's words split at && into commands."""
    commands = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def stage_env(stage):
    env = {}
    for instruction in stage["instructions"]:
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.args):
                if "=" in word:
                    key, _, value = word.partition("=")
                    env[key] = value
    return env


def stage_workdir(stage):
    workdir = "/"
    for instruction in stage["instructions"]:
        if instruction.keyword == "WORKDIR":
            workdir = os.path.join(workdir, instruction.args.strip())
    return workdir


def linked_packages(binary):
    """Debian packages owning the shared libraries `binary` links (ldd, dpkg-query -S)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    paths = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            paths.append(m.group(2))
        else:
            m = re.match(r"\s*(/\S+) \(", line)
            if m:
                paths.append(m.group(1))
    candidates = {}
    for path in paths:
        tried = [path, os.path.realpath(path)]
        # Merged /usr: dpkg knows a file by the path its package ships it at.
        tried += [p[4:] if p.startswith("/usr/") else "/usr" + p for p in tried]
        candidates[path] = tried
    every = sorted({c for tried in candidates.values() for c in tried})
    # One call for all (it exits 1 when some path is unowned, printing the others).
    result = subprocess.run(["dpkg-query", "-S", *every], capture_output=True, text=True,
                            timeout=60)
    owner_of = {}
    for line in result.stdout.splitlines():
        packages, _, owned = line.partition(": ")
        owner_of[owned.strip()] = packages.split(",")[0].split(":")[0].strip()
    owners = {}
    for path, tried in candidates.items():
        owners[path] = next((owner_of[c] for c in tried if c in owner_of), None)
    return owners


# ---------------------------------------------------------------------------------------------

@unittest.skipUnless(DOCKER_COMPOSE, "docker-compose is not installed (tools/setup installs it)")
@unittest.skipUnless(yaml, "python3-yaml is not installed (docker-compose depends on it)")
class ComposeFileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        result = run_compose_config(COMPOSE_FILE, SOURCE_DIR)
        if result.returncode != 0:
            raise AssertionError(f"docker-compose config failed ({result.returncode}):\n"
                                 f"{result.stderr}")
        cls.compose = yaml.safe_load(result.stdout)
        cls.services = cls.compose["services"]
        cls.proxy_config = load_yaml(CONFIG_DOCKER)
        cls.admin_port = port_of(cls.proxy_config["admin"]["address"])

    def published_entries(self, service):
        """[(container port, host port, host IP or "" for every interface)] of a service."""
        entries = []
        for entry in self.services[service].get("ports", []):
            if isinstance(entry, dict):
                entries.append((int(entry["target"]), int(entry["published"]),
                                entry.get("host_ip", "")))
            else:  # "[IP:]HOST:CONTAINER[/tcp]" short form
                text = str(entry).split("/")[0]
                parts = text.split(":")
                ip = ":".join(parts[:-2]) if len(parts) > 2 else ""
                entries.append((int(parts[-1]), int(parts[-2]), ip))
        return entries

    def published(self, service):
        """{container port: host port} of a service's published TCP ports."""
        return {container: host for container, host, _ in self.published_entries(service)}

    def mounts(self, service):
        """{target: source} of a service's bind mounts."""
        mounts = {}
        for entry in self.services[service].get("volumes", []):
            if isinstance(entry, dict):
                mounts[entry["target"]] = entry["source"]
            else:
                source, target = str(entry).split(":")[:2]
                mounts[target] = source
        return mounts

    def test_services_and_images(self):
        self.assertEqual(set(self.services), SERVICES)
        self.assertTrue(self.services["prometheus"]["image"].startswith("prom/prometheus"))
        self.assertTrue(self.services["httpbin"]["image"].startswith("kennethreitz/httpbin"))
        build = self.services["reverse-proxy"]["build"]
        self.assertEqual(os.path.realpath(build["context"]), os.path.realpath(SOURCE_DIR))
        self.assertTrue(os.path.isfile(os.path.join(build["context"],
                                                    build.get("dockerfile", "Dockerfile"))))
        for name, service in self.services.items():
            self.assertEqual(set(service.get("networks", {})), {"local"}, name)
        self.assertEqual(self.compose["networks"]["local"].get("driver"), "bridge")

    def test_proxy_runs_the_mounted_config_docker(self):
        proxy = self.services["reverse-proxy"]
        runtime = parse_dockerfile(DOCKERFILE)[-1]
        config_file = proxy["environment"]["CONFIG_FILE"]
        self.assertEqual(config_file, stage_env(runtime).get("CONFIG_FILE"),
                         "the image's default CONFIG_FILE and the compose file's differ")
        in_container = os.path.join(stage_workdir(runtime), config_file)
        mounts = self.mounts("reverse-proxy")
        self.assertIn(in_container, mounts, f"{in_container} is not mounted: {mounts}")
        self.assertEqual(os.path.realpath(mounts[in_container]), os.path.realpath(CONFIG_DOCKER))
        # The admin API override keeps the config's port, on every interface.
        self.assertEqual(proxy["environment"]["INTERNAL_API_PORT"], f":{self.admin_port}")
        self.assertIn("host.docker.internal:host-gateway", proxy.get("extra_hosts", []))

    def test_proxy_ports_are_published(self):
        listener_ports = {port_of(l["address"]) for l in self.proxy_config["listeners"]}
        self.assertEqual(listener_ports, {8020, 8021})
        self.assertEqual(self.admin_port, 42007)
        self.assertEqual(self.proxy_config["admin"]["address"], ":42007",
                         "the admin API must listen on every interface to be scraped")
        published = self.published("reverse-proxy")
        for port in listener_ports | {self.admin_port}:
            self.assertEqual(published.get(port), port, f"port {port}: {published}")

    def test_admin_port_is_published_on_loopback_only(self):
        """The admin API reloads and dumps the config: from the host, loopback only. The
        traffic ports stay on every interface."""
        ips = {container: ip for container, _, ip in self.published_entries("reverse-proxy")}
        self.assertEqual(ips[self.admin_port], "127.0.0.1", ips)
        for port in (8020, 8021):
            self.assertEqual(ips[port], "", ips)

    def test_config_docker_allows_the_service_name_and_prometheus_needs_nothing_more(self):
        """Prometheus scrapes with Host "reverse-proxy:42007": /metrics answers any Host, and
        the name is in allowed_hosts for the config endpoints too; no token is configured, so
        the scrape needs no credentials."""
        admin = self.proxy_config["admin"]
        self.assertIn("reverse-proxy", admin.get("allowed_hosts", []))
        self.assertNotIn("token_file", admin)
        self.assertNotIn("read_only_address", admin)
        self.assertEqual(self.published("prometheus"), {9090: 9090})
        self.assertEqual(self.published("httpbin"), {80: 80})

    def test_prometheus_scrapes_the_admin_api(self):
        mounts = self.mounts("prometheus")
        self.assertEqual(os.path.realpath(mounts.get("/etc/prometheus/prometheus.yml", "")),
                         os.path.realpath(PROMETHEUS_CONFIG))
        prometheus = load_yaml(PROMETHEUS_CONFIG)
        targets = []
        for job in prometheus["scrape_configs"]:
            self.assertIn(job.get("metrics_path", "/metrics"), ("/metrics",))
            self.assertIn(job.get("scheme", "http"), ("http",))
            for static in job.get("static_configs", []):
                targets += static["targets"]
        self.assertEqual(targets, [f"reverse-proxy:{self.admin_port}"])

    def test_prometheus_config_passes_promtool(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is not installed (Debian's prometheus package has it)")
        result = subprocess.run([promtool, "check", "config", PROMETHEUS_CONFIG],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_cluster_hosts_resolve_inside_the_compose_network(self):
        """Every endpoint host is a service, an extra_hosts name or a public DNS name, and the
        httpbin endpoint's port is the one httpbin listens on."""
        extra = {e.split(":")[0] for e in self.services["reverse-proxy"].get("extra_hosts", [])}
        seen = set()
        for cluster in self.proxy_config["clusters"]:
            for endpoint in cluster["endpoints"]:
                authority = re.sub(r"^https?://", "", endpoint)
                host, _, port = authority.partition(":")
                seen.add(host)
                if host in SERVICES:
                    self.assertIn(int(port), self.published(host), endpoint)
                else:
                    self.assertTrue(host in extra or "." in host, f"{endpoint}: {host} "
                                    "is neither a service, an extra host nor a DNS name")
        self.assertIn("httpbin", seen)

    def test_a_broken_compose_file_is_rejected(self):
        """The validation is real: a misspelt service key fails `docker-compose config`."""
        with open(COMPOSE_FILE) as f:
            text = f.read()
        broken = text.replace("    image: prom/prometheus", "    imagee: prom/prometheus", 1)
        self.assertNotEqual(broken, text)
        with tempfile.TemporaryDirectory(prefix="compose-it-") as tmp:
            os.makedirs(os.path.join(tmp, "config"))
            for name in ("config-docker.yml", "prometheus.yml"):
                shutil.copy(os.path.join(SOURCE_DIR, "config", name), os.path.join(tmp, "config"))
            path = os.path.join(tmp, "docker-compose.yml")
            with open(path, "w") as f:
                f.write(broken)
            result = run_compose_config(path, tmp)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("imagee", result.stderr)


class ConfigDockerTest(unittest.TestCase):
    """config/config-docker.yml loads here, where httpbin and host.docker.internal do not
    resolve: an unresolvable name is not a start-up error."""

    def setUp(self):
        check_binary()

    def test_validates(self):
        result = run_proxy_once(["--validate", "-c", CONFIG_DOCKER], timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        self.assertIn("ok", result.stdout + result.stderr)

    def test_canonical_form_keeps_the_admin_port_on_every_interface(self):
        result = run_proxy_once(["--print-config", "-c", CONFIG_DOCKER], timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout,
                         r'admin: \{address: ":42007", allowed_hosts: \["reverse-proxy"\]\}')
        for endpoint in ("httpbin:80", "host.docker.internal:8081"):
            self.assertIn(endpoint, result.stdout)


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = parse_dockerfile(DOCKERFILE)

    def test_every_stage_is_debian_12(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for stage in self.stages:
            self.assertRegex(stage["image"], r"^debian:(12|bookworm)([-.][a-z0-9.-]+)?$")

    def build_runs(self):
        """The RUN commands of the build stages (all but the last), each as words."""
        runs = []
        for stage in self.stages[:-1]:
            for instruction in stage["instructions"]:
                if instruction.keyword == "RUN":
                    runs.append((instruction.line, instruction.shell_words()))
        return runs

    def test_build_stages_run_only_what_ci_runs(self):
        runs = self.build_runs()
        self.assertEqual([words[0] for _, words in runs], ["tools/setup", "tools/build"],
                         f"RUN lines: {runs}")
        for line, words in runs:
            self.assertNotIn("&&", words, f"line {line}: one command per RUN")
            if words[0] == "tools/setup":
                self.assertEqual(words, ["tools/setup"], f"line {line}")
            else:
                self.assertRegex(words[1], r"^build[\w.-]*$", f"line {line}: the build dir")
                for extra in words[2:]:
                    self.assertRegex(extra, r"^-D\w+=\S+$", f"line {line}: cmake options only")
        # tools/test, what CI runs, builds with the same two scripts.
        with open(os.path.join(SOURCE_DIR, "tools", "test")) as f:
            ci = f.read()
        self.assertIn("tools/setup", ci)
        self.assertIn("tools/build build", ci)

    def test_runtime_stage_copies_the_built_binary(self):
        build_stage = self.stages[-2]
        build_dir = [w for _, w in self.build_runs() if w[0] == "tools/build"][0][1]
        expected = os.path.join(stage_workdir(build_stage), build_dir, "proxy")
        runtime = self.stages[-1]
        copies = [i for i in runtime["instructions"]
                  if i.keyword == "COPY" and i.args.startswith("--from=")]
        self.assertEqual(len(copies), 1, [c.args for c in copies])
        words = copies[0].args.split()
        self.assertEqual(words[0], f"--from={build_stage['name']}")
        self.assertEqual(words[1], expected)
        entrypoint = [i for i in runtime["instructions"] if i.keyword == "ENTRYPOINT"]
        self.assertEqual(len(entrypoint), 1)
        self.assertEqual(entrypoint[0].shell_words()[0], words[2])

    def runtime_packages(self):
        packages = []
        for instruction in self.stages[-1]["instructions"]:
            if instruction.keyword != "RUN":
                continue
            for command in split_commands(instruction.shell_words()):
                if command[:2] == ["apt-get", "update"]:
                    continue
                if command[:2] == ["rm", "-rf"]:
                    self.assertEqual(command[2:], ["/var/lib/apt/lists/*"])
                    continue
                self.assertEqual(command[:2], ["apt-get", "install"],
                                 f"line {instruction.line}: runtime stage runs {command}")
                packages += [w for w in command[2:] if not w.startswith("-")]
        return packages

    def test_runtime_stage_installs_what_the_binary_links(self):
        check_binary()
        if not (shutil.which("ldd") and shutil.which("dpkg-query")):
            self.skipTest("ldd or dpkg-query missing")
        packages = set(self.runtime_packages())
        # TLS to https upstreams and its trust store.
        self.assertTrue({"libssl3", "ca-certificates"} <= packages, packages)
        owners = linked_packages(PROXY_BIN)
        self.assertTrue(owners, "ldd found no libraries")
        unknown = [path for path, owner in owners.items() if owner is None]
        self.assertEqual(unknown, [], "libraries no package owns")
        missing = {owner for owner in owners.values()} - packages - BASE_IMAGE_PACKAGES
        self.assertEqual(missing, set(), f"the runtime stage lacks these packages, which "
                                         f"{PROXY_BIN} links: {owners}")

    def test_runtime_packages_are_debian_12_packages(self):
        """Each is installed here (the -dev packages tools/setup installs depend on them)."""
        if not shutil.which("dpkg-query"):
            self.skipTest("dpkg-query missing")
        for package in self.runtime_packages():
            result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                    capture_output=True, text=True, timeout=30)
            self.assertIn("install ok installed", result.stdout, package)

    def test_dockerignore_keeps_build_trees_and_git_out(self):
        with open(DOCKERIGNORE) as f:
            patterns = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        self.assertIn("build*/", patterns)
        self.assertIn(".git", patterns)

    def test_parser_joins_continuations_and_skips_comments(self):
        with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile", delete=False) as f:
            f.write("# comment\nFROM debian:12 AS b\nRUN a \\\n  # inside\n  && b\n"
                    "FROM debian:12-slim\nCOPY --from=b /x /y\n")
        self.addCleanup(os.unlink, f.name)
        stages = parse_dockerfile(f.name)
        self.assertEqual([(s["image"], s["name"]) for s in stages],
                         [("debian:12", "b"), ("debian:12-slim", None)])
        run = stages[0]["instructions"][0]
        self.assertEqual((run.keyword, run.shell_words(), run.line), ("RUN", ["a", "&&", "b"], 3))


if __name__ == "__main__":
    unittest.main()
