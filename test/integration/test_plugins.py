"""Filter plugins (`plugins:`): shared libraries built against api/ and loaded at start or at
reload (docs/architecture.md). The test plugins are built by test/plugins_testdata/:

  test_plugin             HTTP filter test_plugin_header (sets a request header, answers 403
                          under config.deny_prefix) and network filter test_plugin_pass
  test_plugin_mismatched  the same source built for another ABI string
  test_plugin_no_entry    a library without PROXY_PLUGIN
  test_plugin_no_manifest the ABI symbol but no manifest
  test_plugin_duplicate   registers an HTTP filter named "router" (built in)
  test_plugin_twice       registers one name twice
  test_plugin_throwing    registerFilters() throws (after registering test_throwing)
  test_plugin_static      registers test_static from a static object (bypassing the check)
  test_plugin_undefined_symbol  needs a symbol nobody defines
"""

import json
import os
import shutil
import tempfile
import unittest

from http_upstream import start_http_upstream
from proxy_harness import (SOURCE_DIR, ProxyTestCase, free_port, http_get, proxy_env,
                           run_proxy_once)
from test_reload import admin_call

PLUGIN_DIR = os.environ.get("PROXY_TEST_PLUGIN_DIR") or os.path.join(
    SOURCE_DIR, "build", "test", "plugins_testdata")


def plugin(name):
    return os.path.join(PLUGIN_DIR, name + ".so")


# Each bad plugin and what its one-line refusal says after "plugin PATH: ".
BAD_PLUGINS = {
    "test_plugin_mismatched": 'ABI mismatch: plugin built for '
                              '"api:0000000000000000;cxx:other-compiler;std:other-stdlib", '
                              'proxy is "api:',
    "test_plugin_no_entry": "no proxy_plugin_abi_version() symbol: not a proxy plugin",
    "test_plugin_no_manifest": "no plugin manifest: ",
    "test_plugin_duplicate": 'HTTP filter "router" is already registered by the proxy',
    "test_plugin_twice": 'registered the network filter "test_twice" twice',
    "test_plugin_throwing": "registerFilters() threw: test plugin setup failed",
    "test_plugin_static": 'registered "test_static" from a static object when loaded',
    "test_plugin_undefined_symbol": "cannot load: ",
}


def web_config(admin, web, upstream, plugins=(), plugin_filters=True, extra_top=""):
    """One HTTP listener "web" → cluster up; with `plugin_filters` its chains use the test
    plugin's filters (network test_plugin_pass, HTTP test_plugin_header)."""
    lines = [f'admin: {{ address: "127.0.0.1:{admin}" }}', "workers: 2",
             "shutdown_timeout: 1s"]
    if plugins:
        lines.append("plugins:")
        lines += [f'  - "{p}"' for p in plugins]
    lines += ["clusters:", f'  - {{ name: up, endpoints: ["127.0.0.1:{upstream}"] }}',
              "listeners:", "  - name: web", f'    address: "127.0.0.1:{web}"', "    filters:"]
    if plugin_filters:
        lines.append("      - name: test_plugin_pass")
    lines += ["      - name: http_connection_manager", "        config:",
              "          http_filters:"]
    if plugin_filters:
        lines += ["            - name: test_plugin_header",
                  "              config: { value: hello, deny_prefix: /deny }"]
    lines += ["            - name: path_prefix_router",
              "              config: { routes: [{ prefix: /, cluster: up }] }",
              "            - name: router"]
    return "\n".join(lines) + "\n" + extra_top


def one_line_error(test, stderr, path, expected):
    """The refusal is one line naming the library and saying why."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    test.assertEqual(len(lines), 1, stderr)
    test.assertIn(f"plugins[0]: plugin {path}: {expected}", lines[0])


class PluginTestBase(ProxyTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.isfile(plugin("test_plugin")):
            self.fail(f"test plugins not built in {PLUGIN_DIR} (set PROXY_TEST_PLUGIN_DIR)")
        self.dir = tempfile.mkdtemp(prefix="proxy-plugins-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.upstream = start_http_upstream(self)
        self.admin, self.web = free_port(), free_port()
        self.config_path = os.path.join(self.dir, "proxy.yaml")

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def get(self, path):
        status, body = http_get(self.web, path)
        return status, body

    def upstream_saw(self, path):
        """The headers of the last request the upstream got for `path`, as a dict."""
        requests = [r for r in self.upstream.results if r["target"] == path]
        self.assertTrue(requests, f"the upstream never saw {path}")
        return {k.lower(): v for k, v in requests[-1]["headers"]}

    def reload(self):
        status, body = admin_call(self.admin, "POST", "/reload")
        return status, json.loads(body)


class PluginStartTest(PluginTestBase):
    def test_plugin_filters_carry_traffic_and_have_counters(self):
        # A relative path is relative to the config file, whatever the working directory.
        os.makedirs(os.path.join(self.dir, "lib"))
        shutil.copy(plugin("test_plugin"), os.path.join(self.dir, "lib", "test_plugin.so"))
        self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                     plugins=["lib/test_plugin.so"]))
        self.start_proxy(config_path=self.config_path, admin_port=self.admin, cwd="/")

        self.assertEqual(self.get("/a")[0], 200)
        self.assertEqual(self.upstream_saw("/a").get("x-test-plugin"), "hello")
        status, body = self.get("/deny/b")
        self.assertEqual((status, body), (403, "denied by test_plugin_header\n"))
        self.assertEqual(self.get("/c")[0], 200)

        metrics = self.wait_metric(
            self.admin, lambda m: m.value("proxy_filter_invocations_total", listener="web",
                                          chain="http", filter="router") == 2,
            what="two requests routed")
        self.assertEqual(metrics.value("proxy_filter_invocations_total", listener="web",
                                       chain="http", filter="test_plugin_header"), 3)
        self.assertEqual(metrics.value("proxy_filter_local_replies_total", listener="web",
                                       chain="http", filter="test_plugin_header"), 1)
        # http.client opens a connection per request.
        self.assertEqual(metrics.value("proxy_filter_invocations_total", listener="web",
                                       chain="network", filter="test_plugin_pass"), 3)

        # The canonical form names the plugin by its absolute path.
        status, dump = admin_call(self.admin, "GET", "/config_dump")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(dump)["config"]["plugins"],
                         [os.path.join(self.dir, "lib", "test_plugin.so")])

    def test_validate_loads_the_plugins(self):
        self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                     plugins=[plugin("test_plugin")]))
        result = run_proxy_once(["--validate", "-c", self.config_path])
        self.assertEqual(result.returncode, 0, result.stderr)
        # A plugin factory's ConfigError reaches the one-line error like a built-in one's.
        self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                     plugins=[plugin("test_plugin")]).replace(
            "{ value: hello, deny_prefix: /deny }", "{ header: x-only }"))
        result = run_proxy_once(["--validate", "-c", self.config_path])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr.strip(),
                         r"^\S+proxy\.yaml:\d+:\d+: listeners\[0\]\.filters\[1\]\.config\."
                         r"http_filters\[0\]\.config: expected a map with value \(and header, "
                         r"deny_prefix\)$")
        # Without the plugin the same chains name unknown filters.
        self.write_config(web_config(self.admin, self.web, self.upstream.port))
        result = run_proxy_once(["--validate", "-c", self.config_path])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn('found "test_plugin_pass"', result.stderr)

    def test_each_bad_plugin_is_refused_at_start_in_one_line(self):
        cases = dict(BAD_PLUGINS)
        missing = os.path.join(self.dir, "absent.so")
        for name, expected in list(cases.items()) + [("absent", "cannot read: No such file")]:
            path = missing if name == "absent" else plugin(name)
            with self.subTest(plugin=name):
                self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                             plugins=[path], plugin_filters=False))
                for args in (["-c", self.config_path], ["--validate", "-c", self.config_path]):
                    result = run_proxy_once(args, timeout=15)
                    self.assertEqual(result.returncode, 1, f"{args}: {result.stderr}")
                    one_line_error(self, result.stderr, path, expected)
                    self.assertIn(f"{self.config_path}:5:5: ", result.stderr)


class PluginReloadTest(PluginTestBase):
    def setUp(self):
        super().setUp()
        self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                     plugin_filters=False))
        self.proxy = self.start_proxy(config_path=self.config_path, admin_port=self.admin)
        self.assertEqual(self.get("/start")[0], 200)

    def generation(self):
        status, dump = admin_call(self.admin, "GET", "/config_dump")
        self.assertEqual(status, 200)
        return json.loads(dump)["generation"]

    def assert_filter_unknown(self, name, generation):
        """A config using `name` without listing any plugin is refused: nothing registered."""
        text = web_config(self.admin, self.web, self.upstream.port, plugin_filters=False)
        text = text.replace("            - name: router\n",
                            f"            - name: {name}\n            - name: router\n")
        self.write_config(text)
        status, answer = self.reload()
        self.assertEqual(status, 400, answer)
        self.assertIn(f'"{name}"', answer["errors"][0])
        self.assertEqual(self.generation(), generation)

    def test_each_bad_plugin_is_refused_at_reload_and_registers_nothing(self):
        generation = self.generation()
        for name, expected in BAD_PLUGINS.items():
            with self.subTest(plugin=name):
                self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                             plugins=[plugin(name)], plugin_filters=False))
                status, answer = self.reload()
                self.assertEqual(status, 400, answer)
                self.assertEqual(answer["generation"], generation)
                self.assertEqual(len(answer["errors"]), 1)
                self.assertIn(f"plugins[0]: plugin {plugin(name)}: {expected}",
                              answer["errors"][0])
                self.assertNotIn("\n", answer["errors"][0])
                self.assertEqual(self.generation(), generation)
        # What the throwing plugin registered before it threw never became visible, nor did
        # the mismatched plugin's filters.
        self.assert_filter_unknown("test_throwing", generation)
        self.assert_filter_unknown("test_plugin_header", generation)
        self.assert_filter_unknown("test_static", generation)
        self.assertEqual(self.get("/still")[0], 200)

    def test_plugin_of_a_refused_reload_stays_unregistered_until_a_reload_applies(self):
        generation = self.generation()
        # The plugin loads, but the config is refused for another reason.
        text = web_config(self.admin, self.web, self.upstream.port,
                          plugins=[plugin("test_plugin")])
        self.write_config(text.replace("cluster: up }", "cluster: nowhere }"))
        status, answer = self.reload()
        self.assertEqual(status, 400, answer)
        self.assertIn("nowhere", answer["errors"][0])
        self.assert_filter_unknown("test_plugin_header", generation)

        # Listed with a good config: applied, and its filter carries traffic at once.
        self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                     plugins=[plugin("test_plugin")]))
        status, answer = self.reload()
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["generation"], generation + 1)
        self.assertEqual(answer["changes"]["restart_required"], [])
        self.assertIn("plugins", answer["changes"]["settings"])
        self.assertEqual(self.get("/after")[0], 200)
        self.assertEqual(self.upstream_saw("/after").get("x-test-plugin"), "hello")

    def test_changed_or_removed_plugin_needs_a_restart(self):
        path = os.path.join(self.dir, "test_plugin.so")
        shutil.copy(plugin("test_plugin"), path)
        self.write_config(web_config(self.admin, self.web, self.upstream.port, plugins=[path]))
        status, answer = self.reload()
        self.assertEqual(status, 200, answer)

        # A new build at the same path: the running library stays, the answer says so.
        os.remove(path)
        shutil.copy(plugin("test_plugin"), path)
        status, answer = self.reload()
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["restart_required"],
                         [f"plugin {path} (changed on disk)"])
        self.assertEqual(self.get("/changed")[0], 200)
        self.assertEqual(self.upstream_saw("/changed").get("x-test-plugin"), "hello")

        # No longer listed: its filters stay registered until a restart.
        self.write_config(web_config(self.admin, self.web, self.upstream.port,
                                     plugin_filters=False))
        status, answer = self.reload()
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["changes"]["restart_required"],
                         [f"plugin {path} (removed from plugins)"])


if __name__ == "__main__":
    unittest.main()
