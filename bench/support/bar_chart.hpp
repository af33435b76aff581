// A grouped bar chart as SVG, for the runner's per-setting averages (the Gantt charts
// come from cf::Timeline::write_svg). No third-party plotting: plain SVG text.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

namespace bench {

struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> groups;  // along x
  std::vector<std::string> series;  // one bar per series in each group (legend)
  // values[s][g]; a negative value means "no data" and draws no bar.
  std::vector<std::vector<double>> values;

  void write_svg(std::ostream& out) const {
    static constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                               "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
    const double left = 70, top = 50, plot_w = 560, plot_h = 280, legend_w = 200;
    const double width = left + plot_w + 20 + legend_w, height = top + plot_h + 60;
    double max_v = 0;
    for (const auto& row : values)
      for (double v : row) max_v = std::max(max_v, v);
    if (max_v <= 0) max_v = 1;
    const double raw = max_v / 5, power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * power;
    for (double m : {1.0, 2.0, 5.0}) {
      if (raw <= m * power) {
        step = m * power;
        break;
      }
    }
    const double axis_max = std::ceil(max_v / step - 1e-9) * step;
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    auto num = [](double v, int d) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*f", d, v);
      return std::string(buf);
    };
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width, 0) << "\" height=\""
        << num(height, 0) << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << num(left, 0) << "\" y=\"28\" font-size=\"16\" font-weight=\"bold\">"
        << title << "</text>\n";
    for (int i = 0; i * step <= axis_max + 1e-12; ++i) {
      const double y = top + plot_h - plot_h * (i * step) / axis_max;
      out << "<line x1=\"" << num(left, 1) << "\" y1=\"" << num(y, 1) << "\" x2=\""
          << num(left + plot_w, 1) << "\" y2=\"" << num(y, 1) << "\" stroke=\"#e0e0e0\"/>\n"
          << "<text x=\"" << num(left - 6, 1) << "\" y=\"" << num(y + 4, 1)
          << "\" text-anchor=\"end\">" << num(i * step, decimals) << "</text>\n";
    }
    const double group_w = plot_w / static_cast<double>(std::max<std::size_t>(groups.size(), 1));
    const double bar_w =
        group_w * 0.8 / static_cast<double>(std::max<std::size_t>(series.size(), 1));
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const double gx = left + group_w * static_cast<double>(g);
      for (std::size_t s = 0; s < series.size(); ++s) {
        const double v = s < values.size() && g < values[s].size() ? values[s][g] : -1;
        if (v < 0) continue;
        const double h = plot_h * v / axis_max;
        out << "<rect x=\"" << num(gx + group_w * 0.1 + bar_w * static_cast<double>(s), 2)
            << "\" y=\"" << num(top + plot_h - h, 2) << "\" width=\"" << num(bar_w - 1, 2)
            << "\" height=\"" << num(h, 2) << "\" fill=\"" << kPalette[s % 8] << "\"><title>"
            << series[s] << ", " << groups[g] << ": " << num(v, 4) << "</title></rect>\n";
      }
      out << "<text x=\"" << num(gx + group_w / 2, 1) << "\" y=\"" << num(top + plot_h + 16, 1)
          << "\" text-anchor=\"middle\">" << groups[g] << "</text>\n";
    }
    out << "<line x1=\"" << num(left, 1) << "\" y1=\"" << num(top + plot_h, 1) << "\" x2=\""
        << num(left + plot_w, 1) << "\" y2=\"" << num(top + plot_h, 1) << "\" stroke=\"black\"/>\n"
        << "<line x1=\"" << num(left, 1) << "\" y1=\"" << num(top, 1) << "\" x2=\"" << num(left, 1)
        << "\" y2=\"" << num(top + plot_h, 1) << "\" stroke=\"black\"/>\n"
        << "<text x=\"" << num(left + plot_w / 2, 1) << "\" y=\"" << num(top + plot_h + 38, 1)
        << "\" text-anchor=\"middle\">workers</text>\n"
        << "<text x=\"16\" y=\"" << num(top + plot_h / 2, 1)
        << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << num(top + plot_h / 2, 1)
        << ")\">" << y_label << "</text>\n";
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double y = top + 20.0 * static_cast<double>(s);
      out << "<rect x=\"" << num(left + plot_w + 20, 1) << "\" y=\"" << num(y, 1)
          << "\" width=\"14\" height=\"14\" fill=\"" << kPalette[s % 8] << "\"/>\n"
          << "<text x=\"" << num(left + plot_w + 40, 1) << "\" y=\"" << num(y + 11, 1) << "\">"
          << series[s] << "</text>\n";
    }
    out << "</svg>\n";
  }
};

}  // namespace bench
