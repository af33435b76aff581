// Cooperative stop: a search split over four calls that take a std::stop_token; once one
// call finds the answer, the others are asked to stop and return early.
#include <concurrent/futures.hpp>

#include <cstdint>
#include <iostream>
#include <stop_token>
#include <vector>

namespace cf = concurrent::futures;

namespace {

// A bijective mix of 64 bits (splitmix64's finalizer): exactly one x has a given hash.
std::uint64_t mix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Outcome {
  bool found = false;
  std::uint64_t value = 0;
};

// Looks for the x in [begin, end) whose hash is `wanted`, checking its token as it goes.
Outcome search(std::stop_token stop, std::uint64_t begin, std::uint64_t end, std::uint64_t wanted) {
  for (std::uint64_t x = begin; x < end; ++x) {
    if (mix(x) == wanted) return {true, x};
    if (x % 4096 == 0 && stop.stop_requested()) break;
  }
  return {};
}

}  // namespace

int main() {
  constexpr std::uint64_t kSlice = 4'000'000'000;  // minutes of work per searcher
  const std::uint64_t wanted = mix(2 * kSlice + 12'345);

  cf::ThreadPoolExecutor pool(4);
  std::vector<cf::Future<Outcome>> searchers;
  for (std::uint64_t i = 0; i < 4; ++i) {
    searchers.push_back(pool.submit(search, i * kSlice, (i + 1) * kSlice, wanted));
  }
  for (const cf::Future<Outcome>& done : cf::as_completed(searchers)) {
    if (done.result().found) {
      for (const auto& searcher : searchers) searcher.request_stop();
      break;
    }
  }
  for (std::size_t i = 0; i < searchers.size(); ++i) {
    const Outcome& outcome = searchers[i].result();
    if (outcome.found) std::cout << "searcher " << i << " found " << outcome.value << "\n";
  }
  for (std::size_t i = 0; i < searchers.size(); ++i) {
    if (!searchers[i].result().found) std::cout << "searcher " << i << " stopped early\n";
  }
}
