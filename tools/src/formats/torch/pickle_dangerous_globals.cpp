// SPDX-License-Identifier: Apache-2.0
// The list of globals a pickle may not name (see pickle_dangerous_globals.hpp and
// docs/pickle-safety.md). A global matches by exact (module, name), by module prefix, or by the
// shape of its name; the lists start from what public pickle scanners (picklescan, fickling)
// refuse and add every standard module that runs code, reaches the system or the network, or
// loads another pickle.
#include "pickle_dangerous_globals.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace statepack::pickle {
namespace {

// Modules whose every name is refused, with their submodules (`os` covers `os.path`).
const char *const kModules[] = {
    // Processes, files and the interpreter.
    "os",
    "posix",
    "nt",
    "posixpath",
    "ntpath",
    "genericpath",
    "subprocess",
    "_posixsubprocess",
    "sys",
    "importlib",
    "imp",
    "zipimport",
    "pkgutil",
    "runpy",
    "code",
    "codeop",
    "types",
    "shutil",
    "tempfile",
    "glob",
    "fileinput",
    "io",
    "_io",
    "tarfile",
    "zipfile",
    "gzip",
    "bz2",
    "lzma",
    "dbm",
    "sqlite3",
    "mmap",
    "fcntl",
    "pty",
    "tty",
    "termios",
    "resource",
    "signal",
    "_signal",
    "platform",
    "gc",
    "inspect",
    "linecache",
    "tokenize",
    "site",
    "sysconfig",
    "ctypes",
    "_ctypes",
    "cffi",
    "multiprocessing",
    "_multiprocessing",
    "concurrent",
    "threading",
    "_thread",
    "thread",
    "commands",
    "popen2",
    "pdb",
    "bdb",
    "cProfile",
    "profile",
    "_lsprof",
    "timeit",
    "trace",
    "pydoc",
    "doctest",
    "unittest",
    "logging.config",
    "logging.handlers",
    "tkinter",
    "Tkinter",
    "turtle",
    "curses",
    "readline",
    "rlcompleter",
    "IPython",
    "pexpect",
    "paramiko",
    // Other pickles: loading one runs whatever it names.
    "pickle",
    "_pickle",
    "cPickle",
    "cloudpickle",
    "dill",
    "joblib",
    "shelve",
    "marshal",
    // The network.
    "socket",
    "_socket",
    "ssl",
    "_ssl",
    "select",
    "selectors",
    "asyncio",
    "socketserver",
    "SocketServer",
    "http",
    "httplib",
    "urllib",
    "urllib2",
    "urllib3",
    "requests",
    "aiohttp",
    "httpx",
    "ftplib",
    "smtplib",
    "poplib",
    "imaplib",
    "nntplib",
    "telnetlib",
    "xmlrpc",
    "xmlrpclib",
    "webbrowser",
    "antigravity",
    // Python 2 names, which protocol 0-2 pickles use for the modules above (fix_imports).
    "anydbm",
    "dbhash",
    "dumbdbm",
    "gdbm",
    "whichdb",
    "BaseHTTPServer",
    "SimpleHTTPServer",
    "CGIHTTPServer",
    "cookielib",
    "robotparser",
    "dummy_thread",
    "SimpleXMLRPCServer",
    "DocXMLRPCServer",
    // Package tools: they download and install, and run setup code.
    "pip",
    "ensurepip",
    "venv",
    "setuptools",
    "distutils",
    "pkg_resources",
    // torch and numpy parts that load files, compile or run code, or reach other processes.
    "torch.hub",
    "torch.jit",
    "torch._dynamo",
    "torch._inductor",
    "torch.fx",
    "torch.package",
    "torch.serialization",
    "torch.utils.cpp_extension",
    "torch.utils.model_zoo",
    "torch.distributed",
    "torch.multiprocessing",
    "torch.ops",
    "torch._ops",
    "torch._C",
    "torch.classes",
    "torch.testing",
    "torch.compiler",
    "torch.onnx",
    "numpy.testing",
    "numpy.lib.npyio",
    "numpy.lib.format",
    "numpy.ctypeslib",
    "numpy.f2py",
    "numpy.distutils",
    "pandas.io",
};

// Names refused in the builtins module, however it is spelled; every dunder name is refused too.
const char *const kBuiltins[] = {
    "eval",    "exec",    "execfile", "compile",   "open",    "file",    "input",  "raw_input",
    "getattr", "setattr", "delattr",  "globals",   "locals",  "vars",    "dir",    "breakpoint",
    "exit",    "quit",    "help",     "copyright", "credits", "license", "reload", "apply",
};

struct ExactName {
  const char *module;
  const char *name;
};

// Single names in modules that are otherwise harmless.
const ExactName kExact[] = {
    // Reach attributes or call functions indirectly: getattr by another name.
    {"operator", "attrgetter"},
    {"operator", "itemgetter"},
    {"operator", "methodcaller"},
    {"operator", "call"},
    {"_operator", "attrgetter"},
    {"_operator", "itemgetter"},
    {"_operator", "methodcaller"},
    {"_operator", "call"},
    {"functools", "partial"},
    {"functools", "partialmethod"},
    {"functools", "reduce"},
    {"_functools", "partial"},
    {"_functools", "reduce"},
    // Change how later pickles load.
    {"copyreg", "pickle"},
    {"copyreg", "constructor"},
    {"copyreg", "add_extension"},
    {"copyreg", "remove_extension"},
    {"copyreg", "clear_extension_cache"},
    {"copyreg", "dispatch_table"},
    {"copy_reg", "pickle"},
    {"copy_reg", "constructor"},
    {"copy_reg", "add_extension"},
    {"copy_reg", "remove_extension"},
    {"copy_reg", "clear_extension_cache"},
    {"copy_reg", "dispatch_table"},
    // Load files (and, through them, other pickles).
    {"torch", "load"},
    {"torch", "save"},
    {"torch", "from_file"},
    {"torch.storage", "_load_from_bytes"},
    {"pandas", "read_pickle"},
};

// Names refused in numpy and any of its modules (numpy.core.*, numpy._core.*, numpy.lib.*).
const char *const kNumpyFileNames[] = {
    "load",      "loads",   "save",       "savez",       "savez_compressed",
    "savetxt",   "loadtxt", "genfromtxt", "fromfile",    "tofile",
    "fromregex", "memmap",  "DataSource", "open_memmap",
};

// Classes that do something when merely made: refused even at the end of a nested-class path.
const char *const kDangerousClasses[] = {
    "Popen",
    "FileIO",
    "InteractiveInterpreter",
    "InteractiveConsole",
    "Pickler",
    "Unpickler",
    "Thread",
    "Process",
    "Timer",
    "CDLL",
    "PyDLL",
};

bool in(const char *const *begin, const char *const *end, const std::string &text) {
  return std::any_of(begin, end, [&text](const char *item) { return text == item; });
}

template <size_t N>
bool in(const char *const (&list)[N], const std::string &text) {
  return in(std::begin(list), std::end(list), text);
}

// True when `module` is `prefix` or one of its submodules.
bool under(const std::string &module, const char *prefix) {
  const size_t n = std::strlen(prefix);
  return module.compare(0, n, prefix) == 0 && (module.size() == n || module[n] == '.');
}

bool is_dunder(const std::string &part) {
  return part.size() > 4 && part.compare(0, 2, "__") == 0 &&
         part.compare(part.size() - 2, 2, "__") == 0;
}

bool identifier_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

}  // namespace

bool is_dotted_identifier(const std::string &text) {
  bool at_start = true;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (at_start) return false;  // empty part
      at_start = true;
    } else if (at_start) {
      if (!identifier_start(c)) return false;
      at_start = false;
    } else if (!identifier_start(c) && !(c >= '0' && c <= '9')) {
      return false;
    }
  }
  return !at_start;
}

std::optional<std::string> dangerous_global(const std::string &module, const std::string &name,
                                            const std::string &display) {
  const std::string &full = display;
  const std::string run = "run " + full;
  for (const char *prefix : kModules) {
    if (under(module, prefix)) return run;
  }
  if (module == "builtins" || module == "__builtin__" || module == "__builtins__" ||
      module == "__main__.__builtins__") {
    if (in(kBuiltins, name) || is_dunder(name)) return run;
  }
  for (const ExactName &exact : kExact) {
    if (module == exact.module && name == exact.name) return run;
  }
  if (under(module, "numpy") && in(kNumpyFileNames, name)) return run;
  if (under(module, "pandas") && name.compare(0, 5, "read_") == 0) return run;

  // An attribute path: find_class follows dots in the name, so `argparse` + `_os.system` is
  // os.system and `pathlib` + `Path.unlink` deletes a file. Only nested classes pass.
  size_t start = 0;
  for (;;) {
    const size_t dot = name.find('.', start);
    const std::string part = name.substr(start, dot == std::string::npos ? dot : dot - start);
    const bool last = dot == std::string::npos;
    if (is_dunder(part)) return "reach " + full + " (a special attribute)";
    if (start > 0 || !last) {
      const bool capitalized = !part.empty() && part[0] >= 'A' && part[0] <= 'Z';
      if (!capitalized || in(kDangerousClasses, part)) {
        return "reach " + full + " through an attribute path";
      }
    }
    if (last) break;
    start = dot + 1;
  }
  return std::nullopt;
}

}  // namespace statepack::pickle
