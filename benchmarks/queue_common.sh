# Sourced by the queue scripts: strict mode, the repository root, the virtual environment,
# and `run GRID METHODS LABELED SEED`, one subset of a grid (finished runs are skipped,
# interrupted ones resume) and `queue_phase ARG`, a queue's phase argument checked.
# Methods bring their paper's run settings themselves
# (run_defaults, e.g. mn's AdamW 1e-4), so no queue passes optimizer flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .venv/bin/activate
g=benchmarks/grids
# With SEMISEG_UNTIL set (an ISO time; run_queues.sh --minutes N sets it), a run starts
# only if it is estimated to end by then (bench run --until), so that no run is cut by a
# session's end and lost with the machine. A method with a finished run is timed by it;
# these step times (seconds) serve the others: bench speed's (BENCHMARKS.md) x 1.3, the
# ratio of the finished acdc-dev runs' median steps to bench speed's (1.24-1.33), times
# SEMISEG_SPEED_FACTOR (run_queues.sh measures it) on a slower machine.
step_times=(--step-time supervised=0.29 --step-time m3hl=0.21 --step-time transmedseg=0.48
            --step-time medl=1.07 --step-time cad=1.76 --step-time c3s3=1.81)
run() {
  local timing=()
  [ -z "${SEMISEG_UNTIL:-}" ] || timing=(--until "$SEMISEG_UNTIL" "${step_times[@]}"
                                          --speed-factor "${SEMISEG_SPEED_FACTOR:-1}")
  semiseg bench run "$g/$1" --methods "$2" --labeled "$3" --seeds "$4" "${timing[@]}"
}
queue_phase() {  # queue_phase ARG: new, rerun or both (ARG empty); anything else fails
  case "$1" in
    ''|both) echo both ;;
    new|rerun) echo "$1" ;;
    *) echo "queue phase must be new, rerun or both, not '$1'" >&2; exit 2 ;;
  esac
}
