// SPDX-License-Identifier: Apache-2.0
// What an output path names, decided before anything is written: a regular file (new or
// existing, possibly behind symlinks), a device, a FIFO or standard output. AtomicOutput uses
// it so that only regular files are ever replaced by a rename.
#pragma once

#include <sys/stat.h>

#include <string>

namespace statepack {

/// The kinds of target an output can have.
enum class TargetKind {
  kNewFile,       ///< nothing exists at the resolved path: a new regular file
  kExistingFile,  ///< a regular file: replaced atomically, keeping its mode and owner
  kDevice,        ///< a seekable character or block device: written in place from offset 0
  kStream,        ///< a FIFO, a character device that cannot seek, or standard output ("-")
};

/// A classified output. For kDevice and kStream the target is already open (`fd`, owned by
/// the caller); for files `fd` is -1 and nothing has been created.
struct OutputTarget {
  TargetKind kind = TargetKind::kNewFile;
  std::string path;   ///< the final path after every symlink (empty for standard output)
  struct stat st {};  ///< the existing file's or device's status (not for kNewFile)
  int fd = -1;
};

/// Follows `path` through every symlink in its last component (a chain of links, each relative
/// to its own directory, possibly ending at a name that does not exist yet) and returns the
/// final path. Throws an output Error naming `path` for a loop (more than 40 links) or an
/// unreadable link.
std::string resolve_output_links(const std::string &path);

/// Classifies `path` ("-" is standard output, which is duplicated so that closing `fd` leaves
/// descriptor 1 alone). Opens devices and FIFOs for writing (a FIFO blocks until a reader
/// opens it, as a shell redirection does). Throws an output Error naming `path` for a
/// directory, a socket or another kind of file nothing can be written into, and for paths that
/// cannot be examined.
OutputTarget open_output_target(const std::string &path);

}  // namespace statepack
