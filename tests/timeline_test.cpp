// Tests for Timeline: recording, the Chrome trace-event JSON (read back with
// nlohmann-json) and the SVG Gantt chart.
#include "concurrent/futures/timeline.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "concurrent/futures/thread_pool.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string trace_of(const cf::Timeline& timeline) {
  std::ostringstream out;
  timeline.write_chrome_trace(out);
  return out.str();
}

// The trace, parsed (nlohmann-json is strict: a trace that is not JSON fails the test).
nlohmann::json parse_trace(const std::string& text) {
  nlohmann::json trace = nlohmann::json::parse(text);
  EXPECT_TRUE(trace.at("traceEvents").is_array()) << text;
  return trace;
}

// The trace's events of phase `ph` ("X" complete, "M" metadata), optionally only those
// named `name`.
std::vector<nlohmann::json> events(const nlohmann::json& trace, const std::string& ph,
                                   const std::string& name = "") {
  std::vector<nlohmann::json> out;
  for (const auto& e : trace.at("traceEvents")) {
    if (e.at("ph") == ph && (name.empty() || e.at("name") == name)) out.push_back(e);
  }
  return out;
}

std::string svg_of(const cf::Timeline& timeline, std::string_view title) {
  std::ostringstream out;
  timeline.write_svg(out, title);
  return out.str();
}

// A timeline with three tasks on two workers, at known times; task 3 never runs.
std::shared_ptr<cf::Timeline> canned() {
  const auto origin = cf::Timeline::Clock::now();
  auto timeline = std::make_shared<cf::Timeline>(origin);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(timeline->on_submit(), static_cast<std::uint64_t>(i));
  timeline->on_run(0, "ThreadPool-1_0", origin + 100ms, origin + 1100ms);
  timeline->on_run(1, "ThreadPool-1_1", origin + 200ms, origin + 700ms);
  timeline->on_run(2, "ThreadPool-1_0", origin + 1100ms, origin + 2500ms);
  return timeline;
}

TEST(TimelineTest, RecordsOnlyTasksThatRan) {
  auto timeline = canned();
  const auto tasks = timeline->tasks();
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].id, 0u);
  EXPECT_EQ(tasks[2].id, 2u);
  EXPECT_EQ(tasks[1].worker, "ThreadPool-1_1");
  EXPECT_EQ(tasks[2].finished - tasks[2].started, 1400ms);
  EXPECT_LE(tasks[0].submitted, tasks[0].started);
}

TEST(TimelineTest, IgnoresUnknownIdsAndClampsBackwardsTimes) {
  cf::Timeline timeline;
  timeline.on_run(7, "nobody", cf::Timeline::Clock::now(), cf::Timeline::Clock::now());
  EXPECT_TRUE(timeline.tasks().empty());
  const auto id = timeline.on_submit();
  const auto t = cf::Timeline::Clock::now();
  timeline.on_run(id, "w", t, t - 1s);
  ASSERT_EQ(timeline.tasks().size(), 1u);
  EXPECT_EQ(timeline.tasks()[0].finished, t);
}

TEST(TimelineTest, ChromeTraceIsValidJsonWithOneCompleteEventPerTask) {
  const auto trace = parse_trace(trace_of(*canned()));
  const auto tasks = events(trace, "X");
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(events(trace, "M", "thread_name").size(), 2u);  // one track per worker
  // Microseconds since the origin, each task on its worker's track.
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& e : tasks) by_name[e.at("name").get<std::string>()] = e;
  ASSERT_EQ(by_name.count("task 0") + by_name.count("task 1") + by_name.count("task 2"), 3u);
  EXPECT_DOUBLE_EQ(by_name["task 0"].at("ts").get<double>(), 100000.0);
  EXPECT_DOUBLE_EQ(by_name["task 0"].at("dur").get<double>(), 1000000.0);
  EXPECT_DOUBLE_EQ(by_name["task 2"].at("ts").get<double>(), 1100000.0);
  EXPECT_DOUBLE_EQ(by_name["task 2"].at("dur").get<double>(), 1400000.0);
  EXPECT_EQ(by_name["task 0"].at("tid"), by_name["task 2"].at("tid"));  // one worker
  EXPECT_NE(by_name["task 0"].at("tid"), by_name["task 1"].at("tid"));
  EXPECT_EQ(by_name["task 1"].at("args").at("worker"), "ThreadPool-1_1");
}

TEST(TimelineTest, ProcessWorkersGetTheirOwnPid) {
  const auto origin = cf::Timeline::Clock::now();
  cf::Timeline timeline(origin);
  timeline.on_run(timeline.on_submit(), "pid 4242", origin, origin + 1ms);
  timeline.on_run(timeline.on_submit(), "pid 4343", origin, origin + 1ms);
  const auto trace = parse_trace(trace_of(timeline));
  std::set<std::pair<int, int>> tracks;
  for (const auto& e : events(trace, "X"))
    tracks.emplace(e.at("pid").get<int>(), e.at("tid").get<int>());
  EXPECT_EQ(tracks, (std::set<std::pair<int, int>>{{4242, 4242}, {4343, 4343}}));
  EXPECT_EQ(events(trace, "M", "process_name").size(), 2u);
}

// A task cut short (its worker died or was killed) says so in both exporters.
TEST(TimelineTest, KilledTasksAreMarked) {
  const auto origin = cf::Timeline::Clock::now();
  cf::Timeline timeline(origin);
  timeline.on_run(timeline.on_submit(), "pid 4242", origin, origin + 1ms);
  timeline.on_run(timeline.on_submit(), "pid 4242", origin + 1ms, origin + 2ms,
                  "killed: it overran its timeout of 1 ms");
  timeline.on_run(timeline.on_submit(), "pid 4343", origin + 2ms, origin + 3ms);
  ASSERT_EQ(timeline.tasks().size(), 3u);
  EXPECT_EQ(timeline.tasks()[0].killed, "");
  EXPECT_EQ(timeline.tasks()[1].killed, "killed: it overran its timeout of 1 ms");
  const auto trace = parse_trace(trace_of(timeline));
  const auto killed = events(trace, "X", "task 1 (killed)");
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_EQ(killed[0].at("args").at("killed"), "killed: it overran its timeout of 1 ms");
  EXPECT_FALSE(events(trace, "X", "task 0")[0].at("args").contains("killed"));
  const std::string svg = svg_of(timeline, "a kill");
  EXPECT_EQ(count(svg, "<path class=\"killed\""), 1u);
  EXPECT_NE(svg.find(", killed: it overran its timeout of 1 ms</title>"), std::string::npos);
}

TEST(TimelineTest, ChromeTraceEscapesWorkerNames) {
  cf::Timeline timeline;
  const auto t = cf::Timeline::Clock::now();
  const std::string name = "odd \"name\"\\\n\x01";
  timeline.on_run(timeline.on_submit(), name, t, t);
  const std::string json = trace_of(timeline);
  EXPECT_NE(json.find(R"(odd \"name\"\\\n\u0001)"), std::string::npos) << json;
  const auto tasks = events(parse_trace(json), "X");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].at("args").at("worker"), name);  // read back as it was written
}

TEST(TimelineTest, EmptyTimelineStillWritesValidOutput) {
  cf::Timeline timeline;
  timeline.on_submit();  // submitted, never ran
  EXPECT_TRUE(parse_trace(trace_of(timeline)).at("traceEvents").empty());
  const std::string svg = svg_of(timeline, "empty");
  EXPECT_NE(svg.find("no tasks ran"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(TimelineTest, SvgHasOneBarPerTaskAxesTitleAndLegend) {
  const std::string svg = svg_of(*canned(), "busy <threads> & co");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<rect class=\"task\""), 3u);
  EXPECT_NE(svg.find(">busy &lt;threads&gt; &amp; co</text>"), std::string::npos);
  // Task numbers down the y axis, seconds along x (0 .. 2.5 s: ticks every 0.5 s).
  EXPECT_EQ(count(svg, "class=\"ytick\""), 3u);
  EXPECT_NE(svg.find(">seconds</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.0</text>"), std::string::npos);
  EXPECT_NE(svg.find(">2.5</text>"), std::string::npos);
  // Coloured by worker: two legend swatches, two distinct bar colours.
  EXPECT_EQ(count(svg, "<rect class=\"legend\""), 2u);
  EXPECT_NE(svg.find(">ThreadPool-1_0</text>"), std::string::npos);
  std::set<std::string> colours;
  for (auto pos = svg.find("<rect class=\"task\""); pos != std::string::npos;
       pos = svg.find("<rect class=\"task\"", pos + 1)) {
    const auto fill = svg.find("fill=\"", pos) + 6;
    colours.insert(svg.substr(fill, 7));
  }
  EXPECT_EQ(colours.size(), 2u);
  // Tasks 0 and 2 share a worker: the same colour.
  EXPECT_EQ(count(svg, "fill=\"#4e79a7\"><title>"), 2u);
  // Every opened element is closed or self-closed (a cheap well-formedness check).
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  EXPECT_EQ(count(svg, "<title>"), count(svg, "</title>"));
}

TEST(TimelineTest, SvgScalesToManyTasks) {
  const auto origin = cf::Timeline::Clock::now();
  cf::Timeline timeline(origin);
  for (int i = 0; i < 1000; ++i) {
    std::string worker = "w";  // not "w" + ...: g++ 12 -O3 warns falsely (-Wrestrict)
    worker += std::to_string(i % 3);
    timeline.on_run(timeline.on_submit(), worker, origin + i * 1ms, origin + i * 1ms + 5ms);
  }
  const std::string svg = svg_of(timeline, "many");
  EXPECT_EQ(count(svg, "<rect class=\"task\""), 1000u);
  EXPECT_LE(count(svg, "class=\"ytick\""), 21u);
  EXPECT_LE(count(svg, "class=\"xtick\""), 12u);
}

TEST(TimelineTest, ConcurrentRecordingKeepsEveryTask) {
  cf::Timeline timeline;
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&timeline, t] {
      for (int i = 0; i < 500; ++i) {
        const auto id = timeline.on_submit();
        const auto now = cf::Timeline::Clock::now();
        std::string worker = "thread ";
        worker += std::to_string(t);
        timeline.on_run(id, worker, now, now);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto tasks = timeline.tasks();
  ASSERT_EQ(tasks.size(), 2000u);
  for (std::size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(tasks[i].id, i);
}

TEST(TimelineTest, ThreadPoolRecordsEveryCallOnItsWorkers) {
  auto timeline = std::make_shared<cf::Timeline>();
  {
    cf::ThreadPoolOptions options;
    options.max_workers = 3;
    options.thread_name_prefix = "tl";
    options.timeline = timeline;
    cf::ThreadPoolExecutor pool(options);
    constexpr int kCalls = 9;
    std::vector<cf::Future<void>> futures;
    futures.reserve(kCalls);
    for (int i = 0; i < kCalls; ++i)
      futures.push_back(pool.submit([] { std::this_thread::sleep_for(5ms); }));
    for (auto& f : futures) f.result(30s);
  }
  const auto tasks = timeline->tasks();
  ASSERT_EQ(tasks.size(), 9u);
  std::set<std::string> workers;
  for (const auto& task : tasks) {
    workers.insert(task.worker);
    EXPECT_LE(task.submitted, task.started);
    EXPECT_GE(task.finished - task.started, 4ms);
  }
  EXPECT_GE(workers.size(), 1u);
  EXPECT_LE(workers.size(), 3u);
  EXPECT_EQ(events(parse_trace(trace_of(*timeline)), "X").size(), 9u);
}

}  // namespace
