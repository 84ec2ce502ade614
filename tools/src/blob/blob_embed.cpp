// SPDX-License-Identifier: Apache-2.0
// Source generation for `statepack embed`. The generated C is meant to compile warning-free as
// C99 or later and as C++ (the header), on GCC-compatible compilers and C11 compilers. The
// assembler form (.incbin) is for GNU-syntax ELF assemblers: GNU as (host and arm-none-eabi)
// and clang's integrated assembler.
#include "statepack/tools/blob/blob_embed.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/atomic_output.hpp"
#include "statepack/tools/io/file_identity.hpp"

namespace statepack {
namespace {

// Keywords of C (C23) and C++ (C++20), and main: a symbol must be usable from both languages.
const std::set<std::string> &keywords() {
  // clang-format off
  static const std::set<std::string> words = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
      "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
      "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
      "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
      "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "requires", "restrict", "return", "short", "signed", "sizeof", "static",
      "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
      "throw", "true", "try", "typedef", "typeid", "typename", "typeof", "typeof_unqual", "union",
      "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
      "main"};
  // clang-format on
  return words;
}

bool identifier_char(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (!first && c >= '0' && c <= '9');
}

std::string upper(std::string s) {
  for (char &c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string file_name_of(const std::string &path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A comment must not end early: the input's file name is the only outside text we quote.
std::string comment_safe(std::string text) {
  for (size_t at = text.find("*/"); at != std::string::npos; at = text.find("*/", at)) {
    text.replace(at, 2, "*_/");
  }
  for (char &c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

std::string embed_symbol_for(const std::string &output_path) {
  std::string name = file_name_of(output_path);
  for (const char *suffix : {".c", ".S", ".spk"}) {
    if (ends_with(name, suffix)) {
      name.resize(name.size() - std::string(suffix).size());
      break;
    }
  }
  for (char &c : name) {
    if (!identifier_char(c, false)) c = '_';
  }
  // Leading underscores would make a reserved identifier; trailing ones are harmless.
  name.erase(0, name.find_first_not_of('_'));
  if (name.empty() || !identifier_char(name[0], true) || keywords().count(name) != 0) {
    name = "blob_" + name;
  }
  return name;
}

void check_embed_symbol(const std::string &symbol) {
  const std::string hint = "--symbol must be a C identifier, got \"" + symbol + "\"";
  if (symbol.empty() || !identifier_char(symbol[0], true)) fail_usage(hint);
  for (const char c : symbol) {
    if (!identifier_char(c, false)) fail_usage(hint);
  }
  if (keywords().count(symbol) != 0) fail_usage("--symbol \"" + symbol + "\" is a keyword or main");
  if (symbol.rfind("__", 0) == 0 ||
      (symbol[0] == '_' && symbol.size() > 1 && symbol[1] >= 'A' && symbol[1] <= 'Z')) {
    fail_usage("--symbol \"" + symbol + "\" is reserved for the implementation");
  }
}

void check_embed_section(const std::string &section) {
  const bool ok = !section.empty() && std::all_of(section.begin(), section.end(), [](char c) {
    return identifier_char(c, false) || c == '.' || c == '$';
  });
  if (!ok) fail_usage("--section must be a section name ([A-Za-z0-9_.$]), got \"" + section + "\"");
}

namespace {

// "N bytes, T tensors, xxh64, format 1.0, aligned to A": the line both files start with.
std::string blob_summary(const spk_blob &b) {
  char line[160];
  std::snprintf(line, sizeof line, "%llu bytes, %u tensors, %s, format %u.%u, aligned to %u",
                static_cast<unsigned long long>(b.size), spk_tensor_count(&b),
                checksum_name(static_cast<ChecksumAlgo>(b.checksum)).c_str(), b.format_major,
                b.format_minor, b.alignment);
  return line;
}

std::string render_header(const BlobFile &blob, const std::string &symbol) {
  const spk_blob &b = blob.blob();
  const std::string n = std::to_string(static_cast<unsigned long long>(b.size));
  const std::string align = std::to_string(b.alignment);
  const std::string guard = "STATEPACK_EMBED_" + upper(symbol) + "_H";
  std::string h;
  h += "/* Generated by `statepack embed` from " + comment_safe(file_name_of(blob.path())) +
       ": do not edit.\n";
  h += " * " + symbol + ": the blob (" + blob_summary(b) + ").\n";
  h += " * Open it in place: spk_open(&blob, " + symbol + ", " + symbol + "_size, 0). */\n";
  h += "#ifndef " + guard + "\n#define " + guard + "\n\n#include <stddef.h>\n\n";
  h += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "/* Aligned to " + align +
       " bytes, the blob's segment alignment: tensor data is aligned in place. */\n";
  h += "#if defined(__cplusplus)\n";
  h += "alignas(" + align + ") extern const unsigned char " + symbol + "[" + n + "];\n";
  h += "#elif defined(__GNUC__)\n";
  h += "extern const unsigned char " + symbol + "[" + n + "] __attribute__((aligned(" + align +
       ")));\n";
  h += "#else\n";
  h += "extern const unsigned char " + symbol + "[" + n + "];\n";
  h += "#endif\n";
  h += "extern const size_t " + symbol + "_size; /* " + n + " */\n\n";
  h += "#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* " + guard + " */\n";
  return h;
}

// `text` as a GNU as string literal.
std::string assembler_string(const std::string &text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

EmbedSources render_embed(const BlobFile &blob, const std::string &symbol,
                          const std::string &section, const std::string &header_name) {
  const spk_blob &b = blob.blob();
  const auto size = static_cast<unsigned long long>(b.size);
  const std::string n = std::to_string(size);
  const std::string align = std::to_string(b.alignment);

  EmbedSources out;
  out.header = render_header(blob, symbol);
  std::string &c = out.source;
  c.reserve(static_cast<size_t>(size) * 6 + 1024);
  c += "/* Generated by `statepack embed` from " + comment_safe(file_name_of(blob.path())) +
       ": do not edit.\n";
  c += " * " + blob_summary(b) + ". */\n";
  // Without a header (standard output), the file declares nothing it does not define.
  c += header_name.empty() ? std::string("#include <stddef.h>\n\n")
                           : "#include \"" + comment_safe(header_name) + "\"\n\n";
  const std::string attributes =
      "aligned(" + align + ")" + (section.empty() ? "" : ", section(\"" + section + "\")");
  c += "#if defined(__GNUC__)\n";
  c += "__attribute__((" + attributes + "))\n";
  if (section.empty()) {
    c += "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n";
    c += "_Alignas(" + align + ")\n";
  }
  c += "#else\n";
  c += section.empty()
           ? "#error \"statepack embed: needs __attribute__((aligned)) or C11 _Alignas\"\n"
           : "#error \"statepack embed: needs __attribute__((aligned, section))\"\n";
  c += "#endif\n";
  c += "const unsigned char " + symbol + "[" + n + "] = {\n";
  static const char kHex[] = "0123456789abcdef";
  const uint8_t *bytes = b.data;
  for (uint64_t i = 0; i < b.size; i += 16) {
    c += " ";
    const uint64_t end = std::min<uint64_t>(b.size, i + 16);
    for (uint64_t j = i; j < end; ++j) {
      c += " 0x";
      c += kHex[bytes[j] >> 4];
      c += kHex[bytes[j] & 15];
      c += ',';
    }
    c += '\n';
  }
  c += "};\n";
  c += "const size_t " + symbol + "_size = " + n + "u;\n";
  return out;
}

EmbedSources render_incbin(const BlobFile &blob, const std::string &symbol,
                           const std::string &section, const std::string &blob_path) {
  if (blob_path.find_first_of("\n\r") != std::string::npos || blob_path.empty()) {
    fail_usage("the blob's path cannot be written in an assembler string: " + blob_path);
  }
  const spk_blob &b = blob.blob();
  const std::string n = std::to_string(static_cast<unsigned long long>(b.size));
  const std::string size_symbol = symbol + "_size";
  // Each symbol in a section of its own, as -fdata-sections would place them, so that
  // --gc-sections can drop an unused blob; "a" = allocated, read-only.
  const std::string blob_section = section.empty() ? ".rodata." + symbol : section;

  EmbedSources out;
  out.header = render_header(blob, symbol);
  std::string &s = out.source;
  s += "/* Generated by `statepack embed --format incbin` from " +
       comment_safe(file_name_of(blob.path())) + ": do not edit.\n";
  s += " * " + blob_summary(b) + ".\n";
  s += " * The assembler reads the blob itself, from the path below, when this file is built. */\n";
  s += "\t.section " + blob_section + ",\"a\",%progbits\n";
  s += "\t.balign " + std::to_string(b.alignment) + "\n";
  s += "\t.globl " + symbol + "\n";
  s += "\t.type " + symbol + ", %object\n";
  s += symbol + ":\n";
  s += "\t.incbin " + assembler_string(blob_path) + "\n";
  // The blob was verified when this file was generated; a different file at that path since
  // would not match the size the header declares.
  s += "\t.if . - " + symbol + " - " + n + "\n";
  s += "\t.error " +
       assembler_string("statepack embed: " + blob_path + " is not " + n +
                        " bytes any more: run statepack embed again") +
       "\n";
  s += "\t.endif\n";
  s += "\t.size " + symbol + ", . - " + symbol + "\n\n";
  s += "\t.section .rodata." + size_symbol + ",\"a\",%progbits\n";
  // size_t is as wide as an address on every target this is for (ILP32 and LP64).
  s += "#if defined(__SIZEOF_SIZE_T__) && __SIZEOF_SIZE_T__ == 8\n";
  s += "\t.balign 8\n\t.globl " + size_symbol + "\n\t.type " + size_symbol + ", %object\n";
  s += size_symbol + ":\n\t.8byte " + n + "\n";
  s += "#else\n";
  s += "\t.balign 4\n\t.globl " + size_symbol + "\n\t.type " + size_symbol + ", %object\n";
  s += size_symbol + ":\n\t.4byte " + n + "\n";
  s += "#endif\n";
  s += "\t.size " + size_symbol + ", . - " + size_symbol + "\n\n";
  // No executable stack for the program that links this (GNU ld's default without the note).
  s += "\t.section .note.GNU-stack,\"\",%progbits\n";
  return out;
}

std::string write_embed(const std::string &input, const std::string &output,
                        const EmbedOptions &options) {
  const bool incbin = options.format == EmbedFormat::kIncbin;
  const std::string suffix = incbin ? ".S" : ".c";
  const bool to_stdout = output == "-";
  if (!to_stdout && (!ends_with(output, suffix) || file_name_of(output) == suffix)) {
    fail_usage(std::string("the output must be a ") + suffix +
               " file (the header is written beside it) or - (standard output), got " + output);
  }
  const std::string name = file_name_of(output);
  if (name.find_first_of("\"\\\n\r") != std::string::npos) {
    fail_usage("the output's file name cannot be #included from C: " + output);
  }
  // Standard output gets the source alone: there is no name to put a header beside.
  const std::string output_h = to_stdout ? "" : output.substr(0, output.size() - 2) + ".h";
  const std::string symbol =
      options.symbol.empty() ? embed_symbol_for(to_stdout ? input : output) : options.symbol;
  check_embed_symbol(symbol);
  if (!options.section.empty()) check_embed_section(options.section);
  for (const std::string &out : {output, output_h}) {
    if (!out.empty() && out != "-" && (input == out || same_file(input, out))) {
      fail_usage("the output " + out + " is also the input");
    }
  }
  const BlobFile blob = BlobFile::open(input);
  blob.verify(0, options.progress);  // embed only what a device would accept
  EmbedSources sources;
  if (incbin) {
    // The assembler runs in the build's directory, not this one: the blob by its absolute path.
    char *absolute = ::realpath(input.c_str(), nullptr);
    if (absolute == nullptr) fail_input(input, "cannot resolve its path");
    const std::string blob_path = absolute;
    std::free(absolute);
    sources = render_incbin(blob, symbol, options.section, blob_path);
  } else {
    sources = render_embed(blob, symbol, options.section, file_name_of(output_h));
  }
  if (to_stdout) {
    AtomicOutput source(output, OutputAccess::kSequential);
    source.write(sources.source.data(), sources.source.size());
    source.commit();
    return symbol;
  }
  // Both files are complete in their temporaries before either replaces anything.
  AtomicOutput header(output_h, OutputAccess::kSequential);
  header.write(sources.header.data(), sources.header.size());
  AtomicOutput source(output, OutputAccess::kSequential);
  source.write(sources.source.data(), sources.source.size());
  header.commit();
  source.commit();
  return symbol;
}

}  // namespace statepack
