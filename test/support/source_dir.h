#pragma once

#include <string>

namespace proxy::test {

// The source tree's root, for test data. Compiled into one file only, so the path of a
// clone reaches no other object file and ccache hits across clones.
const std::string& sourceDir();

}  // namespace proxy::test
