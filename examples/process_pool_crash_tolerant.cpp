// A legacy parser that segfaults on some inputs and hangs on others, run over 200 records
// in a pool that replaces a crashed worker: only the records that crash or overrun fail,
// every other record is parsed, and the pool keeps all its workers.
#include <chrono>
#include <concurrent/futures/process_pool.hpp>
#include <cstdio>
#include <thread>
#include <vector>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

// The legacy code: every 37th record makes it dereference a null pointer, and record -1
// makes it loop forever.
int parse_record(int record) {
  if (record < 0) {
    for (;;) std::this_thread::sleep_for(1s);
  }
  if (record % 37 == 0) {
    volatile int* volatile bad = nullptr;
    *bad = record;
  }
  return 2 * record;
}

int main() {
  cf::ProcessPoolExecutor pool({.max_workers = 2, .on_worker_death = cf::OnWorkerDeath::replace});
  std::vector<cf::Future<int>> parsed;
  parsed.reserve(200);
  for (int record = 0; record < 200; ++record) parsed.push_back(pool.submit(parse_record, record));
  // A record that may hang gets a bound on its run (counted from when it starts).
  cf::Future<int> hanging = pool.submit({.timeout = 200ms}, parse_record, -1);

  int ok = 0;
  std::vector<int> crashed;
  for (int record = 0; record < 200; ++record) {
    try {
      if (parsed[record].result() == 2 * record) ++ok;
    } catch (const cf::WorkerDied& e) {
      if (crashed.empty()) std::printf("record %d: %s\n", record, e.what());
      crashed.push_back(record);
    }
  }
  std::printf("%d records parsed, %zu crashed their worker:", ok, crashed.size());
  for (int record : crashed) std::printf(" %d", record);
  std::printf("\n");
  try {
    (void)hanging.result();
  } catch (const cf::TimeoutError& e) {
    std::printf("record -1: %s\n", e.what());
  }
  const int one = pool.submit(parse_record, 1).result();
  std::printf("the pool still has %zu workers: %d\n", pool.worker_pids().size(), one);
}
