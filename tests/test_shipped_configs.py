"""Every config and benchmark grid in the repository loads strictly and builds its network.

A typo in a shipped YAML (an unknown key, a method renamed) should fail here, not hours
into a benchmark queue or on a user's first run.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from semiseg.config import load_config
from semiseg.engine.trainer import net_spec
from semiseg.leaderboard import read_grid

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
GRIDS = sorted((REPO / "benchmarks" / "grids").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_loads_and_its_network_builds(path: Path) -> None:
    config = load_config([path], [])
    data_facts = SimpleNamespace(num_channels=1, num_classes=2)  # what the data set tells
    net = net_spec(config, data_facts).build()
    assert sum(p.numel() for p in net.parameters()) > 0


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_grid_resolves_every_run_config(path: Path) -> None:
    grid, base = read_grid(path)
    for method in grid.methods:
        config = load_config([base / c for c in grid.configs],
                             [*grid.set, f"method.name={method}"])
        assert config.method.name == method
