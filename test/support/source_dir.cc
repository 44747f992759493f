#include "test/support/source_dir.h"

namespace proxy::test {

const std::string& sourceDir() {
  static const std::string dir = PROXY_SOURCE_DIR;
  return dir;
}

}  // namespace proxy::test
