// Cell formatting shared by the report's sections: a number or a dash, a ratio, a row
// looked up by what it measured.
#pragma once

#include <string>
#include <vector>

#include "runner/util.hpp"

namespace bench {

inline std::string cell(bool available, double v, int decimals = 3) {
  return available ? fixed(v, decimals) : "—";
}

template <class Row, class Pred>
const Row* find_row(const std::vector<Row>& rows, Pred pred) {
  for (const auto& row : rows) {
    if (pred(row)) return &row;
  }
  return nullptr;
}

// "× 12.3" style ratio, or "—".
inline std::string ratio(double a, double b) {
  if (!(a > 0) || !(b > 0)) return "—";
  const double x = a / b;
  return fixed(x, x >= 10 ? 0 : (x >= 1 ? 1 : 2)) + "×";
}

}  // namespace bench
