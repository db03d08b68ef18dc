// A line chart as a standalone SVG file (no dependencies; browsers show it):
// linear x, logarithmic y, one polyline per series, labelled axes and a legend.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace sinkstream::app {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), y > 0
};

// x is linear unless log_x (then every x must be > 0); y is always logarithmic.
std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series, bool log_x = false);

}  // namespace sinkstream::app
