#!/usr/bin/env bash
# MPIPoolExecutor beside mpi4py.futures.MPIPoolExecutor and our ProcessPoolExecutor, in
# one run, on three ranks (two workers for every pool): the round trip of one small call,
# 20,000 single submits, map over 1,000,000 ints with chunksize 1000. Prints the table and
# appends it to RESULTS_DIR/REPORT.md. Skipped, with a message, when MPI or mpi4py is
# missing. Called by scripts/bench after cf_experiments.
#
#   bench/mpi/run.sh BUILD_DIR RESULTS_DIR [REPETITIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1
results=$2
reps=${3:-5}

bench="$build/bench/mpi_pool_bench"
if [ ! -x "$bench" ] || ! command -v mpirun >/dev/null; then
  echo "bench/mpi: MPI not found (no mpirun or no mpi_pool_bench): the MPI rows are skipped"
  exit 0
fi
python=""
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c "import mpi4py.futures" 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "bench/mpi: mpi4py not found (Debian: python3-mpi4py): the MPI rows are skipped"
  exit 0
fi

# As root in a container, on more ranks than cores, idle ranks yielding.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1

echo "bench/mpi: MPIPoolExecutor and ProcessPoolExecutor (mpirun -n 3, $reps repetitions)"
ours=$(mpirun -n 3 "$bench" "$reps")
echo "bench/mpi: mpi4py.futures (mpirun -n 3 $python -m mpi4py.futures)"
peer=$(mpirun -n 3 "$python" -m mpi4py.futures bench/python/mpi4py_peer.py "$reps")

# Each ratio beside its goal: throughput >= 10x mpi4py's and at least half the process
# pool's, round trip <= 0.2x mpi4py's and at most twice the process pool's.
table=$(printf '%s\n%s\n' "$ours" "$peer" | awk '
  { v[$1 " " $2] = $3 }
  function verdict(a, b, goal, at_most,   r) {
    if (!(a > 0) || !(b > 0)) return "not measured"
    r = a / b
    return sprintf(r < 0.1 ? "%.3fx, %s" : "%.2fx, %s", r, \
                   (at_most ? r <= goal : r >= goal) ? "met" : "MISSED")
  }
  function row(label, k, fmt, lower_better) {
    printf "| %s | " fmt " | " fmt " | " fmt " | %s | %s |\n", label, \
      v[k " " m], v[k " " y], v[k " " p], \
      verdict(v[k " " m], v[k " " y], lower_better ? 0.2 : 10, lower_better), \
      verdict(v[k " " m], v[k " " p], lower_better ? 2 : 0.5, lower_better)
  }
  END {
    m = "MPIPoolExecutor"; p = "ProcessPoolExecutor"; y = "mpi4py.futures"
    print "## MPIPoolExecutor beside mpi4py.futures and the process pool"
    print ""
    print "Three ranks on this machine (two workers for every pool), one run; medians. Goals"
    print "(issue 13): throughput >= 10x mpi4py.futures, round trip <= 0.2x its; within 2x of"
    print "our process pool (throughput >= 0.5x, round trip <= 2x)."
    print ""
    print "| measure | MPIPoolExecutor | mpi4py.futures | ProcessPoolExecutor | vs mpi4py, goal | vs process pool, goal |"
    print "| --- | ---: | ---: | ---: | ---: | ---: |"
    row("round trip (us, lower is better)", "round_trip_us", "%.1f", 1)
    row("20,000 single submits (calls/s)", "submits_per_s", "%.0f", 0)
    row("map, 1M ints, chunksize 1000 (elements/s)", "map_per_s", "%.0f", 0)
  }')
echo "$table"
mkdir -p "$results"
printf '\n%s\n' "$table" >> "$results/REPORT.md"
