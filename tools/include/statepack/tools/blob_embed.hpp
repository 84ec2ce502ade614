// `statepack embed`: a verified blob as C source, so firmware links it into flash. OUT.c holds
// the bytes as a const array aligned to the blob's segment alignment (tensor data is then
// aligned in place) and its size; OUT.h declares both for C and C++.
#pragma once

#include <string>

#include "statepack/tools/blob_file.hpp"
#include "statepack/tools/progress.hpp"

namespace statepack {

/// Choices for the generated sources.
struct EmbedOptions {
  std::string symbol;         ///< C identifier of the array; empty = derived from the output name
  std::string section;        ///< linker section for the array; empty = the compiler's default
  ProgressCallback progress;  ///< if set: bytes of the blob verified so far
};

/// The two generated files' text.
struct EmbedSources {
  std::string source;  ///< OUT.c
  std::string header;  ///< OUT.h
};

/// The symbol `statepack embed` derives from an output path: the file name without directory
/// and ".c", every character that cannot appear in a C identifier replaced by '_', prefixed
/// with "blob_" when it would start with a digit or be a C or C++ keyword.
std::string embed_symbol_for(const std::string &output_path);

/// Throws a usage Error unless `symbol` is a C identifier usable at file scope in C and C++
/// (not a keyword, not reserved: no "__" prefix, no '_' followed by an upper-case letter).
void check_embed_symbol(const std::string &symbol);

/// Throws a usage Error unless `section` is a plain section name ([A-Za-z0-9_.$]+).
void check_embed_section(const std::string &section);

/// The sources for an opened blob. `symbol` must pass check_embed_symbol, `section` be empty
/// or pass check_embed_section; `header_name` is the file name OUT.c includes. Depends only on
/// the blob's bytes and the arguments (no time, no path), so output is deterministic.
EmbedSources render_embed(const BlobFile &blob, const std::string &symbol,
                          const std::string &section, const std::string &header_name);

/// Opens and verifies the blob at `input` (an input Error if it is not valid), then writes
/// `output_c` (which must end in ".c") and the header beside it (".h" instead of ".c"), each
/// atomically. Returns the symbol used.
std::string write_embed(const std::string &input, const std::string &output_c,
                        const EmbedOptions &options);

}  // namespace statepack
