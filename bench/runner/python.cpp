// Running the Python peers (see python.hpp).
#include "runner/python.hpp"

#include <cstdio>
#include <cstdlib>

#include "runner/util.hpp"

namespace bench {

bool python_works(const Config& config, std::string& why) {
  if (!config.use_python) {
    why = "skipped (--no-python)";
    return false;
  }
  const std::string command =
      shell_quote(config.python) + " -c 'import concurrent.futures' " + ">/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    why = "skipped: " + config.python + " was not found (or cannot import concurrent.futures)";
    return false;
  }
  if (!fs::exists(config.python_dir / "experiments.py")) {
    why = "skipped: " + (config.python_dir / "experiments.py").string() + " not found";
    return false;
  }
  return true;
}

std::optional<Json> run_python(const Config& config, const std::string& script,
                               const std::vector<std::string>& args, Results& r) {
  std::string command =
      shell_quote(config.python) + " " + shell_quote((config.python_dir / script).string());
  for (const auto& a : args) command += " " + shell_quote(a);
  std::string out;
  const int status = run_command(command, [&](const std::string& line) { out += line + "\n"; });
  if (status != 0) {
    r.notes.push_back("python3 " + script + " failed (exit status " + std::to_string(status) +
                      "); its rows are left empty");
    std::fprintf(stderr, "cf_experiments: %s failed with status %d\n", script.c_str(), status);
    return std::nullopt;
  }
  try {
    Json v = parse_json(out);
    r.python_version = string_or(v, "python", r.python_version);
    return v;
  } catch (const std::exception& e) {
    r.notes.push_back("python3 " + script + " printed unreadable JSON: " + e.what());
    return std::nullopt;
  }
}

}  // namespace bench
