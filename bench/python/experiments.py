#!/usr/bin/env python3
"""Python's side of the benchmark experiments, with the standard library only.

Runs the same experiments as the C++ runner (bench/runner/, bench/experiments/) through Python's
concurrent.futures and prints one JSON object on stdout; progress goes to stderr.

  python3 experiments.py busy_idle --busy-n 2000000 --idle-s 0.2
  python3 experiments.py sst --cpus 2 --wait-s 0.25 --compute-n 2000000 --reps 3
  python3 experiments.py sweep --cpus 2 --cpu-n 1000000 --port 8080 --reps 3

The runner passes the sizes, so both languages always run the same work.
"""

import argparse
import http.client
import json
import math
import multiprocessing
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait

# Linux's time.monotonic() is CLOCK_MONOTONIC, the clock C++'s steady_clock reads, and
# it is the same in every process, so worker processes can report their own times.
now = time.monotonic


def progress(text):
    print(f"    [python] {text}", file=sys.stderr, flush=True)


def worker_name():
    if multiprocessing.parent_process() is not None:
        return f"pid {os.getpid()}"
    return threading.current_thread().name


# --- task bodies: the same work as bench/support/workloads.hpp --------------------


def busy_sum(n):
    total = 0
    for i in range(n):
        total += i
    return total


def cos_steps(n):
    y = 0.001
    for _ in range(n):
        y = math.cos(y)
    return y


def idle(seconds):
    time.sleep(seconds)
    return 0


def http_get(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/page")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return len(body)
    finally:
        connection.close()


def timed(fn, *args):
    """Runs fn(*args) and reports (worker, start, stop) with the absolute clock."""
    start = now()
    fn(*args)
    return worker_name(), start, now()


def make_executor(kind, workers):
    if kind == "threads":
        return ThreadPoolExecutor(max_workers=workers)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


# --- experiment 1: busy vs idle ----------------------------------------------------


def busy_idle(args):
    runs = []
    for workload, fn, arg in (("busy", busy_sum, args.busy_n), ("idle", idle, args.idle_s)):
        for kind in ("threads", "processes"):
            name = f"{workload}-{kind}"
            progress(f"busy vs idle: {name}")
            t0 = now()
            tasks = []
            with make_executor(kind, args.workers) as executor:
                futures = []
                for i in range(args.tasks):
                    submitted = now()
                    futures.append((i, submitted, executor.submit(timed, fn, arg)))
                for i, submitted, future in futures:
                    worker, start, stop = future.result()
                    tasks.append({"id": i, "worker": worker, "submitted": submitted - t0,
                                  "started": start - t0, "finished": stop - t0})
            runs.append({"name": name, "wall_s": now() - t0, "tasks": tasks})
    return {"experiment": "busy_idle", "workers": args.workers, "tasks": args.tasks, "runs": runs}


# --- experiment 2: serial vs threads vs processes ------------------------------------


def run_mode(mode, fn, arg, n):
    if mode == "serial":
        for _ in range(n):
            fn(arg)
    elif mode == "threads":
        threads = [threading.Thread(target=fn, args=(arg,)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elif mode == "processes":
        context = multiprocessing.get_context("fork")
        processes = [context.Process(target=fn, args=(arg,)) for _ in range(n)]
        for p in processes:
            p.start()
        for p in processes:
            p.join()
    else:
        kind = "threads" if mode == "thread_pool" else "processes"
        with make_executor(kind, n) as executor:
            for future in [executor.submit(fn, arg) for _ in range(n)]:
                future.result()


def sst(args):
    rows = []
    for workload, fn, arg in (("wait", idle, args.wait_s), ("compute", cos_steps, args.compute_n)):
        for mode in ("serial", "threads", "processes", "thread_pool", "process_pool"):
            samples = []
            for rep in range(args.reps):
                progress(f"serial vs threads vs processes: {workload}/{mode} "
                         f"(rep {rep + 1}/{args.reps})")
                t0 = now()
                run_mode(mode, fn, arg, args.cpus)
                samples.append(now() - t0)
            rows.append({"kind": workload, "mode": mode, "wall_s": statistics.median(samples),
                         "samples": samples})
    return {"experiment": "sst", "n": args.cpus, "rows": rows}


# --- experiment 3: thread pool vs process pool by worker count -----------------------


def sweep(args):
    rows = []
    for workload, fn, arg in (("cpu", cos_steps, args.cpu_n), ("io", http_get, args.port)):
        for kind in ("threads", "processes"):
            for w in range(1, args.cpus + 1):
                walls, durations = [], []
                for rep in range(args.reps):
                    progress(f"sweep: {workload}/{kind} w={w} (rep {rep + 1}/{args.reps})")
                    t0 = now()
                    with make_executor(kind, w) as executor:
                        results = [f.result() for f in
                                   [executor.submit(timed, fn, arg) for _ in range(w)]]
                    walls.append(now() - t0)
                    durations.extend(stop - start for _, start, stop in results)
                rows.append({"kind": workload, "executor": kind, "workers": w,
                             "wall_s": statistics.median(walls),
                             "task_mean_s": statistics.fmean(durations), "task_s": durations})
    return {"experiment": "sweep", "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["busy_idle", "sst", "sweep"])
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=15)
    parser.add_argument("--busy-n", type=int, default=10_000_000)
    parser.add_argument("--idle-s", type=float, default=2.0)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--wait-s", type=float, default=1.0)
    parser.add_argument("--compute-n", type=int, default=10_000_000)
    parser.add_argument("--cpu-n", type=int, default=5_000_000)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    if min(args.workers, args.tasks, args.cpus, args.reps) < 1:
        parser.error("counts must be positive")
    result = {"busy_idle": busy_idle, "sst": sst, "sweep": sweep}[args.experiment](args)
    result["python"] = sys.version.split()[0]
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
