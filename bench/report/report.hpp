// REPORT.md: the run's header, then one section per experiment, from the rows in
// Results. Sections 1-3 are in report.cpp, section 5 (the micro-benchmark tables) in
// micro_sections.cpp.
#pragma once

#include <ostream>

#include "runner/config.hpp"
#include "runner/results.hpp"

namespace bench {

// The 1-minute load average: other work on the machine skews every parallel figure.
double load_average();

// Writes dir/REPORT.md (and the sweep's bar charts beside it).
void write_report(const Config& config, const fs::path& dir, const Results& r, double total_seconds,
                  double load_before);

// Section 5's tables (micro_sections.cpp).
void micro_section(std::ostream& md, const Config& config, const Results& r);

}  // namespace bench
