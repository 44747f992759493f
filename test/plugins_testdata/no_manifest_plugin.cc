// A library with the right ABI string but no Poco manifest (a hand-rolled half of
// PROXY_PLUGIN): refused after the ABI check.
#include "api/registry/plugin.h"

extern "C" POCO_LIBRARY_API const char* proxy_plugin_abi_version() {
  return PROXY_PLUGIN_ABI_VERSION;
}
