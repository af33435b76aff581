// The runner's command line and its --help text.
#include "runner/command_line.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

namespace {

constexpr const char* kUsage =
    "usage: cf_experiments [--quick | --full | --smoke] [--out DIR] [--workers N]\n"
    "                      [--only LIST] [--no-python] [--python EXE] [--help]\n"
    "\n"
    "Runs the benchmark experiments and writes DIR (default: results/ at the repository\n"
    "top) with REPORT.md, SVG charts, Chrome traces and Google Benchmark's JSON.\n"
    "\n"
    "  --quick        quick sizes (the default; a few minutes on 2 cores)\n"
    "  --full         the classic sizes (sleep 2 s / 1 s, 10,000,000-step tasks)\n"
    "  --smoke        tiny sizes, seconds in all: checks that everything still runs\n"
    "  --out DIR      the results folder; replaced as a whole at the end of the run\n"
    "  --workers N    the CPU count to assume for experiments 2 and 3 (default: the\n"
    "                 usable CPUs of this process)\n"
    "  --only LIST    run only these experiments, e.g. --only 1,2,5 (1 busy/idle,\n"
    "                 2 serial/threads/processes, 3 worker sweep, 4 Python, 5 micro)\n"
    "  --no-python    skip the Python side (also skipped when python3 is missing)\n"
    "  --python EXE   the Python interpreter to use (default: python3)\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "cf_experiments: %s\n\n%s", message.c_str(), kUsage);
  std::exit(2);
}

std::optional<long> parse_int(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

}  // namespace

Config parse_command_line(int argc, char** argv) {
  Config config;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto value_of = [&](std::size_t& i, const std::string& flag) -> std::string {
    const std::string& arg = args[i];
    if (arg.size() > flag.size() && arg.compare(0, flag.size() + 1, flag + "=") == 0) {
      return arg.substr(flag.size() + 1);
    }
    if (i + 1 >= args.size()) usage_error(flag + " needs a value");
    return args[++i];
  };
  auto is = [](const std::string& arg, const std::string& flag) {
    return arg == flag || arg.rfind(flag + "=", 0) == 0;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    } else if (arg == "--quick" || arg == "--full" || arg == "--smoke") {
      config.scale = scale_named(arg.substr(2));
    } else if (is(arg, "--out")) {
      config.out = value_of(i, "--out");
      if (config.out.empty()) usage_error("--out needs a folder");
    } else if (is(arg, "--workers")) {
      const std::string text = value_of(i, "--workers");
      const auto n = parse_int(text);
      if (!n || *n <= 0 || *n > 1024) {
        usage_error("--workers must be a positive whole number (got \"" + text + "\")");
      }
      config.cpus = static_cast<int>(*n);
    } else if (is(arg, "--only")) {
      const std::string text = value_of(i, "--only");
      config.only.clear();
      std::stringstream list(text);
      for (std::string item; std::getline(list, item, ',');) {
        const auto n = parse_int(item);
        if (!n || *n < 1 || *n > 5) usage_error("--only takes experiment numbers 1-5, e.g. 1,3");
        config.only.insert(static_cast<int>(*n));
      }
      if (config.only.empty()) usage_error("--only needs at least one experiment");
    } else if (arg == "--no-python") {
      config.use_python = false;
    } else if (is(arg, "--python")) {
      config.python = value_of(i, "--python");
    } else {
      usage_error("unknown argument \"" + arg + "\"");
    }
  }
  return config;
}

}  // namespace bench
