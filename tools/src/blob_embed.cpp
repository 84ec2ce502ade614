// C source generation for `statepack embed`. The generated code is meant to compile warning-free
// as C99 or later and as C++ (the header), on GCC-compatible compilers and C11 compilers.
#include "statepack/tools/blob_embed.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "statepack/tools/atomic_output.hpp"
#include "statepack/tools/checksum.hpp"
#include "statepack/tools/error.hpp"
#include "statepack/tools/file_identity.hpp"

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
  if (ends_with(name, ".c")) name.resize(name.size() - 2);
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

EmbedSources render_embed(const BlobFile &blob, const std::string &symbol,
                          const std::string &section, const std::string &header_name) {
  const spk_blob &b = blob.blob();
  const auto size = static_cast<unsigned long long>(b.size);
  const std::string n = std::to_string(size);
  const std::string align = std::to_string(b.alignment);
  const std::string input = comment_safe(file_name_of(blob.path()));
  char line[160];
  std::snprintf(line, sizeof line, "%llu bytes, %u tensors, %s, format %u.%u, aligned to %u", size,
                spk_tensor_count(&b), checksum_name(static_cast<ChecksumAlgo>(b.checksum)).c_str(),
                b.format_major, b.format_minor, b.alignment);
  const std::string summary = line;

  EmbedSources out;
  const std::string guard = "STATEPACK_EMBED_" + upper(symbol) + "_H";
  std::string &h = out.header;
  h += "/* Generated by `statepack embed` from " + input + ": do not edit.\n";
  h += " * " + symbol + ": the blob (" + summary + ").\n";
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

  std::string &c = out.source;
  c.reserve(static_cast<size_t>(size) * 6 + 1024);
  c += "/* Generated by `statepack embed` from " + input + ": do not edit.\n";
  c += " * " + summary + ". */\n";
  c += "#include \"" + comment_safe(header_name) + "\"\n\n";
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

std::string write_embed(const std::string &input, const std::string &output_c,
                        const EmbedOptions &options) {
  if (!ends_with(output_c, ".c") || file_name_of(output_c) == ".c") {
    fail_usage("the output must be a .c file (the header is written beside it), got " + output_c);
  }
  const std::string name = file_name_of(output_c);
  if (name.find_first_of("\"\\\n\r") != std::string::npos) {
    fail_usage("the output's file name cannot be #included from C: " + output_c);
  }
  const std::string output_h = output_c.substr(0, output_c.size() - 2) + ".h";
  const std::string symbol = options.symbol.empty() ? embed_symbol_for(output_c) : options.symbol;
  check_embed_symbol(symbol);
  if (!options.section.empty()) check_embed_section(options.section);
  for (const std::string &out : {output_c, output_h}) {
    if (input == out || same_file(input, out))
      fail_usage("the output " + out + " is also the input");
  }
  const BlobFile blob = BlobFile::open(input);
  blob.verify(options.progress);  // embed only what a device would accept
  const EmbedSources sources = render_embed(blob, symbol, options.section, file_name_of(output_h));
  // Both files are complete in their temporaries before either replaces anything.
  AtomicOutput header(output_h);
  header.write(sources.header.data(), sources.header.size());
  AtomicOutput source(output_c);
  source.write(sources.source.data(), sources.source.size());
  header.commit();
  source.commit();
  return symbol;
}

}  // namespace statepack
