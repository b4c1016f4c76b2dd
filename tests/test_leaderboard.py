"""`semiseg bench run` on a tiny grid: leaderboard files, and the HTML report in Chromium."""

import csv
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from semiseg.cli import main
from semiseg.engine.runtime import cpu_name, resolve_amp
from semiseg.errors import ConfigError
from semiseg.leaderboard import (
    Grid,
    collect,
    format_stat,
    hardware_label,
    pool_folds,
    run_grid,
    run_settings,
    table_cells,
    write_csv,
    write_leaderboard,
)

pytestmark = pytest.mark.slow

# what the TINY runs below train on: this CPU, 2 threads, train.amp auto's precision here
HERE = (f"{cpu_name()}, 2 threads, "
        f"{'bf16' if resolve_amp('auto', torch.device('cpu')) else 'fp32'}")

TINY = ["data.patch_size=[32, 32]", "data.batch_size=4", "data.labeled_batch_size=2",
        "model.channels=[4, 8]", "model.dropout=[0, 0]", "train.iterations=4",
        "train.val_every=2", "train.log_every=2", "train.progress_bar=false",
        "train.num_threads=2"]


@pytest.fixture(scope="module")
def grid_out(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("grid")
    grid = {"set": [f"data.root={tiny_dataset}", *TINY], "methods": ["supervised", "mean_teacher"],
            "labeled": [1, 2], "seeds": [0, 1], "out": "out"}
    (base / "grid.yaml").write_text(yaml.safe_dump(grid))
    out = run_grid(base / "grid.yaml")
    write_leaderboard(out)
    return out


@pytest.mark.parametrize(("values", "text"), [
    ([0.5], "50.00"), ([0.5, 0.7], "60.00 ± 10.00"), ([], "n/a")])
def test_format_stat(values: list[float], text: str) -> None:
    n = len(values)
    stat = {"mean": sum(values) / n if n else float("nan"),
            "std": (max(values) - min(values)) / 2 if n else float("nan"), "n": n}
    assert format_stat(stat, 100) == text


def test_run_settings_fill_seed_and_budget_placeholders() -> None:
    grid = Grid(methods=["spcl"], labeled=[2], seeds=[1], out="o", folds=3,
                set=["train.init_from=pre-s{seed}/last.pt", "train.iterations=9",
                     "eval.note=l{labeled}"])
    assert run_settings(grid, "spcl", 2, 1, fold=0) == [
        "train.init_from=pre-s1/last.pt", "train.iterations=9", "eval.note=l2",
        "method.name=spcl", "data.num_labeled=2", "data.folds=3", "data.fold=0",
        "train.seed=1"]
    grid.budget = "percent"
    assert run_settings(grid, "spcl", 5, 0, overrides=["train.seed=7"])[3:] == [
        "train.seed=7", "method.name=spcl", "data.labeled_percent=5", "train.seed=0"]
    assert grid.set[0] == "train.init_from=pre-s{seed}/last.pt"  # the grid is not changed
    grid.set = ["train.init_from=pre-f{fold}-s{seed}/last.pt"]
    assert run_settings(grid, "spcl", 2, 1, fold=2)[0] == "train.init_from=pre-f2-s1/last.pt"
    with pytest.raises(ConfigError, match="fold"):
        run_settings(grid, "spcl", 2, 1)  # no fold: the run would start from a wrong file


def test_grid_runs_are_skipped_when_done(grid_out: Path, capsys) -> None:
    mtimes = {p: p.stat().st_mtime for p in grid_out.glob("*/result.json")}
    assert len(mtimes) == 8
    run_grid(grid_out.parent / "grid.yaml")
    assert "done already" in capsys.readouterr().out
    assert mtimes == {p: p.stat().st_mtime for p in grid_out.glob("*/result.json")}


def test_grid_subset_runs_only_what_is_asked(grid_out: Path, tmp_path: Path, capsys) -> None:
    grid = yaml.safe_load((grid_out.parent / "grid.yaml").read_text())
    grid["out"] = str(tmp_path / "subset")
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    run_grid(tmp_path / "grid.yaml", only={"methods": ["mean_teacher"], "labeled": [2],
                                           "seeds": [1]})
    assert [p.parent.name for p in (tmp_path / "subset").glob("*/result.json")] == [
        "mean_teacher-l2-s1"]
    result = json.loads((tmp_path / "subset" / "mean_teacher-l2-s1" / "result.json").read_text())
    assert result["peak_memory_gib"] > 0 and result["wall_seconds"] > 0
    with pytest.raises(ConfigError, match="not in the grid"):
        run_grid(tmp_path / "grid.yaml", only={"methods": ["bcp"]})


def test_grid_until_skips_the_runs_that_would_not_end_in_time(
        grid_out: Path, tmp_path: Path, capsys) -> None:
    grid = yaml.safe_load((grid_out.parent / "grid.yaml").read_text())
    grid["out"] = str(tmp_path / "timed")
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    # 4 steps of 1000 s (71 min with validations and start) do not fit in 10 minutes;
    # 4 of 0.01 s do
    run_grid(tmp_path / "grid.yaml", only={"labeled": [1], "seeds": [0]},
             until=time.time() + 600, step_times={"supervised": 0.01, "mean_teacher": 1000})
    assert [p.parent.name for p in (tmp_path / "timed").glob("*/result.json")] == [
        "supervised-l1-s0"]
    assert "skipped mean_teacher-l1-s0: needs about 71 min" in capsys.readouterr().out


def test_grid_until_stops_a_run_too_slow_here_and_scales_the_next_estimates(
        grid_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Step times borrowed from another machine: the first run shows this one is slower."""
    grid = yaml.safe_load((grid_out.parent / "grid.yaml").read_text())
    grid["out"] = str(tmp_path / "slow")
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    # the loop measures 1 s a step here, where supervised's estimate says 0.01 s
    monkeypatch.setattr("semiseg.engine.session.ends_after",
                        lambda deadline, now, left, times: (True, 1.0, now + 1e4))
    # mean_teacher at 10 s x 4 steps fits in 10 min; at 100 x 10 s it needs 71 min
    run_grid(tmp_path / "grid.yaml", only={"labeled": [1], "seeds": [0]},
             until=time.time() + 600, step_times={"supervised": 0.01, "mean_teacher": 10})
    out = capsys.readouterr().out
    assert "supervised-l1-s0 at step 2 of 4: at 1.00 s a step here it would end about" in out
    assert "now take steps 100.00x as long" in out
    assert "skipped mean_teacher-l1-s0: needs about 71 min" in out
    assert not list((tmp_path / "slow").glob("*/result.json"))
    assert (tmp_path / "slow" / "supervised-l1-s0" / "checkpoints" / "last.pt").is_file()


def test_grid_records_are_kept_and_restore_runs_without_training(
        grid_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A new machine with an empty out folder and the committed records trains nothing."""
    grid = yaml.safe_load((grid_out.parent / "grid.yaml").read_text())
    grid.update(out=str(grid_out), records=str(tmp_path / "records"))
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    run_grid(tmp_path / "grid.yaml")  # finished runs without a record get one
    assert len(list((tmp_path / "records").glob("*/result.json"))) == 8
    assert not list((tmp_path / "records").rglob("*.pt"))
    assert main(["bench", "keep", str(grid_out / "supervised-l1-s0"),
                 "--into", str(tmp_path / "kept")]) == 0
    assert sorted(p.name for p in (tmp_path / "kept" / "supervised-l1-s0").iterdir()) == sorted(
        p.name for p in (tmp_path / "records" / "supervised-l1-s0").iterdir())

    def no_training(*args, **kwargs):
        raise AssertionError("a recorded run was trained again")

    monkeypatch.setattr("semiseg.engine.loop.train", no_training)
    grid["out"] = str(tmp_path / "new-machine")
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    run_grid(tmp_path / "grid.yaml")
    assert "restored from" in capsys.readouterr().out
    rows, restored = collect(grid_out), collect(tmp_path / "new-machine")
    assert [(r["method"], r["labeled"], r["dice"], r.get("vs_baseline")) for r in restored] == [
        (r["method"], r["labeled"], r["dice"], r.get("vs_baseline")) for r in rows]


def test_leaderboard_rows(grid_out: Path) -> None:
    rows = collect(grid_out)
    assert [(r["method"], r["labeled"]) for r in rows] == [
        ("mean_teacher", 1), ("supervised", 1), ("mean_teacher", 2), ("supervised", 2)]
    for r in rows:
        assert r["seeds"] == [0, 1] and r["dice"]["n"] == 2
        assert [h for h, _ in r["hardware"]] == [HERE] * 2  # TINY
        assert set(r["per_class"]) == {"RV", "Myo", "LV"}
        assert "lv_ef_mae" in r  # cardiac phantom (NaN EF when a 4-step net finds no LV)
        # each method against supervised of its budget, per val patient (2 x 2 frames)
        assert ("vs_baseline" in r) == (r["method"] == "mean_teacher")
        if r["method"] == "mean_teacher":
            assert r["vs_baseline"]["n"] == 2
    for name in ("leaderboard.csv", "leaderboard.md", "leaderboard.json",
                 "dice_vs_labeled.png", "val_curves.png", "paired_vs_baseline.png",
                 "report.html"):
        assert (grid_out / name).is_file(), name
    assert json.loads((grid_out / "leaderboard.json").read_text())[0]["dice"]["n"] == 2
    assert "| LV EF error (pp) | RV EF error (pp) |" in (grid_out / "leaderboard.md").read_text()
    assert "lv_ef_mae_mean" in (grid_out / "leaderboard.csv").read_text()
    assert "Dice vs supervised, per patient" in (grid_out / "leaderboard.md").read_text()
    assert "Patient by patient against supervised" in (grid_out / "report.html").read_text()
    assert "dice_vs_supervised_p_wilcoxon" in (grid_out / "leaderboard.csv").read_text()
    assert f"| {HERE} |" in (grid_out / "leaderboard.md").read_text()


def test_method_colours_distinct_for_a_dozen_methods() -> None:
    from semiseg.leaderboard_plots import method_colours

    rows = [{"method": f"m{i}"} for i in range(12)] + [{"method": "m0"}]
    colours = method_colours(rows)
    assert list(colours) == [f"m{i}" for i in range(12)]  # rows' order, each method once
    assert len(set(colours.values())) == 12  # the default 10-colour cycle would repeat


def test_val_curves_one_panel_per_budget_colour_per_method_style_per_seed(
        grid_out: Path) -> None:
    import matplotlib.pyplot as plt

    from semiseg.leaderboard_plots import val_curves_figure

    fig = val_curves_figure(collect(grid_out))
    try:
        axes = fig.axes
        assert [ax.get_title() for ax in axes] == ["1 labeled", "2 labeled"]
        for ax in axes:
            lines = ax.get_lines()
            assert len(lines) == 4  # 2 methods x 2 seeds
            assert sorted(line.get_linestyle() for line in lines) == ["-", "-", "--", "--"]
            assert len({line.get_color() for line in lines}) == 2
        legend = axes[-1].get_legend()  # one legend, beside the last panel
        colour = {text.get_text(): handle.get_color() for text, handle in zip(
            legend.get_texts(), legend.legend_handles, strict=True)}
        assert set(colour) == {"supervised", "mean_teacher", "seed 0", "seed 1"}
        for ax in axes:  # each method has its legend colour in every panel
            assert {line.get_color() for line in ax.get_lines()} == {
                colour["supervised"], colour["mean_teacher"]}
    finally:
        plt.close(fig)


def test_report_renders_in_headless_chromium(grid_out: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    url = (grid_out / "report.html").resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120).stdout
    assert "<table id=\"leaderboard\">" in dom and dom.count("<tr") == 5  # header + 4 rows
    loaded = dom.split('data-images-loaded="')[1].split('"')[0]
    total = dom.split('data-images-total="')[1].split('"')[0]
    assert int(total) >= 4 and loaded == total  # plots + one overlay per method
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", url],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000


def test_percent_budgets_and_head_circumference_column(tiny_heads: Path, tmp_path: Path) -> None:
    """HC18-style grid: budgets in % of train, the HC error reaches the leaderboard."""
    tiny = [s if not s.startswith("data.patch_size") else "data.patch_size=[32, 48]"
            for s in TINY]
    grid = {"set": [f"data.root={tiny_heads}", *tiny], "methods": ["supervised", "ersr"],
            "labeled": [25, 50], "budget": "percent", "seeds": [0], "out": "out"}
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    out = run_grid(tmp_path / "grid.yaml")
    rows = collect(out)
    assert sorted((r["method"], r["labeled"], r["budget_unit"]) for r in rows) == [
        ("ersr", 25, "%"), ("ersr", 50, "%"), ("supervised", 25, "%"), ("supervised", 50, "%")]
    assert all(r["hc_abs_diff_mm"]["n"] == 1 and r["units"] == "mm" for r in rows)
    split = json.loads((out / "ersr-l25-s0" / "split.json").read_text())
    assert len(split["labeled"]) == 2  # 25 % of the 8 train cases
    table = write_leaderboard(out)
    text = (out / "leaderboard.md").read_text()
    assert "HC error (mm)" in text and "| 25% |" in text
    assert "±" not in text  # one seed: means only, no made-up spread
    assert "<th>HC error (mm)</th>" in (out / "report.html").read_text()
    assert table is not None
    bad = dict(grid, budget="fraction")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="budget"):
        run_grid(tmp_path / "bad.yaml")


def test_wall_time_of_seeds_on_different_hardware_is_not_averaged() -> None:
    stat = {"mean": 0.5, "std": 0.0, "n": 1}
    row = {"method": "cps", "labeled": 3, "seeds": [0, 1, 2], "units": "voxel",
           "dice": stat, "jaccard": stat, "hd95": stat, "asd": stat, "per_class": {},
           "wall_minutes": {"mean": 30.0, "std": 25.0, "n": 3}, "peak_memory_gib": stat,
           "hardware": [["AMD EPYC, 2 threads", 50.0], ["NVIDIA H200", 4.0],
                        ["AMD EPYC, 2 threads", 60.0]]}
    _, [cells] = table_cells([row])
    assert cells[-3:] == ["55.0 (AMD EPYC, 2 threads); 4.0 (NVIDIA H200)", "0.50",
                          "AMD EPYC, 2 threads / NVIDIA H200"]
    row["hardware"] = [["NVIDIA H200", 4.0]] * 3  # one hardware: the usual mean ± std
    assert table_cells([row])[1][0][-3] == "30.0 ± 25.0"


def test_peak_memory_of_seeds_on_different_hardware_is_not_averaged() -> None:
    stat = {"mean": 0.5, "std": 0.0, "n": 1}
    row = {"method": "cad", "labeled": 7, "seeds": [0, 1, 2], "units": "voxel",
           "dice": stat, "jaccard": stat, "hd95": stat, "asd": stat, "per_class": {},
           "wall_minutes": stat, "peak_memory_gib": {"mean": 3.0, "std": 0.7, "n": 3},
           "hardware": [["CPU, bf16", 95.5], ["CPU (AVX2), fp32", 229.4], ["CPU, bf16", 90.0]],
           "peak_memory_gib_per_seed": [2.5, 4.03, 2.6]}
    _, [cells] = table_cells([row])
    assert cells[-2] == "2.55 (CPU, bf16); 4.03 (CPU (AVX2), fp32)"
    row["peak_memory_gib_per_seed"] = [None, 4.03, None]  # records without a peak
    assert table_cells([row])[1][0][-2] == "n/a (CPU, bf16); 4.03 (CPU (AVX2), fp32)"
    del row["peak_memory_gib_per_seed"]  # a row built without the per-seed list
    assert table_cells([row])[1][0][-2] == "3.00 ± 0.70"
    row["hardware"] = [["CPU, bf16", 95.5]] * 3
    row["peak_memory_gib_per_seed"] = [2.5, 3.0, 3.5]  # one hardware: the usual mean ± std
    assert table_cells([row])[1][0][-2] == "3.00 ± 0.70"


def test_csv_has_the_paired_columns_even_when_the_first_row_lacks_them(tmp_path: Path) -> None:
    stat = {"mean": 0.5, "std": 0.0, "n": 1}

    def row(method: str, labeled: int) -> dict:
        return {"method": method, "labeled": labeled, "seeds": [0], "units": "voxel",
                "dice": stat, "jaccard": stat, "hd95": stat, "asd": stat, "per_class": {},
                "wall_minutes": stat, "peak_memory_gib": stat, "hardware": [["cpu", 1.0]]}

    # the 2-labeled budget has only its baseline; the 4-labeled method has a comparison
    rows = [row("supervised", 2), row("supervised", 4), row("mean_teacher", 4)]
    rows[2]["vs_baseline"] = {"n": 10, "mean_diff": 0.03}
    write_csv(rows, tmp_path / "board.csv")
    with (tmp_path / "board.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["dice_vs_supervised_mean_diff"] for r in table] == ["", "", "0.03"]


def test_hardware_label_of_new_old_and_shared_runs() -> None:
    assert hardware_label({"hardware": "NVIDIA H200", "device": "cuda:0"}) == "NVIDIA H200"
    assert hardware_label({"device": "cpu"}) == "cpu"  # records from before the fields
    assert (hardware_label({"hardware": "NVIDIA H200", "shared_device_runs": 12,
                            "amp": "torch.bfloat16"})
            == "NVIDIA H200, bf16, shared by up to 12 runs")
    assert [hardware_label({"hardware": "AMD EPYC (AVX2), 2 threads", "amp": amp})
            for amp in ("None", "torch.bfloat16", "torch.float16")] == [
        "AMD EPYC (AVX2), 2 threads, fp32", "AMD EPYC (AVX2), 2 threads, bf16",
        "AMD EPYC (AVX2), 2 threads, fp16"]
    # a run resumed on another machine names both; one machine in every session, just it
    def session(hardware: str | None) -> dict:
        return {"hardware": hardware}

    avx2, avx512 = "AMD EPYC (AVX2), 2 threads", "AMD EPYC (AVX512), 2 threads"
    assert hardware_label({"hardware": avx512, "amp": "None",
                           "sessions": [session(avx2), session(avx512), session(avx2)]}) == (
        f"{avx2} then {avx512}, fp32")
    assert hardware_label({"hardware": avx2, "sessions": [session(avx2), session(avx2)]}) == avx2
    assert hardware_label({"hardware": avx2, "sessions": [session(None), session(avx2)]}) == (
        f"unrecorded then {avx2}")


def test_pool_folds_weights_each_fold_by_its_cases() -> None:
    def fold(mean: float, n: int, mae: float, patients: int, wall: float) -> dict:
        stat = {"mean": mean, "std": 0.0, "n": n}
        return {"seed": 0, "iterations": 4, "val": {"dice": stat},
                "val_per_class": {"LV": {"dice": stat}}, "wall_seconds": wall,
                "peak_memory_gib": wall / 100,
                "clinical": {"LV_EF": {"mae": mae, "n": patients},
                             "RV_EF": {"mae": mae, "n": patients}}}

    # 4 cases at 0.8 and 2 at 0.5: 0.7 over the 6 cases, not the fold mean 0.65
    pooled = pool_folds([fold(0.8, 4, 6.0, 2, 60.0), fold(0.5, 2, 3.0, 1, 120.0)])
    assert pooled["val"]["dice"] == {"mean": pytest.approx(0.7), "n": 6}
    assert pooled["val_per_class"]["LV"]["dice"]["mean"] == pytest.approx(0.7)
    assert pooled["clinical"]["LV_EF"]["mae"] == pytest.approx(5.0)  # (2*6 + 1*3) / 3
    assert pooled["wall_seconds"] == 90.0 and pooled["peak_memory_gib"] == 1.2
    assert pooled["hardware"] == "unknown"  # the folds name no device


def test_cross_validation_grid(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    """3 folds of 6 patients: every patient validated once per seed, one pooled row."""
    grid = {"set": [f"data.root={tiny_dataset}", *TINY], "methods": ["supervised", "mean_teacher"],
            "labeled": [1], "seeds": [0], "folds": 3, "out": "out"}
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    out = run_grid(tmp_path / "grid.yaml")
    val = []
    for fold in range(3):
        split = json.loads((out / f"supervised-l1-f{fold}-s0" / "split.json").read_text())
        assert len(split["labeled"]) == 2 and len(split["val"]) == 4  # 1 and 2 patients
        val += split["val"]
    assert sorted(val) == sorted(f"phantom{i:03d}_frame0{f}" for i in range(1, 7)
                                 for f in (1, 2))
    rows = collect(out)
    assert [(r["method"], r["folds"], r["seeds"]) for r in rows] == [
        ("mean_teacher", 3, [0]), ("supervised", 3, [0])]
    cases = [json.loads((out / f"mean_teacher-l1-f{f}-s0" / "result.json").read_text())
             for f in range(3)]
    expect = sum(r["val"]["dice"]["mean"] * r["val"]["dice"]["n"] for r in cases) / 12
    assert rows[0]["dice"]["mean"] == pytest.approx(expect)
    assert rows[0]["vs_baseline"]["n"] == 6  # paired over all 6 patients
    write_leaderboard(out)
    assert "| 0 (3-fold CV) |" in (out / "leaderboard.md").read_text()
    # a seed counts only with all its folds
    (out / "supervised-l1-f2-s0" / "result.json").rename(out / "held.json")
    assert [r["method"] for r in collect(out)] == ["mean_teacher"]
    assert "supervised seed 0: folds [0, 1] of 3 finished" in capsys.readouterr().err
    bad = dict(grid, folds=1)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="folds"):
        run_grid(tmp_path / "bad.yaml")
