"""The plugin SDK: `cmake --install` of the build tree into a temporary prefix, then the
out-of-tree plugin of test/plugin_sdk/ configured with find_package(proxy) and built with
proxy_add_plugin() against that prefix only, loaded by the installed proxy, with a request
through its filter. Every step is bounded by a timeout; the prefix is removed afterwards.

  PROXY_BUILD_DIR  the configured build tree to install (default: $PROXY_SOURCE_DIR/build)
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import proxy_harness
from http_upstream import start_http_upstream
from proxy_harness import SOURCE_DIR, ProxyTestCase, free_port, http_get

BUILD_DIR = os.environ.get("PROXY_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")


def cache_value(name):
    """A variable of the build tree's CMakeCache.txt, or None."""
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(rf"{name}:[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                return m.group(1)
    return None


class PluginSdkTest(ProxyTestCase):
    def run_step(self, args, timeout):
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail(f"{args} did not finish within {timeout}s")
        self.assertEqual(result.returncode, 0,
                         f"{args} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    def test_out_of_tree_plugin_builds_against_the_installed_sdk_and_loads(self):
        self.assertTrue(os.path.isfile(os.path.join(BUILD_DIR, "CMakeCache.txt")),
                        f"no configured build tree at {BUILD_DIR} (set PROXY_BUILD_DIR)")
        work = tempfile.mkdtemp(prefix="proxy-sdk-")
        self.addCleanup(shutil.rmtree, work, True)
        prefix = os.path.join(work, "prefix")

        self.run_step(["cmake", "--install", BUILD_DIR, "--prefix", prefix], timeout=120)
        installed_proxy = os.path.join(prefix, "bin", "proxy")
        for path in (installed_proxy,
                     os.path.join(prefix, "include", "proxy", "api", "registry", "plugin.h"),
                     os.path.join(prefix, "include", "proxy", "proxy_api_hash.h")):
            self.assertTrue(os.path.isfile(path), f"{path} not installed")
        configs = glob.glob(os.path.join(prefix, "lib*", "**", "proxyConfig.cmake"),
                            recursive=True)
        self.assertEqual(len(configs), 1, configs)
        for name in ("proxyConfigVersion.cmake", "ProxyPlugin.cmake"):
            self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(configs[0]), name)))

        # The SDK needs nothing from the source or build tree: a copy of the project
        # elsewhere, configured with the proxy's compiler (the ABI string includes it).
        project = os.path.join(work, "project")
        shutil.copytree(os.path.join(SOURCE_DIR, "test", "plugin_sdk"), project)
        build = os.path.join(work, "build")
        args = ["cmake", "-S", project, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
                "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
        compiler = cache_value("CMAKE_CXX_COMPILER")
        if compiler:
            args.append(f"-DCMAKE_CXX_COMPILER={compiler}")
        if shutil.which("ninja"):
            args += ["-G", "Ninja"]
        output = self.run_step(args, timeout=120)
        self.assertNotIn("ABI mismatch", output)
        self.run_step(["cmake", "--build", build], timeout=300)
        plugin = os.path.join(build, "sdk_example.so")
        self.assertTrue(os.path.isfile(plugin), os.listdir(build))

        upstream = start_http_upstream(self)
        admin, web = free_port(), free_port()
        config = "\n".join([
            f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 1",
            "shutdown_timeout: 1s", "plugins:", f'  - "{plugin}"',
            "clusters:", f'  - {{ name: up, endpoints: ["127.0.0.1:{upstream.port}"] }}',
            "listeners:", "  - name: web", f'    address: "127.0.0.1:{web}"', "    filters:",
            "      - name: http_connection_manager", "        config:",
            "          http_filters:",
            "            - { name: sdk_example, config: { value: from-sdk } }",
            "            - name: path_prefix_router",
            "              config: { routes: [{ prefix: /, cluster: up }] }",
            "            - name: router"]) + "\n"
        # The installed binary, not the build tree's.
        original = proxy_harness.PROXY_BIN
        proxy_harness.PROXY_BIN = installed_proxy
        try:
            self.start_proxy(config, admin_port=admin)
        finally:
            proxy_harness.PROXY_BIN = original

        status, _ = http_get(web, "/sdk")
        self.assertEqual(status, 200)
        seen = [r for r in upstream.results if r["target"] == "/sdk"]
        self.assertEqual(len(seen), 1)
        headers = {k.lower(): v for k, v in seen[0]["headers"]}
        self.assertEqual(headers.get("x-sdk-example"), "from-sdk")


if __name__ == "__main__":
    unittest.main()
