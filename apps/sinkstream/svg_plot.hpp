// Charts as standalone SVG files (no dependencies; browsers show them). Every
// text is sized to fit the view box (long titles are shortened, the legend
// column is as wide as its longest name), ticks fall on round numbers
// (1, 2, 5 x 10^k) and series of few points are drawn with markers.
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

// A model's name for a chart title: its file name, not the path it was read from.
std::string display_name(const std::string& path);

// x is linear unless log_x (then every x must be > 0); y is always logarithmic.
// A series of one point is drawn as a marker alone.
std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series, bool log_x = false);

// A grid of values in [0, 1] (rows x cols, row-major), white to dark red, with
// the value printed in each cell and a colour scale.
std::string svg_heatmap(const std::string& title, const std::string& row_label, const std::string& col_label,
                        uint32_t rows, uint32_t cols, const std::vector<double>& values);

// Round tick values covering [lo, hi] with about `target` steps of 1, 2 or 5 x 10^k.
std::vector<double> nice_ticks(double lo, double hi, int target);

}  // namespace sinkstream::app
