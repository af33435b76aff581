#!/usr/bin/env python3
"""Python's concurrent.futures under the same micro-benchmarks as bench/micro/ (cf_micro_bench).

Prints one JSON object on stdout: {"python": version, "results": [{"name", "value",
"unit", ...}]}, each value the median of --reps repetitions; progress goes to stderr.
"""

import argparse
import json
import multiprocessing
import statistics
import sys
import threading
import time
from concurrent.futures import (ALL_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor,
                                as_completed, wait)

clock = time.perf_counter


def progress(text):
    print(f"    [python] {text}", file=sys.stderr, flush=True)


def noop():
    return 0


def identity(x):
    return x


def median_of(reps, fn):
    return statistics.median(fn() for _ in range(reps))


def throughput(workers, n):
    """Tasks per second for n no-op submits, then every result."""
    with ThreadPoolExecutor(max_workers=workers) as executor:
        executor.submit(noop).result()  # start a worker before timing
        t0 = clock()
        for f in [executor.submit(noop) for _ in range(n)]:
            f.result()
        return n / (clock() - t0)


def latencies(executor, n):
    samples = []
    for _ in range(n):
        t0 = clock()
        executor.submit(noop).result()
        samples.append(clock() - t0)
        time.sleep(0.0002)  # let the worker go idle again: an idle-pool round trip
    samples.sort()
    return samples


def completed_futures_in_background(n):
    futures = [Future() for _ in range(n)]

    def finish():
        for f in futures:
            f.set_result(0)

    return futures, threading.Thread(target=finish)


def wait_cost(n, use_as_completed):
    """Seconds per future to wait for n futures that another thread completes."""
    futures, setter = completed_futures_in_background(n)
    t0 = clock()
    setter.start()
    if use_as_completed:
        for _ in as_completed(futures):
            pass
    else:
        wait(futures, return_when=ALL_COMPLETED)
    elapsed = clock() - t0
    setter.join()
    return elapsed / n


def callback_cost(n, callbacks):
    """Seconds per future to add `callbacks` done-callbacks and then finish it."""
    futures = [Future() for _ in range(n)]
    count = [0]

    def cb(_):
        count[0] += 1

    t0 = clock()
    for f in futures:
        for _ in range(callbacks):
            f.add_done_callback(cb)
        f.set_result(0)
    return (clock() - t0) / n


def map_rate(n, chunksize):
    with ThreadPoolExecutor(max_workers=2) as executor:
        t0 = clock()
        for _ in executor.map(identity, range(n), chunksize=chunksize):
            pass
        return n / (clock() - t0)


def process_map_rate(n, chunksize):
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        executor.submit(noop).result()
        t0 = clock()
        for _ in executor.map(identity, range(n), chunksize=chunksize):
            pass
        return n / (clock() - t0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency-samples", type=int, default=2000)
    parser.add_argument("--wait-sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--map-n", type=int, default=10_000)
    parser.add_argument("--chunksizes", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--process-samples", type=int, default=200)
    parser.add_argument("--callback-n", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    results = []

    def add(name, value, unit, **extra):
        results.append({"name": name, "value": value, "unit": unit, **extra})

    for w in args.workers:
        progress(f"throughput: {args.tasks} no-op tasks on {w} workers")
        add(f"throughput/threads:{w}", median_of(args.reps, lambda: throughput(w, args.tasks)),
            "tasks/s", workers=w, tasks=args.tasks)

    progress("round-trip latency on an idle pool")
    with ThreadPoolExecutor(max_workers=2) as executor:
        executor.submit(noop).result()
        samples = latencies(executor, args.latency_samples)
    add("latency/thread_pool", statistics.median(samples), "s",
        p99=samples[int(0.99 * (len(samples) - 1))])

    for n in args.wait_sizes:
        progress(f"wait / as_completed over {n} futures")
        add(f"wait/{n}", median_of(args.reps, lambda: wait_cost(n, False)), "s/future", n=n)
        add(f"as_completed/{n}", median_of(args.reps, lambda: wait_cost(n, True)), "s/future",
            n=n)

    progress("done-callback overhead")
    n = args.callback_n
    add("callback/0", median_of(args.reps, lambda: callback_cost(n, 0)), "s/future")
    add("callback/1", median_of(args.reps, lambda: callback_cost(n, 1)), "s/future")

    for c in args.chunksizes:
        progress(f"map of {args.map_n} calls, chunksize {c}")
        add(f"map/chunksize:{c}", median_of(args.reps, lambda: map_rate(args.map_n, c)),
            "calls/s", chunksize=c)

    for c in args.chunksizes:
        progress(f"process pool map of {args.map_n} calls, chunksize {c}")
        add(f"map_process/chunksize:{c}",
            median_of(args.reps, lambda: process_map_rate(args.map_n, c)), "calls/s", chunksize=c)

    progress("process pool round trip")
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        executor.submit(noop).result()
        samples = latencies(executor, args.process_samples)
    add("latency/process_pool", statistics.median(samples), "s",
        p99=samples[int(0.99 * (len(samples) - 1))])

    json.dump({"python": sys.version.split()[0], "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
