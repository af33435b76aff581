"""mpi4py.futures.MPIPoolExecutor's side of bench/mpi/mpi_pool_bench.cpp: the same three
measures, printed the same way. Run as
`mpirun -n 3 python3 -m mpi4py.futures bench/python/mpi4py_peer.py [reps]`
(rank 0 runs this file, ranks 1 and 2 are its workers)."""
import statistics
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def identity(x):
    return x


def round_trip_us(pool, calls):
    for i in range(200):
        pool.submit(identity, i).result()
    start = time.perf_counter()
    for i in range(calls):
        pool.submit(identity, i).result()
    return (time.perf_counter() - start) * 1e6 / calls


def submits_per_second(pool, calls):
    start = time.perf_counter()
    fs = [pool.submit(identity, i) for i in range(calls)]
    total = sum(f.result() for f in fs)
    assert total == calls * (calls - 1) // 2
    return calls / (time.perf_counter() - start)


def map_per_second(pool, n):
    start = time.perf_counter()
    total = sum(pool.map(identity, range(n), chunksize=1000))
    assert total == n * (n - 1) // 2
    return n / (time.perf_counter() - start)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with MPIPoolExecutor() as pool:
        rt = [round_trip_us(pool, 2000) for _ in range(reps)]
        submits = [submits_per_second(pool, 20000) for _ in range(reps)]
        maps = [map_per_second(pool, 1000000) for _ in range(reps)]
    print(f"round_trip_us mpi4py.futures {statistics.median(rt):.2f}")
    print(f"submits_per_s mpi4py.futures {statistics.median(submits):.0f}")
    print(f"map_per_s mpi4py.futures {statistics.median(maps):.0f}")


if __name__ == "__main__":
    main()
