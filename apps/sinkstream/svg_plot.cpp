#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>


namespace sinkstream::app {
namespace {

constexpr double kW = 820, kH = 500, kLeft = 80, kRight = 170, kTop = 50, kBottom = 60;
const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  std::snprintf(b, sizeof b, v >= 1e6 ? "%.3gM" : v >= 1e4 ? "%.3gk" : "%.4g", v >= 1e6 ? v / 1e6 : v >= 1e4 ? v / 1e3 : v);
  return b;
}

}  // namespace

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series, bool log_x) {
  double x_min = INFINITY, x_max = 1, y_min = INFINITY, y_max = 0;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      x_max = std::max(x_max, x);
      if (x > 0) x_min = std::min(x_min, x);
      if (y > 0 && std::isfinite(y)) y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  if (!(y_max > 0)) y_min = 1, y_max = 10;
  const double ly0 = std::floor(std::log10(y_min)), ly1 = std::max(ly0 + 1, std::ceil(std::log10(y_max)));
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const double lx0 = std::floor(std::log10(std::isfinite(x_min) ? x_min : 1.0));
  const double lx1 = std::max(lx0 + 1, std::ceil(std::log10(x_max)));
  const auto px = [&](double x) {
    return kLeft + (log_x ? (std::log10(std::max(x, 1e-300)) - lx0) / (lx1 - lx0) : x / x_max) * pw;
  };
  const auto py = [&](double y) { return kTop + ph - (std::log10(y) - ly0) / (ly1 - ly0) * ph; };

  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  num(kW) + "\" height=\"" + num(kH) + "\" font-family=\"sans-serif\" font-size=\"13\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + num(kW / 2) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">" + esc(title) + "</text>\n";
  // Grid and ticks: every power of ten on y (plus 2x and 5x), five steps on x.
  for (double e = ly0; e <= ly1; ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      const double y = m * std::pow(10.0, e);
      if (std::log10(y) > ly1 + 1e-9) continue;
      o += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + pw) + "\" y1=\"" + num(py(y)) + "\" y2=\"" +
           num(py(y)) + "\" stroke=\"" + (m == 1 ? "#bbb" : "#eee") + "\"/>\n";
      o += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(py(y) + 4) + "\" text-anchor=\"end\">" + tick_label(y) +
           "</text>\n";
    }
  const int x_ticks = log_x ? static_cast<int>(lx1 - lx0) : 5;
  for (int i = 0; i <= x_ticks; ++i) {
    const double x = log_x ? std::pow(10.0, lx0 + i) : x_max * i / 5;
    o += "<line x1=\"" + num(px(x)) + "\" x2=\"" + num(px(x)) + "\" y1=\"" + num(kTop) + "\" y2=\"" + num(kTop + ph) +
         "\" stroke=\"#eee\"/>\n";
    o += "<text x=\"" + num(px(x)) + "\" y=\"" + num(kTop + ph + 18) + "\" text-anchor=\"middle\">" + tick_label(x) +
         "</text>\n";
  }
  o += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"" + num(kLeft + pw / 2) + "\" y=\"" + num(kH - 15) + "\" text-anchor=\"middle\">" + esc(x_label) +
       "</text>\n";
  o += "<text transform=\"translate(20," + num(kTop + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       esc(y_label) + "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    std::string pts;
    for (auto [x, y] : series[i].points)
      if (y > 0 && std::isfinite(y) && (!log_x || x > 0)) pts += num(px(x)) + "," + num(py(y)) + " ";
    o += "<polyline class=\"series\" data-name=\"" + esc(series[i].name) + "\" fill=\"none\" stroke=\"" + color +
         "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
    const double ly = kTop + 10 + 22.0 * static_cast<double>(i);
    o += "<line x1=\"" + num(kW - kRight + 15) + "\" x2=\"" + num(kW - kRight + 40) + "\" y1=\"" + num(ly) +
         "\" y2=\"" + num(ly) + "\" stroke=\"" + color + "\" stroke-width=\"3\"/>\n";
    o += "<text x=\"" + num(kW - kRight + 46) + "\" y=\"" + num(ly + 4) + "\">" + esc(series[i].name) + "</text>\n";
  }
  return o + "</svg>\n";
}

namespace {
std::string heat_colour(double v) {
  v = std::clamp(v, 0.0, 1.0);
  char b[16];
  std::snprintf(b, sizeof b, "#%02x%02x%02x", 255, static_cast<int>(255 - 200 * v), static_cast<int>(255 - 230 * v));
  return b;
}
}  // namespace

std::string svg_heatmap(const std::string& title, const std::string& row_label, const std::string& col_label,
                        uint32_t rows, uint32_t cols, const std::vector<double>& values) {
  const double cell = std::clamp(600.0 / std::max(rows, cols), 12.0, 48.0);
  const double left = 90, top = 60, w = left + cell * cols + 120, h = top + cell * rows + 60;
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  num(w) + "\" height=\"" + num(h) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + num(w / 2) + "\" y=\"26\" text-anchor=\"middle\" font-size=\"15\">" + esc(title) + "</text>\n";
  for (uint32_t r = 0; r < rows; ++r) {
    o += "<text x=\"" + num(left - 6) + "\" y=\"" + num(top + cell * (r + 0.5) + 4) + "\" text-anchor=\"end\">" +
         std::to_string(r) + "</text>\n";
    for (uint32_t c = 0; c < cols; ++c) {
      const double v = values[uint64_t{r} * cols + c];
      o += "<rect class=\"cell\" x=\"" + num(left + cell * c) + "\" y=\"" + num(top + cell * r) + "\" width=\"" +
           num(cell) + "\" height=\"" + num(cell) + "\" fill=\"" + heat_colour(v) + "\" stroke=\"#ddd\"><title>" +
           row_label + " " + std::to_string(r) + ", " + col_label + " " + std::to_string(c) + ": " + num(v * 100) +
           "%</title></rect>\n";
      if (cell >= 26)
        o += "<text x=\"" + num(left + cell * (c + 0.5)) + "\" y=\"" + num(top + cell * (r + 0.5) + 4) +
             "\" text-anchor=\"middle\" font-size=\"10\">" + std::to_string(static_cast<int>(std::lround(v * 100))) +
             "</text>\n";
    }
  }
  for (uint32_t c = 0; c < cols; ++c)
    o += "<text x=\"" + num(left + cell * (c + 0.5)) + "\" y=\"" + num(top - 6) + "\" text-anchor=\"middle\">" +
         std::to_string(c) + "</text>\n";
  o += "<text x=\"" + num(left + cell * cols / 2) + "\" y=\"" + num(top + cell * rows + 30) +
       "\" text-anchor=\"middle\">" + esc(col_label) + "</text>\n";
  o += "<text transform=\"translate(24," + num(top + cell * rows / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       esc(row_label) + "</text>\n";
  const double sx = left + cell * cols + 30;
  for (int i = 0; i <= 10; ++i)
    o += "<rect x=\"" + num(sx) + "\" y=\"" + num(top + 16.0 * (10 - i)) + "\" width=\"20\" height=\"16\" fill=\"" +
         heat_colour(i / 10.0) + "\"/>\n";
  o += "<text x=\"" + num(sx + 26) + "\" y=\"" + num(top + 12) + "\">100%</text>\n<text x=\"" + num(sx + 26) +
       "\" y=\"" + num(top + 172) + "\">0%</text>\n";
  return o + "</svg>\n";
}

}  // namespace sinkstream::app
