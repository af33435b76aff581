// REPORT.md's section 5, the micro-benchmarks: one function per table, each reading
// Google Benchmark's JSON (cf_micro_bench, process_pool_bench) beside its Python peer's.
#include <fmt/ostream.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "report/format.hpp"
#include "report/report.hpp"

namespace bench {

namespace {

using Entries = std::map<std::string, const Json*>;

// Google Benchmark's entries, keyed by run name without the /real_time-style suffixes:
// the median aggregate when there were repetitions, else the single run.
Entries bench_entries(const Json& root) {
  Entries entries;
  auto key_of = [](std::string name) {
    for (const char* suffix : {"/real_time", "/manual_time"}) {
      const auto pos = name.find(suffix);
      if (pos != std::string::npos) name.erase(pos, std::strlen(suffix));
    }
    const auto it = name.find("/iterations:");
    if (it != std::string::npos) {
      const auto end = name.find('/', it + 1);
      name.erase(it, end == std::string::npos ? std::string::npos : end - it);
    }
    return name;
  };
  for (const auto& b : root.at("benchmarks")) {
    const std::string aggregate = string_or(b, "aggregate_name", "");
    const std::string run_type = string_or(b, "run_type", "iteration");
    const std::string key = key_of(string_or(b, "run_name", string_or(b, "name", "")));
    if (aggregate == "median" || (run_type == "iteration" && !entries.count(key))) {
      entries[key] = &b;
    }
  }
  return entries;
}

Entries python_entries(const Json& root) {
  Entries entries;
  for (const auto& v : root.at("results")) entries[v.at("name").get<std::string>()] = &v;
  return entries;
}

// What the section's tables read: a field of a C++ entry or a Python result, -1 when
// it was not measured.
struct Micro {
  Entries cpp, process, py;
  bool pym = false;    // Python's micro.py ran
  bool judge = false;  // not the smoke scale: targets are judged

  static double field(const Entries& entries, const std::string& key, const char* name) {
    const auto it = entries.find(key);
    return it == entries.end() ? -1 : number_or(*it->second, name, -1);
  }
  double value(const std::string& key, const char* name) const { return field(cpp, key, name); }
  double process_value(const std::string& key, const char* name) const {
    return field(process, key, name);
  }
  double py_value(const std::string& key, const char* name = "value") const {
    return field(py, key, name);
  }
};

std::string rate(double per_s) { return per_s > 0 ? fixed(per_s / 1e6, 3) : std::string("—"); }
std::string ns(double s_per) { return s_per > 0 ? fixed(s_per * 1e9, 0) : std::string("—"); }
// v with `decimals` digits when it was measured, else a dash.
std::string measured(double v, int decimals) { return v > 0 ? fixed(v, decimals) : "—"; }
std::string faster(double slow, double fast) {
  return slow > 0 && fast > 0 ? ratio(slow, fast) + " faster" : "—";
}

// "12×, met": the ratio a / b against a goal it must reach (or, `at_most`, not exceed).
std::string verdict(double a, double b, double goal, bool at_most) {
  if (!(a > 0) || !(b > 0)) return "not measured";
  const bool met = at_most ? a / b <= goal : a / b >= goal;
  return fmt::format("{}, {}", ratio(a, b), met ? "met" : "MISSED");
}

void throughput_table(std::ostream& md, const Micro& m) {
  const bool pym = m.pym;
  fmt::print(md,
             "\n### Submit + result throughput (million calls per second)\n\n| workers | cf | "
             "cvpool | asio | tbb | async (1 thread per call) |{} cf / cvpool | cf / asio "
             "|\n|---:|---:|---:|---:|---:|---:|{}---:|---:|\n",
             pym ? " Python | cf / Python |" : "", pym ? "---:|---:|" : "");
  std::set<int> workers;
  for (const auto& [key, entry] : m.cpp) {
    if (key.rfind("throughput/cf/workers:", 0) == 0) workers.insert(std::stoi(key.substr(22)));
  }
  const double async_rate = m.value("throughput/async", "items_per_second");
  // The size where cf leads the best futures-based peer (cvpool, Asio) by the least.
  int closest_workers = 0;
  double closest_cf = -1;
  double closest_peer = -1;
  for (int w : workers) {
    const std::string suffix = fmt::format("/workers:{}", w);
    const double c = m.value("throughput/cf" + suffix, "items_per_second");
    const double cv = m.value("throughput/cvpool" + suffix, "items_per_second");
    const double as = m.value("throughput/asio" + suffix, "items_per_second");
    const double peer = std::max(cv, as);
    if (c > 0 && peer > 0 && (closest_cf < 0 || c / peer < closest_cf / closest_peer)) {
      closest_workers = w;
      closest_cf = c;
      closest_peer = peer;
    }
    const double tb = m.value("throughput/tbb" + suffix, "items_per_second");
    const double p = m.py_value(fmt::format("throughput/threads:{}", w));
    fmt::print(md, "| {} | {} | {} | {} | {} | {} |", w, rate(c), rate(cv), rate(as), rate(tb),
               rate(async_rate));
    if (pym) fmt::print(md, " {} | {} |", rate(p), ratio(c, p));
    fmt::print(md, " {} | {} |\n", ratio(c, cv), ratio(c, as));
  }
  const double c2 = m.value("throughput/cf/workers:2", "items_per_second");
  const double p2 = m.py_value("throughput/threads:2");
  if (!m.judge) return;
  fmt::print(md, "\nTarget (issue 2), 100,000 no-op calls on 2 workers: ≥ 1.5 M calls/s — {}",
             c2 < 0 ? "not measured"
                    : fmt::format("{} M/s, {}", rate(c2), c2 >= 1.5e6 ? "met" : "MISSED"));
  if (pym && c2 > 0 && p2 > 0) {
    fmt::print(md, "; ≥ 40× Python — {}", verdict(c2, p2, 40, false));
  }
  fmt::print(md, ".\n");
  const double c6 = m.value("throughput/cf/workers:6", "items_per_second");
  fmt::print(md,
             "\nTargets (issue 9): 6 workers ≥ 0.8× the 2-worker figure — {}; ≥ 1.5× the best "
             "futures-based peer (cvpool, asio) at every size — {}{}.\n",
             verdict(c6, c2, 0.8, false), verdict(closest_cf, closest_peer, 1.5, false),
             closest_cf > 0 ? fmt::format(" at {} workers, the closest", closest_workers) : "");
}

void latency_table(std::ostream& md, const Micro& m) {
  fmt::print(md,
             "\n### Round-trip latency on an idle pool (2 workers; µs)\n\nOne call, wait for its "
             "result, sleep 200 µs so the pool is idle again; the median and 99th percentile of "
             "the individual round trips.\n\n| library | median | p99 | median vs cf "
             "|\n|---|---:|---:|---:|\n");
  const double cf_p50 = m.value("latency/cf", "p50_us");
  for (const std::string lib : {"cf", "cvpool", "asio", "tbb", "async"}) {
    const double p50 = m.value("latency/" + lib, "p50_us");
    if (p50 < 0) continue;
    fmt::print(md, "| {} | {:.2f} | {:.2f} | {} |\n", lib, p50, m.value("latency/" + lib, "p99_us"),
               ratio(p50, cf_p50));
  }
  if (m.pym) {
    const double p50 = m.py_value("latency/thread_pool") * 1e6;
    fmt::print(md, "| Python ThreadPoolExecutor | {:.2f} | {:.2f} | {} |\n", p50,
               m.py_value("latency/thread_pool", "p99") * 1e6, ratio(p50, cf_p50));
  }
  const double cfp = m.process_value("latency/cf_process_pool", "p50_us");
  const double pyp = m.py_value("latency/process_pool") * 1e6;
  if (cfp > 0 || pyp > 0) {
    fmt::print(md,
               "\nThe process pools (1 worker): a round trip through a pipe to another "
               "process.\n\n| library | median | p99 |\n|---|---:|---:|\n");
    if (cfp > 0) {
      fmt::print(md, "| cf ProcessPoolExecutor | {:.2f} | {:.2f} |\n", cfp,
                 m.process_value("latency/cf_process_pool", "p99_us"));
    }
    if (pyp > 0) {
      fmt::print(md, "| Python ProcessPoolExecutor | {:.2f} | {:.2f} |\n", pyp,
                 m.py_value("latency/process_pool", "p99") * 1e6);
    }
    if (cfp > 0 && pyp > 0)
      fmt::print(md, "\ncf is {} faster than Python here.\n", ratio(pyp, cfp));
  }
  if (m.judge && cf_p50 > 0) {
    fmt::print(md, "\nTarget (issue 2): median ≤ 5 µs — {:.2f} µs, {}.\n", cf_p50,
               cf_p50 <= 5 ? "met" : "MISSED");
  }
}

void size_table(std::ostream& md, const Json& z) {
  const double bytes = z.at("cf_bytes").get<double>();
  fmt::print(md,
             "\n### Memory per pending call (bytes on the heap, `cf_future_size`)\n\n| what | "
             "bytes | allocations |\n|---|---:|---:|\n");
  fmt::print(md,
             "| cf: `submit()` of a no-op (future, shared state, work item, queue slot) | {:.1f} | "
             "{:.2f} |\n",
             bytes, z.at("cf_allocations").get<double>());
  if (z.contains("cf_token_bytes")) {
    fmt::print(md, "| cf: the same, of a call taking a `std::stop_token` | {:.1f} | {:.2f} |\n",
               z.at("cf_token_bytes").get<double>(), z.at("cf_token_allocations").get<double>());
    fmt::print(md, "| cf: the same, with a `CallOptions` timeout | {:.1f} | {:.2f} |\n",
               z.at("cf_timed_bytes").get<double>(), z.at("cf_timed_allocations").get<double>());
  }
  fmt::print(
      md, "| `std::packaged_task` in a `std::deque` (what cvpool stores) | {:.1f} | {:.2f} |\n",
      z.at("packaged_task_bytes").get<double>(), z.at("packaged_task_allocations").get<double>());
  fmt::print(md, "| `std::promise` + `std::future` alone | {:.1f} | {:.2f} |\n",
             z.at("promise_bytes").get<double>(), z.at("promise_allocations").get<double>());
  fmt::print(md,
             "\nTarget (issue 2): ≤ 192 bytes — {:.1f}, {} (the size does not depend on the "
             "scale).\n",
             bytes, bytes <= 192 ? "met" : "MISSED");
}

void map_table(std::ostream& md, const Micro& m) {
  const bool pym = m.pym;
  fmt::print(md,
             "\n### map() with a chunksize sweep (million calls per second, 2 workers)\n\ncf's "
             "thread pool makes a chunk one queue entry (Python's thread pool ignores "
             "chunksize); for the process pools a chunk is one message. Larger chunks amortise "
             "the hand-off.\n\n");
  fmt::print(md,
             "| chunksize | cf thread map | cf submit loop |{} cf process map "
             "|{}\n|---:|---:|---:|{}---:|{}\n",
             pym ? " Python thread map | cf / Python (threads) |" : "",
             pym ? " Python process map | cf / Python (processes) |" : "", pym ? "---:|---:|" : "",
             pym ? "---:|---:|" : "");
  const double loop = m.value("map/cf_submit_loop", "items_per_second");
  for (const auto& [key, entry] : m.cpp) {
    if (key.rfind("map/cf/chunksize:", 0) != 0) continue;
    const std::string c = key.substr(17);
    const double v = number_or(*entry, "items_per_second", -1);
    const double pv = m.process_value("map/cf_process_pool/chunksize:" + c, "items_per_second");
    fmt::print(md, "| {} | {} | {} |", c, rate(v), rate(loop));
    if (pym) {
      const double p = m.py_value("map/chunksize:" + c);
      fmt::print(md, " {} | {} |", rate(p), ratio(v, p));
    }
    fmt::print(md, " {} |", rate(pv));
    if (pym) {
      const double pp = m.py_value("map_process/chunksize:" + c);
      fmt::print(md, " {} | {} |", rate(pp), ratio(pv, pp));
    }
    fmt::print(md, "\n");
  }
  if (!m.judge) return;
  fmt::print(md, "\nTarget (issue 9): thread map, chunksize 1000 ≥ 10× chunksize 1 — {}.\n",
             verdict(m.value("map/cf/chunksize:1000", "items_per_second"),
                     m.value("map/cf/chunksize:1", "items_per_second"), 10, false));
}

void wait_table(std::ostream& md, const Micro& m) {
  const bool pym = m.pym;
  fmt::print(md,
             "\n### wait() and as_completed() over n futures (ns per future)\n\nAnother thread "
             "completes the futures in order while the caller waits. Linear cost shows as a flat "
             "column.\n\n| futures | cf wait | std::future wait each | cf as_completed "
             "|{}\n|---:|---:|---:|---:|{}\n",
             pym ? " Python wait | Python as_completed | cf / Python (wait) |" : "",
             pym ? "---:|---:|---:|" : "");
  std::set<long> sizes;
  for (const auto& [key, entry] : m.cpp) {
    if (key.rfind("wait/cf/futures:", 0) == 0) sizes.insert(std::stol(key.substr(16)));
  }
  for (long size : sizes) {
    const std::string suffix = fmt::format("/futures:{}", size);
    const double w = m.value("wait/cf" + suffix, "per_future");
    fmt::print(md, "| {} | {} | {} | {} |", size, ns(w),
               ns(m.value("wait/std" + suffix, "per_future")),
               ns(m.value("as_completed/cf" + suffix, "per_future")));
    if (pym) {
      const double pw = m.py_value(fmt::format("wait/{}", size));
      fmt::print(md, " {} | {} | {} |", ns(pw),
                 ns(m.py_value(fmt::format("as_completed/{}", size))), faster(pw, w));
    }
    fmt::print(md, "\n");
  }
}

void callback_table(std::ostream& md, const Micro& m) {
  const bool pym = m.pym;
  fmt::print(md,
             "\n### Done-callback overhead (ns per future: add the callbacks, then finish it)\n\n| "
             "callbacks | cf |{}\n|---:|---:|{}\n",
             pym ? " Python |" : "", pym ? "---:|" : "");
  for (int k : {0, 1}) {
    fmt::print(md, "| {} | {} |", k,
               ns(m.value(fmt::format("callback/cf/callbacks:{}", k), "per_future")));
    if (pym) fmt::print(md, " {} |", ns(m.py_value(fmt::format("callback/{}", k))));
    fmt::print(md, "\n");
  }
  const double c0 = m.value("callback/cf/callbacks:0", "per_future");
  const double c1 = m.value("callback/cf/callbacks:1", "per_future");
  if (c0 > 0 && c1 > 0) {
    fmt::print(md, "\nOne callback costs cf {:.0f} ns", (c1 - c0) * 1e9);
    if (pym) {
      fmt::print(md, "; Python {:.0f} ns",
                 (m.py_value("callback/1") - m.py_value("callback/0")) * 1e9);
    }
    fmt::print(md, ".\n");
  }
}

// Issue 9's targets for the process pool, each a ratio measured in one run: map and
// single submits against Python, the idle round trip against its floor, a blocking
// pipe ping-pong between two processes after the same 200 µs of quiet.
void process_pool_targets(std::ostream& md, const Micro& m, double map_cf, double map_py,
                          double submits_py) {
  const double pool = m.process_value("latency/cf_process_pool", "p50_us");
  const double pipe = m.process_value("latency/pipe_ping_pong", "p50_us");
  if (pool > 0 && pipe > 0) {
    fmt::print(md,
               "\nIdle round trip (200 µs of quiet before each call, median): the pool {:.1f} "
               "µs, a blocking pipe ping-pong between two processes {:.1f} µs, so {} the "
               "pipe.\n",
               pool, pipe, ratio(pool, pipe));
  }
  if (!m.judge) return;
  const double submits_cf = m.process_value("submit_then_results", "items_per_second");
  fmt::print(md,
             "\nTargets (issue 9): map over 1M ints, chunksize 1000, 2 workers ≥ 5× Python — "
             "{}; 20,000 single submits ≥ 20× Python — {}; idle round trip ≤ 3× the pipe "
             "ping-pong — {}.\n",
             verdict(map_cf, map_py, 5, false), verdict(submits_cf, submits_py, 20, false),
             verdict(pool, pipe, 3, true));
}

// process_pool_bench beside process_pool_peer.py.
void process_pool_table(std::ostream& md, const Micro& m, const Json* py) {
  auto py_number = [&](const char* key, const char* method = nullptr) -> double {
    if (!py) return -1;
    if (!method) return number_or(*py, key, -1);
    const auto it = py->find(key);
    return it == py->end() ? -1 : number_or(*it, method, -1);
  };
  fmt::print(md,
             "\n### Process pool (`process_pool_bench`, beside `process_pool_peer.py`)\n\n| "
             "workload | cf | Python | cf vs Python |\n|---|---:|---:|---:|\n");
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    const double c = m.process_value(fmt::format("round_trip/{}", method), "p50_us");
    const double p = py_number("round_trip_p50_us", method);
    fmt::print(md, "| round trip, {} (median µs) | {} | {} | {} |\n", method, measured(c, 1),
               measured(p, 1), faster(p, c));
  }
  {
    const double c = m.process_value("submit_then_results", "items_per_second");
    const double p = py_number("submit_then_results_tasks_per_s");
    fmt::print(md, "| submit then results (thousand calls/s) | {} | {} | {} |\n",
               measured(c / 1e3, 1), measured(p / 1e3, 1), ratio(c, p));
  }
  const double map_cf = m.process_value("map_chunked", "items_per_second");
  const double map_py = py_number("map_chunked_items_per_s");
  fmt::print(md, "| map, chunksize 1000 (million items/s) | {} | {} | {} |\n",
             measured(map_cf / 1e6, 2), measured(map_py / 1e6, 2), ratio(map_cf, map_py));
  // The ints' own bytes, 4 out and 4 back per item: the socket's share of the work.
  // Python pickles, so its bytes on the wire are others; its row above is the comparison.
  fmt::print(md, "| map, chunksize 1000 (MB/s of ints, both ways) | {} | — | — |\n",
             measured(m.process_value("map_chunked", "bytes_per_second") / 1e6, 1));
  for (const char* method : {"fork", "spawn", "forkserver"}) {
    const double c = m.process_value(fmt::format("start_to_first_result/{}", method), "real_time");
    const double p = py_number("start_to_first_result_ms", method);
    fmt::print(md, "| start to first result, {} (ms) | {} | {} | {} |\n", method, measured(c, 1),
               measured(p, 1), faster(p, c));
  }
  // Python's pool breaks at a crash: its cost is shutting it down and starting another.
  for (const char* method : {"spawn", "forkserver"}) {
    const double c = m.process_value(fmt::format("replacement/{}", method), "real_time");
    const double p = py_number("recreate_after_crash_ms", method);
    fmt::print(md,
               "| a crash to the next result, {} (ms; Python recreates its broken pool) | {} | "
               "{} | {} |\n",
               method, measured(c, 1), measured(p, 1), faster(p, c));
  }
  process_pool_targets(md, m, map_cf, map_py, py_number("submit_then_results_tasks_per_s"));
}

}  // namespace

void micro_section(std::ostream& md, const Config& config, const Results& r) {
  const Scale& s = config.scale;
  Micro m;
  m.judge = s.name != "smoke";
  if (r.process_micro) m.process = bench_entries(*r.process_micro);
  if (r.micro) {
    m.cpp = bench_entries(*r.micro);
    if (r.py_micro) m.py = python_entries(*r.py_micro);
    m.pym = r.py_micro.has_value();
    fmt::print(md,
               "\n## 5. Micro-benchmarks\n\nGoogle Benchmark, real time, the median of {} "
               "repetitions; every row of a table ran in the same run. Raw data: "
               "`micro_bench.json` (Google Benchmark), `micro_bench.txt`{}. Baselines: "
               "`std::async`, a plain mutex + condition-variable pool with `std::future` "
               "(cvpool), Boost.Asio `thread_pool` with `std::promise` (asio), oneTBB "
               "`task_group` (tbb: fire-and-forget, no result per call, so a lower bound), "
               "Python's `ThreadPoolExecutor`.\n",
               s.bench_reps, m.pym ? ", `python_micro.json`" : "");
    if (s.name == "smoke") {
      fmt::print(md,
                 "\n**Smoke scale: sizes too small for the numbers to mean anything; the "
                 "targets are judged at the quick or full scale only.**\n");
    }
    throughput_table(md, m);
    latency_table(md, m);
    if (r.future_size) size_table(md, *r.future_size);
    map_table(md, m);
    wait_table(md, m);
    callback_table(md, m);
  }
  if (r.process_micro) {
    process_pool_table(md, m, r.py_process_micro ? &*r.py_process_micro : nullptr);
  }
}

}  // namespace bench
