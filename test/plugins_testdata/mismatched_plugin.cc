// test_plugin.cc built for another ABI, as a plugin built by another compiler or against
// other api/ headers would be: the proxy must refuse it. PROXY_PLUGIN_ABI_VERSION is
// overridable (api/registry/plugin.h); it is set here rather than with -D because a CMake
// compile definition cannot hold the string's semicolons.
#define PROXY_PLUGIN_ABI_VERSION "api:0000000000000000;cxx:other-compiler;std:other-stdlib"
#include "test_plugin.cc"
