# proxy_add_plugin(NAME SOURCES...): a filter plugin, a shared library the proxy loads from the
# `plugins:` list of its config (api/registry/plugin.h). Used in-tree and by the installed SDK
# (find_package(proxy)); `proxy::api` is the api/ headers plus what they include.
function(proxy_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE proxy::api)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF
    POSITION_INDEPENDENT_CODE ON
    # Only the entry points PROXY_PLUGIN marks are exported.
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()
