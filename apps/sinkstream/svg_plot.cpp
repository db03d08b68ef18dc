#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace sinkstream::app {
namespace {

// Text widths are estimated at 0.6 em per character (a generous average for
// sans-serif), which is what keeps titles and legends inside the view box.
constexpr double kEm = 0.6;
constexpr double kFont = 13, kTitleFont = 16;
constexpr double kPlotW = 560, kH = 500, kLeft = 80, kTop = 50, kBottom = 60;
constexpr size_t kMarkersUpTo = 40;  // series with more points are lines alone
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

size_t chars(const std::string& s) {  // code points of UTF-8 text
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

double text_width(const std::string& s, double font) { return static_cast<double>(chars(s)) * font * kEm; }

// The text, shortened in the middle with an ellipsis until it fits `width`.
std::string fit(std::string s, double font, double width) {
  if (text_width(s, font) <= width) return s;
  const size_t keep = static_cast<size_t>(std::max(4.0, width / (font * kEm))) - 1;
  size_t head = keep / 2, tail = keep - head;
  while (head > 0 && (s[head] & 0xC0) == 0x80) --head;  // cut between code points
  size_t from = s.size() - std::min(tail, s.size());
  while (from < s.size() && (s[from] & 0xC0) == 0x80) ++from;
  return s.substr(0, head) + "\xE2\x80\xA6" + s.substr(from);
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  const double a = std::abs(v);
  std::snprintf(b, sizeof b, a >= 1e6 ? "%.3gM" : a >= 1e4 ? "%.3gk" : "%.4g", a >= 1e6 ? v / 1e6 : a >= 1e4 ? v / 1e3 : v);
  return b;
}

std::string svg_open(double w, double h, double font) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w) +
         "\" height=\"" + num(h) + "\" viewBox=\"0 0 " + num(w) + " " + num(h) +
         "\" font-family=\"sans-serif\" font-size=\"" + num(font) + "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
}

std::string text(double x, double y, const std::string& s, const char* anchor, double font = 0) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" +
         (font > 0 ? " font-size=\"" + num(font) + "\"" : std::string()) + ">" + esc(s) + "</text>\n";
}

std::string hline(double x1, double x2, double y, const char* stroke) {
  return "<line x1=\"" + num(x1) + "\" x2=\"" + num(x2) + "\" y1=\"" + num(y) + "\" y2=\"" + num(y) + "\" stroke=\"" +
         stroke + "\"/>\n";
}

std::string vline(double x, double y1, double y2, const char* stroke) {
  return "<line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(y1) + "\" y2=\"" + num(y2) + "\" stroke=\"" +
         stroke + "\"/>\n";
}

// The axes of a line chart: where values go, and the ticks to draw.
struct Axes {
  bool log_x;
  double x_lo, x_hi, ly0, ly1;  // x range (log10 when log_x), log10 y range
  std::vector<double> x_ticks, y_ticks;

  double px(double x) const {
    const double v = log_x ? std::log10(std::max(x, 1e-300)) : x;
    return kLeft + (v - x_lo) / (x_hi - x_lo) * kPlotW;
  }
  double py(double y) const { return kTop + (kH - kTop - kBottom) * (1 - (std::log10(y) - ly0) / (ly1 - ly0)); }
};

Axes make_axes(const std::vector<Series>& series, bool log_x) {
  double x_min = INFINITY, x_max = 0, y_min = INFINITY, y_max = 0;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      x_max = std::max(x_max, x);
      if (x > 0) x_min = std::min(x_min, x);
      if (y > 0 && std::isfinite(y)) y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  if (!(y_max > 0)) y_min = 1, y_max = 10;
  if (!(x_max > 0)) x_max = 1;
  Axes a{log_x, 0, 0, std::floor(std::log10(y_min)), 0, {}, {}};
  a.ly1 = std::max(a.ly0 + 1, std::ceil(std::log10(y_max)));
  for (double e = a.ly0; e <= a.ly1; ++e)
    for (double m : {1.0, 2.0, 5.0})
      if (std::log10(m) + e <= a.ly1 + 1e-9) a.y_ticks.push_back(m * std::pow(10.0, e));
  if (log_x) {
    a.x_lo = std::floor(std::log10(std::isfinite(x_min) ? x_min : 1.0));
    a.x_hi = std::max(a.x_lo + 1, std::ceil(std::log10(x_max)));
    const bool few = a.x_hi - a.x_lo <= 2;  // two decades or less: 2 and 5 as well
    for (double e = a.x_lo; e <= a.x_hi; ++e)
      for (double m : {1.0, 2.0, 5.0})
        if ((m == 1 || few) && std::log10(m) + e <= a.x_hi + 1e-9) a.x_ticks.push_back(m * std::pow(10.0, e));
  } else {
    a.x_ticks = nice_ticks(0, x_max, 5);
    a.x_hi = a.x_ticks.back();
  }
  return a;
}

std::string grid(const Axes& a, double x_right) {
  std::string o;
  const double bottom = kH - kBottom;
  for (double y : a.y_ticks) {
    const bool decade = std::abs(std::log10(y) - std::round(std::log10(y))) < 1e-9;
    o += hline(kLeft, x_right, a.py(y), decade ? "#bbb" : "#eee");
    o += text(kLeft - 6, a.py(y) + 4, tick_label(y), "end");
  }
  for (double x : a.x_ticks) {
    o += vline(a.px(x), kTop, bottom, "#eee");
    o += "<text class=\"xtick\" x=\"" + num(a.px(x)) + "\" y=\"" + num(bottom + 18) + "\" text-anchor=\"middle\">" +
         tick_label(x) + "</text>\n";
  }
  return o;
}

std::string plot_series(const Axes& a, const Series& s, const char* color) {
  std::string pts, marks;
  size_t n = 0;
  for (auto [x, y] : s.points) {
    if (!(y > 0 && std::isfinite(y)) || (a.log_x && x <= 0)) continue;
    pts += num(a.px(x)) + "," + num(a.py(y)) + " ";
    marks += "<circle class=\"marker\" cx=\"" + num(a.px(x)) + "\" cy=\"" + num(a.py(y)) + "\" r=\"3.5\" fill=\"" +
             color + "\"/>\n";
    ++n;
  }
  std::string o = "<polyline class=\"series\" data-name=\"" + esc(s.name) + "\" fill=\"none\" stroke=\"" + color +
                  "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
  return o + (n <= kMarkersUpTo ? marks : "");
}

}  // namespace

std::string display_name(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  return name.empty() ? path : name;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(target, 1);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * p;
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw * (1 - 1e-9)) {
      step = m * p;
      break;
    }
  std::vector<double> t;
  for (double v = std::floor(lo / step) * step; v < hi + step * (1 - 1e-9); v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series, bool log_x) {
  double legend = 0;
  for (const auto& s : series) legend = std::max(legend, text_width(s.name, kFont));
  const double legend_x = kLeft + kPlotW + 20, w = legend_x + 46 + legend + 12, ph = kH - kTop - kBottom;
  const Axes a = make_axes(series, log_x);
  std::string o = svg_open(w, kH, kFont);
  o += text(w / 2, 28, fit(title, kTitleFont, w - 20), "middle", kTitleFont);
  o += grid(a, kLeft + kPlotW);
  o += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(kPlotW) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"black\"/>\n";
  o += text(kLeft + kPlotW / 2, kH - 15, x_label, "middle");
  o += "<text transform=\"translate(20," + num(kTop + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       esc(y_label) + "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    o += plot_series(a, series[i], color);
    const double ly = kTop + 10 + 22.0 * static_cast<double>(i);
    o += "<line x1=\"" + num(legend_x) + "\" x2=\"" + num(legend_x + 25) + "\" y1=\"" + num(ly) + "\" y2=\"" +
         num(ly) + "\" stroke=\"" + color + "\" stroke-width=\"3\"/>\n";
    if (series[i].points.size() <= kMarkersUpTo)  // the legend shows the marker the chart uses
      o += "<circle cx=\"" + num(legend_x + 12.5) + "\" cy=\"" + num(ly) + "\" r=\"3.5\" fill=\"" + color + "\"/>\n";
    o += text(legend_x + 31, ly + 4, series[i].name, "start");
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

std::string heat_cells(uint32_t rows, uint32_t cols, const std::vector<double>& values, double left, double top,
                       double cell, const std::string& row_label, const std::string& col_label) {
  std::string o;
  for (uint32_t r = 0; r < rows; ++r) {
    o += text(left - 6, top + cell * (r + 0.5) + 4, std::to_string(r), "end");
    for (uint32_t c = 0; c < cols; ++c) {
      const double v = values[uint64_t{r} * cols + c];
      o += "<rect class=\"cell\" x=\"" + num(left + cell * c) + "\" y=\"" + num(top + cell * r) + "\" width=\"" +
           num(cell) + "\" height=\"" + num(cell) + "\" fill=\"" + heat_colour(v) + "\" stroke=\"#ddd\"><title>" +
           esc(row_label) + " " + std::to_string(r) + ", " + esc(col_label) + " " + std::to_string(c) + ": " +
           num(v * 100) + "%</title></rect>\n";
      if (cell >= 26)
        o += text(left + cell * (c + 0.5), top + cell * (r + 0.5) + 4,
                  std::to_string(static_cast<int>(std::lround(v * 100))), "middle", 10);
    }
  }
  for (uint32_t c = 0; c < cols; ++c) o += text(left + cell * (c + 0.5), top - 6, std::to_string(c), "middle");
  return o;
}
}  // namespace

std::string svg_heatmap(const std::string& title, const std::string& row_label, const std::string& col_label,
                        uint32_t rows, uint32_t cols, const std::vector<double>& values) {
  const double cell = std::clamp(600.0 / std::max(rows, cols), 12.0, 48.0);
  const double left = 90, top = 60, grid_w = left + cell * cols + 120, h = top + std::max(cell * rows, 180.0) + 60;
  // As wide as the title needs, up to 900 px; a longer title is shortened.
  const double w = std::max(grid_w, std::min(text_width(title, 15) + 20, 900.0));
  std::string o = svg_open(w, h, 12);
  o += text(w / 2, 26, fit(title, 15, w - 20), "middle", 15);
  o += heat_cells(rows, cols, values, left, top, cell, row_label, col_label);
  o += text(left + cell * cols / 2, top + cell * rows + 30, col_label, "middle");
  o += "<text transform=\"translate(24," + num(top + cell * rows / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       esc(row_label) + "</text>\n";
  const double sx = left + cell * cols + 30;
  for (int i = 0; i <= 10; ++i)
    o += "<rect x=\"" + num(sx) + "\" y=\"" + num(top + 16.0 * (10 - i)) + "\" width=\"20\" height=\"16\" fill=\"" +
         heat_colour(i / 10.0) + "\"/>\n";
  o += text(sx + 26, top + 12, "100%", "start") + text(sx + 26, top + 172, "0%", "start");
  return o + "</svg>\n";
}

}  // namespace sinkstream::app
