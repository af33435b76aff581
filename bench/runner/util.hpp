// Small utilities of the runner: clocks and statistics, number and duration text,
// running a child command line by line, writing a file.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0);
double median(std::vector<double> v);
double mean(const std::vector<double>& v);

// v with `decimals` digits after the point ("{:.{}f}").
std::string fixed(double v, int decimals = 3);
// "42s", "3m05s".
std::string duration_text(double s);

std::string shell_quote(const std::string& s);

// Runs `command` through the shell; every stdout line is handed to `on_line`; stderr is
// the runner's. Returns the exit status (-1 if it could not run).
int run_command(const std::string& command, const std::function<void(const std::string&)>& on_line);

void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

}  // namespace bench
