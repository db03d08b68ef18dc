// A line chart as a standalone SVG file (no dependencies; browsers show it):
// linear x, logarithmic y, one polyline per series, labelled axes and a legend.
#pragma once
#include <cstdint>
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

// A grid of values in [0, 1] (rows x cols, row-major), white to dark red, with
// the value printed in each cell and a colour scale.
std::string svg_heatmap(const std::string& title, const std::string& row_label, const std::string& col_label,
                        uint32_t rows, uint32_t cols, const std::vector<double>& values);

}  // namespace sinkstream::app
