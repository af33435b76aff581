// Apply a function to every element of one or more inputs, results in input order.
// Shows map(), zipping two inputs, and MapOptions with a timeout.
#include <chrono>
#include <concurrent/futures.hpp>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

int main() {
  cf::ThreadPoolExecutor pool(4);

  // Later inputs finish first, yet the results come back in input order.
  std::vector<int> delays_ms{40, 30, 20, 10};
  for (int ms : pool.map(
           [](int delay) {
             std::this_thread::sleep_for(std::chrono::milliseconds(delay));
             return delay;
           },
           delays_ms)) {
    std::printf("%d ", ms);
  }
  std::puts("(input order)");

  // Several inputs are zipped; the shortest one ends the map.
  std::vector<std::string> names{"ada", "grace", "linus"};
  std::vector<int> years{1815, 1906};
  for (const std::string& line : pool.map(
           cf::MapOptions{.timeout = 30s},
           [](const std::string&name, int year) { return name + " " + std::to_string(year); },
           names, years)) {
    std::printf("%s\n", line.c_str());
  }
}
