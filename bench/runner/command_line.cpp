// The runner's command line, parsed by CLI11, which also writes --help from the options.
#include "runner/command_line.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace bench {

namespace {

constexpr const char* kUsage =
    "usage: cf_experiments [--quick | --full | --smoke] [--out DIR] [--workers N]\n"
    "                      [--only LIST] [--no-python] [--python EXE] [--help]\n";

// --help as before: the usage line, then the description, then the options CLI11 lists.
class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* /*app*/, std::string /*name*/) const override {
    return "";
  }
  std::string make_description(const CLI::App* app) const override {
    return std::string(kUsage) + "\n" + app->get_description() + "\n";
  }
};

}  // namespace

Config parse_command_line(int argc, char** argv) {
  Config config;
  CLI::App app(
      "Runs the benchmark experiments and writes DIR (default: results/ at the repository\n"
      "top) with REPORT.md, SVG charts, Chrome traces and Google Benchmark's JSON.",
      "cf_experiments");
  app.formatter(std::make_shared<Formatter>());
  app.get_formatter()->column_width(16);

  bool no_python = false;
  std::string out = config.out.string();
  std::vector<int> only;
  // The last of --quick, --full and --smoke wins.
  struct ScaleFlag {
    const char* name;
    const char* help;
  };
  std::string scale = config.scale.name;
  for (const ScaleFlag& flag :
       {ScaleFlag{"quick", "quick sizes (the default; a few minutes on 2 cores)"},
        ScaleFlag{"full", "the classic sizes (sleep 2 s / 1 s, 10,000,000-step tasks)"},
        ScaleFlag{"smoke", "tiny sizes, seconds in all: checks that everything still runs"}}) {
    app.add_flag_callback(
        fmt::format("--{}", flag.name), [&scale, name = flag.name] { scale = name; }, flag.help);
  }
  app.add_option("--out", out, "the results folder; replaced as a whole at the end of the run")
      ->type_name("DIR")
      ->check([](const std::string& v) { return v.empty() ? "--out needs a folder" : ""; });
  app.add_option("--workers", config.cpus,
                 "the CPU count to assume for experiments 2 and 3 (default: the usable CPUs of "
                 "this process)")
      ->type_name("N")
      ->check(CLI::Number)
      ->check(CLI::Range(1, 1024).description(""));
  app.add_option("--only", only,
                 "run only these experiments, e.g. --only 1,2,5 (1 busy/idle, 2 "
                 "serial/threads/processes, 3 worker sweep, 4 Python, 5 micro)")
      ->type_name("LIST")
      ->delimiter(',')
      ->check(CLI::Number)
      ->check(CLI::Range(1, 5).description(""));
  app.add_flag("--no-python", no_python,
               "skip the Python side (also skipped when python3 is missing)");
  app.add_option("--python", config.python, "the Python interpreter to use (default: python3)")
      ->type_name("EXE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr,
               "cf_experiments: {}\n\n{}Run cf_experiments --help for what each flag does.\n",
               e.what(), kUsage);
    std::exit(2);
  }
  config.scale = scale_named(scale);
  config.out = out;
  config.use_python = !no_python;
  if (!only.empty()) config.only = {only.begin(), only.end()};
  return config;
}

}  // namespace bench
