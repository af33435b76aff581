// Timeline: the recorder and its two exporters (Chrome trace-event JSON, SVG Gantt chart).
#include "concurrent/futures/timeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <utility>

namespace concurrent::futures {

namespace {

using Micros = std::chrono::duration<double, std::micro>;
using Seconds = std::chrono::duration<double>;

double micros_since(Timeline::Clock::time_point origin, Timeline::Clock::time_point t) {
  return Micros(t - origin).count();
}

// The text of a JSON string literal, quotes included.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Text escaped for SVG/XML character data and attribute values.
std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A number for JSON and SVG: fixed, no exponent, no locale.
std::string number(double value, int decimals) {
  if (!std::isfinite(value)) value = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// "pid 4242" → 4242; anything else → 0.
long process_id_of(std::string_view worker) {
  constexpr std::string_view prefix = "pid ";
  if (worker.substr(0, prefix.size()) != prefix) return 0;
  long pid = 0;
  for (char c : worker.substr(prefix.size())) {
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
    if (pid > 1'000'000'000) return 0;
  }
  return pid;
}

// The workers in order of first appearance (tasks are in id order).
std::vector<std::string> workers_of(const std::vector<Timeline::Task>& tasks) {
  std::vector<std::string> workers;
  std::map<std::string, bool, std::less<>> seen;
  for (const auto& task : tasks) {
    if (seen.emplace(task.worker, true).second) workers.push_back(task.worker);
  }
  return workers;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target` ticks.
double tick_step(double span, int target) {
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (raw <= m * power) return m * power;
  }
  return 10 * power;
}

// Decimals enough to tell ticks `step` apart.
int decimals_for(double step) {
  if (step >= 1) return 0;
  return std::min(6, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}

// Tableau 10: distinct, colour-blind friendly enough, readable on white.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

}  // namespace

Timeline::Timeline() : Timeline(Clock::now()) {}

Timeline::Timeline(Clock::time_point origin) : origin_(origin) {}

std::uint64_t Timeline::on_submit() {
  const auto now = Clock::now();
  detail::MutexLock lock(mutex_);
  const std::uint64_t id = tasks_.size();
  tasks_.push_back(Task{id, {}, now, now, now, {}});
  ran_.push_back(false);
  return id;
}

void Timeline::on_run(std::uint64_t id, std::string worker, Clock::time_point started,
                      Clock::time_point finished, std::string killed) {
  detail::MutexLock lock(mutex_);
  if (id >= tasks_.size()) return;
  Task& task = tasks_[id];
  task.worker = std::move(worker);
  task.killed = std::move(killed);
  task.started = started;
  task.finished = std::max(started, finished);
  ran_[id] = true;
}

std::vector<Timeline::Task> Timeline::tasks() const {
  detail::MutexLock lock(mutex_);
  std::vector<Task> out;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    if (ran_[i]) out.push_back(tasks_[i]);
  }
  return out;
}

void Timeline::write_chrome_trace(std::ostream& out) const {
  const std::vector<Task> ran = tasks();
  const std::vector<std::string> workers = workers_of(ran);
  // Threads share process 1 and get tids 1, 2, ... by first appearance; a worker
  // process "pid N" gets its own track as process N.
  std::map<std::string, std::pair<long, long>, std::less<>> track;
  long next_tid = 1;
  for (const auto& worker : workers) {
    const long pid = process_id_of(worker);
    track[worker] = pid != 0 ? std::pair{pid, pid} : std::pair{1L, next_tid++};
  }

  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
  bool first = true;
  auto separator = [&] {
    out << (first ? "\n" : ",\n");
    first = false;
  };
  for (const auto& worker : workers) {
    const auto [pid, tid] = track[worker];
    separator();
    if (process_id_of(worker) != 0) {
      out << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" << pid << ",\"tid\":" << tid
          << ",\"args\":{\"name\":" << json_string(worker) << "}},\n";
    }
    out << "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" << pid << ",\"tid\":" << tid
        << ",\"args\":{\"name\":" << json_string(worker) << "}}";
  }
  for (const auto& task : ran) {
    const auto [pid, tid] = track[task.worker];
    separator();
    out << "{\"name\":\"task " << task.id << (task.killed.empty() ? "" : " (killed)")
        << "\",\"cat\":\"task\",\"ph\":\"X\",\"ts\":"
        << number(micros_since(origin_, task.started), 3)
        << ",\"dur\":" << number(Micros(task.finished - task.started).count(), 3)
        << ",\"pid\":" << pid << ",\"tid\":" << tid << ",\"args\":{\"id\":" << task.id
        << ",\"worker\":" << json_string(task.worker)
        << ",\"submitted_us\":" << number(micros_since(origin_, task.submitted), 3)
        << ",\"queued_us\":" << number(Micros(task.started - task.submitted).count(), 3);
    if (!task.killed.empty()) out << ",\"killed\":" << json_string(task.killed);
    out << "}}";
  }
  out << "\n]}\n";
}

void Timeline::write_svg(std::ostream& out, std::string_view title) const {
  const std::vector<Task> ran = tasks();
  const std::vector<std::string> workers = workers_of(ran);
  std::map<std::string, std::size_t, std::less<>> colour_of;
  for (std::size_t i = 0; i < workers.size(); ++i) colour_of[workers[i]] = i;

  // Layout: a plot area with task rows, the x axis below it, the legend to the right.
  const std::size_t rows = std::max<std::size_t>(ran.size(), 1);
  const double row_height = rows <= 40 ? 18.0 : std::max(2.0, 720.0 / static_cast<double>(rows));
  const double left = 70, top = 50, plot_width = 640, legend_width = 190;
  const double plot_height = row_height * static_cast<double>(rows);
  const double legend_height = 20.0 * static_cast<double>(workers.size() + 2);
  const double width = left + plot_width + 20 + legend_width;
  const double height = top + std::max(plot_height, legend_height) + 60;

  double span = 0;  // seconds, from origin to the last finish or submission
  for (const auto& task : ran) {
    span = std::max(span, Seconds(task.finished - origin_).count());
  }
  if (span <= 0) span = 1e-3;
  const double step = tick_step(span, 8);
  const double axis_end = std::ceil(span / step - 1e-9) * step;
  const auto x_of = [&](Clock::time_point t) {
    const double s = std::clamp(Seconds(t - origin_).count(), 0.0, axis_end);
    return left + plot_width * s / axis_end;
  };

  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << number(width, 0) << "\" height=\""
      << number(height, 0) << "\" viewBox=\"0 0 " << number(width, 0) << ' ' << number(height, 0)
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text class=\"title\" x=\"" << number(left, 1) << "\" y=\"28\" font-size=\"16\" "
      << "font-weight=\"bold\">" << xml_escape(title) << "</text>\n";

  // Vertical grid lines and x ticks.
  const int decimals = decimals_for(step);
  const int ticks = static_cast<int>(std::lround(axis_end / step));
  for (int i = 0; i <= ticks; ++i) {
    const double s = step * i;
    const double x = left + plot_width * s / axis_end;
    out << "<line class=\"grid\" x1=\"" << number(x, 1) << "\" y1=\"" << number(top, 1)
        << "\" x2=\"" << number(x, 1) << "\" y2=\"" << number(top + plot_height, 1)
        << "\" stroke=\"#e0e0e0\"/>\n";
    out << "<text class=\"xtick\" x=\"" << number(x, 1) << "\" y=\""
        << number(top + plot_height + 16, 1) << "\" text-anchor=\"middle\">" << number(s, decimals)
        << "</text>\n";
  }
  out << "<text x=\"" << number(left + plot_width / 2, 1) << "\" y=\""
      << number(top + plot_height + 38, 1) << "\" text-anchor=\"middle\">seconds</text>\n";
  out << "<text x=\"16\" y=\"" << number(top + plot_height / 2, 1)
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << number(top + plot_height / 2, 1)
      << ")\">task</text>\n";

  // Task rows: label every row when they fit, else about 20 labels.
  const std::size_t label_every = rows <= 40 ? 1 : (rows + 19) / 20;
  for (std::size_t row = 0; row < ran.size(); ++row) {
    const Task& task = ran[row];
    const double y = top + row_height * static_cast<double>(row);
    if (row % label_every == 0) {
      out << "<text class=\"ytick\" x=\"" << number(left - 6, 1) << "\" y=\""
          << number(y + row_height / 2 + 4, 1) << "\" text-anchor=\"end\">" << task.id
          << "</text>\n";
    }
    const double queued_from = x_of(task.submitted), start = x_of(task.started);
    if (start - queued_from >= 1) {
      out << "<line class=\"queued\" x1=\"" << number(queued_from, 2) << "\" y1=\""
          << number(y + row_height / 2, 2) << "\" x2=\"" << number(start, 2) << "\" y2=\""
          << number(y + row_height / 2, 2) << "\" stroke=\"#999999\" stroke-dasharray=\"2,2\"/>\n";
    }
    const double bar_width = std::max(1.0, x_of(task.finished) - start);
    const double pad = row_height >= 6 ? 2 : 0;
    out << "<rect class=\"task\" x=\"" << number(start, 2) << "\" y=\"" << number(y + pad / 2, 2)
        << "\" width=\"" << number(bar_width, 2) << "\" height=\"" << number(row_height - pad, 2)
        << "\" fill=\"" << kPalette[colour_of[task.worker] % std::size(kPalette)]
        << "\"><title>task " << task.id << " on " << xml_escape(task.worker) << ": "
        << number(Seconds(task.started - origin_).count(), 3) << " s to "
        << number(Seconds(task.finished - origin_).count(), 3) << " s"
        << (task.killed.empty() ? "" : ", ") << xml_escape(task.killed) << "</title></rect>\n";
    if (!task.killed.empty()) {
      // The bar ends in the kill: a black edge, and a cross just past it.
      const double end = start + bar_width, mid = y + row_height / 2, arm = (row_height - pad) / 3;
      out << "<path class=\"killed\" d=\"M" << number(end, 2) << ' ' << number(y + pad / 2, 2)
          << "V" << number(y + row_height - pad / 2, 2) << "M" << number(end + 2, 2) << ' '
          << number(mid - arm, 2) << "L" << number(end + 2 + 2 * arm, 2) << ' '
          << number(mid + arm, 2) << "M" << number(end + 2, 2) << ' ' << number(mid + arm, 2) << "L"
          << number(end + 2 + 2 * arm, 2) << ' ' << number(mid - arm, 2)
          << "\" stroke=\"black\" stroke-width=\"2\" fill=\"none\"/>\n";
    }
  }
  if (ran.empty()) {
    out << "<text x=\"" << number(left + plot_width / 2, 1) << "\" y=\""
        << number(top + row_height / 2 + 4, 1)
        << "\" text-anchor=\"middle\" fill=\"#666666\">no tasks ran</text>\n";
  }

  // Axes.
  out << "<line x1=\"" << number(left, 1) << "\" y1=\"" << number(top + plot_height, 1)
      << "\" x2=\"" << number(left + plot_width, 1) << "\" y2=\"" << number(top + plot_height, 1)
      << "\" stroke=\"black\"/>\n";
  out << "<line x1=\"" << number(left, 1) << "\" y1=\"" << number(top, 1) << "\" x2=\""
      << number(left, 1) << "\" y2=\"" << number(top + plot_height, 1) << "\" stroke=\"black\"/>\n";

  // Legend: one swatch per worker, then the queue line.
  const double lx = left + plot_width + 20;
  out << "<text x=\"" << number(lx, 1) << "\" y=\"" << number(top + 10, 1)
      << "\" font-weight=\"bold\">worker</text>\n";
  for (std::size_t i = 0; i < workers.size(); ++i) {
    const double y = top + 20 + 20.0 * static_cast<double>(i);
    out << "<rect class=\"legend\" x=\"" << number(lx, 1) << "\" y=\"" << number(y, 1)
        << "\" width=\"14\" height=\"14\" fill=\"" << kPalette[i % std::size(kPalette)] << "\"/>\n";
    out << "<text x=\"" << number(lx + 20, 1) << "\" y=\"" << number(y + 11, 1) << "\">"
        << xml_escape(workers[i]) << "</text>\n";
  }
  const double qy = top + 20 + 20.0 * static_cast<double>(workers.size()) + 7;
  out << "<line x1=\"" << number(lx, 1) << "\" y1=\"" << number(qy, 1) << "\" x2=\""
      << number(lx + 14, 1) << "\" y2=\"" << number(qy, 1)
      << "\" stroke=\"#999999\" stroke-dasharray=\"2,2\"/>\n";
  out << "<text x=\"" << number(lx + 20, 1) << "\" y=\"" << number(qy + 4, 1)
      << "\">waiting in queue</text>\n";
  out << "</svg>\n";
}

}  // namespace concurrent::futures
