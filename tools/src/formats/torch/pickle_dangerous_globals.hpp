// SPDX-License-Identifier: Apache-2.0
// The globals a pickle may not even name: those that would run code or touch the system (files,
// processes, network, the interpreter) if the file were loaded by torch.load(weights_only=False)
// or pickle.load. statepack never calls any global, so naming one of these is harmless here; a
// file that does is nonetheless refused, naming the global, because no checkpoint has a reason
// to and its author meant it to run. Everything else outside the allowlist becomes an opaque,
// symbolic object (see pickle_reader.hpp). The list and its reasons are in docs/pickle-safety.md.
// Private to the tools library.
#pragma once

#include <optional>
#include <string>

namespace statepack::pickle {

/// Why `module`.`name` is refused, as the part of "this file tries to ... when loaded" after
/// "tries to" ("run os.system", with `display` as the global's printed name), or nullopt when
/// the global may be held as an opaque symbolic reference. Matches exact names, module prefixes
/// (`os` covers `os.path`), the Python 2 spelling `__builtin__`, and attribute paths: a dotted
/// name (`Path.unlink`, `_os.system`) is accepted only as a nested class, each part a capitalized
/// identifier that is not itself a dangerous name.
std::optional<std::string> dangerous_global(const std::string &module, const std::string &name,
                                            const std::string &display);

/// True when `text` is one or more Python identifiers joined by dots (identifiers may hold
/// non-ASCII UTF-8), the only spelling find_class can import.
bool is_dotted_identifier(const std::string &text);

}  // namespace statepack::pickle
