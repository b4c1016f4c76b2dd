# Sourced by the queue scripts: strict mode, the repository root, the virtual environment,
# and `run GRID METHODS LABELED SEED`, one subset of a grid (finished runs are skipped,
# interrupted ones resume) and `queue_phase ARG`, a queue's phase argument checked.
# Methods bring their paper's run settings themselves
# (run_defaults, e.g. mn's AdamW 1e-4), so no queue passes optimizer flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .venv/bin/activate
g=benchmarks/grids
run() { semiseg bench run "$g/$1" --methods "$2" --labeled "$3" --seeds "$4"; }
queue_phase() {  # queue_phase ARG: new, rerun or both (ARG empty); anything else fails
  case "$1" in
    ''|both) echo both ;;
    new|rerun) echo "$1" ;;
    *) echo "queue phase must be new, rerun or both, not '$1'" >&2; exit 2 ;;
  esac
}
