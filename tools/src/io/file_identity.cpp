// SPDX-License-Identifier: Apache-2.0
// File identity by device and inode number.
#include "statepack/tools/io/file_identity.hpp"

#include <sys/stat.h>

namespace statepack {

bool same_file(const std::string &a, const std::string &b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace statepack
