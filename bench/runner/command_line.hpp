// The runner's command line: flags to a Config; bad input exits with a message and
// status 2 before anything is written.
#pragma once

#include "runner/config.hpp"

namespace bench {

Config parse_command_line(int argc, char** argv);

}  // namespace bench
