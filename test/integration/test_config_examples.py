"""Every config in config/examples/ validates, and its canonical print validates again and
prints the same (the examples are documentation: they must not rot)."""

import glob
import os
import subprocess
import tempfile
import unittest

from proxy_harness import PROXY_BIN, SOURCE_DIR, proxy_env

EXAMPLES = sorted(glob.glob(os.path.join(SOURCE_DIR, "config", "examples", "*.yml")))


def run_proxy(*args):
    return subprocess.run([PROXY_BIN, *args], capture_output=True, text=True, timeout=30,
                          env=proxy_env())


class ConfigExamplesTest(unittest.TestCase):
    def test_there_are_examples(self):
        self.assertGreaterEqual(len(EXAMPLES), 5, EXAMPLES)

    def test_each_example_validates_and_round_trips(self):
        for path in EXAMPLES:
            with self.subTest(example=os.path.basename(path)):
                result = run_proxy("--validate", "-c", path)
                self.assertEqual(result.returncode, 0, result.stderr)
                printed = run_proxy("--print-config", "-c", path)
                self.assertEqual(printed.returncode, 0, printed.stderr)
                with tempfile.NamedTemporaryFile("w", suffix=".yml") as canonical:
                    canonical.write(printed.stdout)
                    canonical.flush()
                    again = run_proxy("--print-config", "-c", canonical.name)
                    self.assertEqual(again.returncode, 0, again.stderr)
                    self.assertEqual(again.stdout, printed.stdout)


if __name__ == "__main__":
    unittest.main()
