// The Python side: whether it can run, and running one of bench/python/*.py for its JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runner/config.hpp"
#include "runner/results.hpp"

namespace bench {

// False, with the reason in `why`, when --no-python was given or the interpreter or the
// scripts are missing.
bool python_works(const Config& config, std::string& why);

// Runs `script` with `args` and parses what it prints; on failure adds a note to `r` and
// returns nothing. Sets r.python_version from the script's "python" member.
std::optional<Json> run_python(const Config& config, const std::string& script,
                               const std::vector<std::string>& args, Results& r);

}  // namespace bench
