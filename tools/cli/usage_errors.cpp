// SPDX-License-Identifier: Apache-2.0
// CLI11's parse errors reworded (see usage_errors.hpp). CLI11's own texts ("Could not convert:
// --align = lots") are only read for the option name and value they carry; what the user sees
// is built here from the app's options, so every message reads the same way.
#include "usage_errors.hpp"

namespace statepack::cli {
namespace {

// "pack, inspect, verify, unpack, embed"
std::string command_list(const CLI::App &app) {
  std::string names;
  for (const CLI::App *sub : app.get_subcommands([](const CLI::App *) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

bool is_option_word(const std::string &word) {
  return word.size() > 1 && word[0] == '-';
}

// An option's names as a user types them: "-o/--output".
std::string option_names(const CLI::Option &option) {
  std::string names;
  for (const std::string &s : option.get_snames()) names += (names.empty() ? "-" : "/-") + s;
  for (const std::string &l : option.get_lnames()) names += (names.empty() ? "--" : "/--") + l;
  return names.empty() ? option.get_name(true) : names;
}

// The text after `marker` in `text` up to `end` (or the end), or empty.
std::string between(const std::string &text, const std::string &marker, const std::string &end) {
  const size_t start = text.find(marker);
  if (start == std::string::npos) return "";
  const size_t from = start + marker.size();
  const size_t stop = end.empty() ? std::string::npos : text.find(end, from);
  return text.substr(from, stop == std::string::npos ? std::string::npos : stop - from);
}

// The first word of the command line that CLI11 left over.
std::string first_extra(const CLI::App &app, const std::vector<std::string> &args) {
  const std::vector<std::string> extras = app.remaining(true);
  if (!extras.empty()) return extras.front();
  return args.empty() ? "" : args.front();
}

std::string missing_required(const CLI::App &command) {
  for (const CLI::Option *option : command.get_options()) {
    if (!option->get_required() || option->count() != 0) continue;
    if (!option->nonpositional()) return "missing " + option->get_name(true);
    return "missing " + option_names(*option) + " " + option->get_type_name();
  }
  return "a required argument is missing";
}

std::string problem(const CLI::App &app, const CLI::App *command, const CLI::ParseError &error,
                    const std::vector<std::string> &args) {
  const std::string text = error.what();
  if (command == nullptr) {
    // The only thing the root takes is a command: anything else is an unknown command or
    // an unknown option.
    for (const std::string &word : args) {
      if (is_option_word(word)) return "unknown option '" + word + "'";
      return "unknown command '" + word + "'; commands: " + command_list(app);
    }
    return "no command given; commands: " + command_list(app);
  }
  if (dynamic_cast<const CLI::RequiredError *>(&error) != nullptr) {
    return missing_required(*command);
  }
  if (dynamic_cast<const CLI::ExtrasError *>(&error) != nullptr) {
    const std::string word = first_extra(*command, args);
    if (is_option_word(word)) return "unknown option '" + word + "'";
    return "unexpected argument '" + word + "'";
  }
  if (dynamic_cast<const CLI::ArgumentMismatch *>(&error) != nullptr) {
    std::string name = between(text, "arguments to ", ",");
    if (name.empty()) name = text.substr(0, text.find(':'));
    const CLI::Option *option = command->get_option_no_throw(name);
    const std::string names = option != nullptr ? option_names(*option) : name;
    // "At Most 1 required but received 2": an option that takes one value, given twice.
    if (text.find("At Most") != std::string::npos) return names + " is given more than once";
    return names + " needs a value" +
           (option != nullptr ? " (" + option->get_type_name() + ")" : std::string());
  }
  if (dynamic_cast<const CLI::ConversionError *>(&error) != nullptr) {
    if (text.find("for a flag") != std::string::npos ||
        text.find("true/false") != std::string::npos) {
      return text.substr(0, text.find(':')) + " takes no value";
    }
    const std::string name = between(text, "Could not convert: ", " = ");
    if (!name.empty()) {
      return name + " expects a number, got '" + between(text, " = ", "") + "'";
    }
    return text;
  }
  if (dynamic_cast<const CLI::RequiresError *>(&error) != nullptr) {
    const std::string needs = between(text, " requires ", "");
    return text.substr(0, text.find(' ')) + " only applies with " + needs;
  }
  if (dynamic_cast<const CLI::ExcludesError *>(&error) != nullptr) {
    return text.substr(0, text.find(' ')) + " and " + between(text, " excludes ", "") +
           " cannot be used together";
  }
  // ValidationError and the rest already say "NAME: problem".
  return text;
}

}  // namespace

std::string usage_error_message(const CLI::App &app, const CLI::ParseError &error,
                                const std::vector<std::string> &args) {
  const CLI::App *command = nullptr;
  std::vector<std::string> command_args = args;
  for (const CLI::App *sub : app.get_subcommands([](const CLI::App *) { return true; })) {
    if (!sub->parsed()) continue;
    command = sub;
    // The words after the command's name are the command's.
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == sub->get_name()) {
        command_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
        break;
      }
    }
  }
  if (command == nullptr) return problem(app, nullptr, error, args) + " (see 'statepack --help')";
  return command->get_name() + ": " + problem(app, command, error, command_args) +
         " (see 'statepack " + command->get_name() + " --help')";
}

}  // namespace statepack::cli
