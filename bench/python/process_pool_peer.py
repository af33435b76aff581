#!/usr/bin/env python3
"""Python's ProcessPoolExecutor on the workloads of bench/micro/process_pool_bench.cpp.

Usage: process_pool_peer.py [--scale smoke|full]

Prints one JSON object on stdout:
  {
    "python": "3.x.y",
    "scale": "full",
    "round_trip_p50_us": {"fork": .., "spawn": .., "forkserver": ..},   # idle 1-worker pool
    "round_trip_p99_us": {...},
    "submit_then_results_tasks_per_s": ..,   # N no-op submits then results, 2 workers
    "map_chunked_items_per_s": ..,           # map over M ints, chunksize 1000, 2 workers
    "start_to_first_result_ms": {"fork": .., "spawn": .., "forkserver": ..},  # median of 5
    "recreate_after_crash_ms": {"spawn": .., "forkserver": ..}  # median of 5
  }
The names match the C++ benchmark's rows (round_trip/<method>, submit_then_results,
map_chunked, start_to_first_result/<method>, replacement/<method>: Python's pool cannot
replace a dead worker, so its cost of a crash is recreating the broken pool).
"""
import argparse
import json
import multiprocessing as mp
import platform
import statistics
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

METHODS = ("fork", "spawn", "forkserver")


def noop(x):
    return x


def round_trip(method, samples):
    with ProcessPoolExecutor(1, mp_context=mp.get_context(method)) as pool:
        pool.submit(noop, 0).result()
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            pool.submit(noop, 1).result()
            times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return times[len(times) // 2], times[len(times) * 99 // 100]


def submit_then_results(n):
    with ProcessPoolExecutor(2, mp_context=mp.get_context("forkserver")) as pool:
        pool.submit(noop, 0).result()
        start = time.perf_counter()
        futures = [pool.submit(noop, i) for i in range(n)]
        for f in futures:
            f.result()
        return n / (time.perf_counter() - start)


def map_chunked(m):
    with ProcessPoolExecutor(2, mp_context=mp.get_context("forkserver")) as pool:
        pool.submit(noop, 0).result()
        start = time.perf_counter()
        total = sum(pool.map(noop, range(m), chunksize=1000))
        elapsed = time.perf_counter() - start
        assert total == m * (m - 1) // 2
        return m / elapsed


def start_to_first_result(method, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pool = ProcessPoolExecutor(2, mp_context=mp.get_context(method))
        pool.submit(noop, 1).result()
        times.append((time.perf_counter() - start) * 1e3)
        pool.shutdown(wait=True)
    return statistics.median(times)


def recreate_after_crash(method, repeats=5):
    """A crash on a 1-worker pool to the next result: the broken pool is shut down and a
    new one started, as a user of Python's pool must."""
    context = mp.get_context(method)
    pool = ProcessPoolExecutor(1, mp_context=context)
    pool.submit(noop, 0).result()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            pool.submit(os._exit, 3).result()
        except BrokenProcessPool:
            pass
        pool.shutdown(wait=True)
        pool = ProcessPoolExecutor(1, mp_context=context)
        pool.submit(noop, 1).result()
        times.append((time.perf_counter() - start) * 1e3)
    pool.shutdown(wait=True)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("smoke", "full"), default="full")
    args = parser.parse_args()
    samples, n, m = (2000, 20000, 1000000) if args.scale == "full" else (50, 500, 20000)
    p50, p99 = {}, {}
    for method in METHODS:
        p50[method], p99[method] = round_trip(method, samples)
    out = {
        "python": platform.python_version(),
        "scale": args.scale,
        "round_trip_p50_us": p50,
        "round_trip_p99_us": p99,
        "submit_then_results_tasks_per_s": submit_then_results(n),
        "map_chunked_items_per_s": map_chunked(m),
        "start_to_first_result_ms": {m_: start_to_first_result(m_) for m_ in METHODS},
        "recreate_after_crash_ms": {
            m_: recreate_after_crash(m_) for m_ in ("spawn", "forkserver")
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
