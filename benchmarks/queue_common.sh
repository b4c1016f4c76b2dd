# Sourced by the queue scripts: strict mode, the repository root, the virtual environment,
# and `run GRID METHODS LABELED SEED`, one subset of a grid (finished runs are skipped,
# interrupted ones resume). Methods bring their paper's run settings themselves
# (run_defaults, e.g. mn's AdamW 1e-4), so no queue passes optimizer flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .venv/bin/activate
g=benchmarks/grids
run() { semiseg bench run "$g/$1" --methods "$2" --labeled "$3" --seeds "$4"; }
