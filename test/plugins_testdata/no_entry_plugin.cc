// A shared library that is not a proxy plugin: no PROXY_PLUGIN, so no ABI symbol.
extern "C" __attribute__((visibility("default"))) int test_not_a_plugin() { return 7; }
