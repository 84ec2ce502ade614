// SPDX-License-Identifier: Apache-2.0
// `statepack embed`: a verified blob as source, so firmware links it into flash. OUT.c holds
// the bytes as a const array aligned to the blob's segment alignment (tensor data is then
// aligned in place) and its size; OUT.h declares both for C and C++. The incbin form, OUT.S,
// defines the same two symbols in assembler, which reads the blob itself (.incbin): it builds
// in a fraction of the C form's time and memory, which grow with the blob (six characters of
// C per byte).
#pragma once

#include <string>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/core/progress.hpp"

namespace statepack {

/// The form of the generated source.
enum class EmbedFormat {
  kC,       ///< OUT.c: the bytes as a C array initializer (any C compiler)
  kIncbin,  ///< OUT.S: GNU assembler with .incbin of the blob (gcc, clang, arm-none-eabi-gcc)
};

/// Choices for the generated sources.
struct EmbedOptions {
  std::string symbol;   ///< C identifier of the array; empty = derived from the output name
  std::string section;  ///< linker section for the array; empty = the compiler's default
  EmbedFormat format = EmbedFormat::kC;
  ProgressCallback progress;  ///< if set: bytes of the blob verified so far
};

/// The two generated files' text.
struct EmbedSources {
  std::string source;  ///< OUT.c or OUT.S
  std::string header;  ///< OUT.h
};

/// The symbol `statepack embed` derives from an output path (or, for standard output, from the
/// input's): the file name without directory and one ".c", ".S" or ".spk", every character that
/// cannot appear in a C identifier replaced by '_', prefixed with "blob_" when it would start with
/// a digit or be a C or C++ keyword.
std::string embed_symbol_for(const std::string &output_path);

/// Throws a usage Error unless `symbol` is a C identifier usable at file scope in C and C++
/// (not a keyword, not reserved: no "__" prefix, no '_' followed by an upper-case letter).
void check_embed_symbol(const std::string &symbol);

/// Throws a usage Error unless `section` is a plain section name ([A-Za-z0-9_.$]+).
void check_embed_section(const std::string &section);

/// The C sources for an opened blob. `symbol` must pass check_embed_symbol, `section` be empty
/// or pass check_embed_section; `header_name` is the file name OUT.c includes, or empty for a
/// self-contained OUT.c (no header: it includes <stddef.h> instead). Depends only on the
/// blob's bytes and the arguments (no time, no path), so output is deterministic.
EmbedSources render_embed(const BlobFile &blob, const std::string &symbol,
                          const std::string &section, const std::string &header_name);

/// The assembler source (and the same header as render_embed's) for an opened blob: the blob
/// included by `.incbin "blob_path"`, aligned to its segment alignment, in `section` (default
/// .rodata.SYMBOL), with SYMBOL_size (size_t) beside it in .rodata.SYMBOL_size; the assembler
/// stops with an error if the file at `blob_path` no longer has the blob's size. A relative
/// `blob_path` is found from the assembler's working directory (or its -I directories), so
/// write_embed passes an absolute one. Throws a usage Error for a path with a line break.
EmbedSources render_incbin(const BlobFile &blob, const std::string &symbol,
                           const std::string &section, const std::string &blob_path);

/// Opens and verifies the blob at `input` (an input Error if it is not valid), then writes
/// `output` (which must end in ".c", or ".S" for EmbedFormat::kIncbin) and the header beside it
/// (".h" instead), each atomically. `output` "-" writes only the source, self-contained, to
/// standard output; its symbol defaults to the input's file name. The incbin form names the
/// blob by its absolute path (symlinks resolved): keep it there, or run embed again after
/// moving it. Returns the symbol used.
std::string write_embed(const std::string &input, const std::string &output,
                        const EmbedOptions &options);

}  // namespace statepack
