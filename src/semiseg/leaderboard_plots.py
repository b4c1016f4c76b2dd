"""The leaderboard's plots: Dice against the labeled budget, val curves, paired differences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from semiseg.engine.logging import read_val_curve
from semiseg.leaderboard import BASELINE, protocol
from semiseg.run_records import read_result


def method_colours(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One colour per method, in the rows' order, the same in every plot of a report.

    tab10 up to 10 methods, tab20 beyond (the default cycle repeats after 10).
    """
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(r["method"] for r in rows))
    palette = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    return {m: palette(i % palette.N) for i, m in enumerate(methods)}


def budget_title(budget: tuple[Any, ...]) -> str:
    """A panel's title for a :func:`~semiseg.leaderboard.protocol`.

    E.g. "3 labeled", or "10%, 5-fold CV" for a percentage budget cross-validated.
    """
    labeled, unit, folds = budget
    return (f"{labeled}{'%' if unit == '%' else ' labeled'}"
            + (f", {folds}-fold CV" if folds else ""))


def plot_dice_vs_budget(rows: list[dict[str, Any]], path: Path) -> Path:
    """Mean val Dice (± std over seeds) against the labeled budget, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colour = method_colours(rows)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method in colour:
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["labeled"])
        x = [r["labeled"] for r in mine]
        y = np.array([100 * r["dice"]["mean"] for r in mine])
        e = np.array([100 * r["dice"]["std"] for r in mine])
        ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label=method, color=colour[method])
    ax.set_xticks(sorted({r["labeled"] for r in rows}))
    percent = any(r.get("budget_unit") == "%" for r in rows)
    ax.set_xlabel("labeled share of train (%)" if percent else "labeled patients")
    ax.set_ylabel("val Dice % (mean over classes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_val_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    """Validation Dice against training step for every run (:func:`val_curves_figure`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = val_curves_figure(rows)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def val_curves_figure(rows: list[dict[str, Any]]) -> Any:
    """Validation Dice against training step for every run, one panel per labeled budget.

    A method keeps its colour in every panel and a seed its line style, so that a grid of
    a dozen methods x 2 seeds stays readable (one legend entry per method, one per seed).

    Returns:
        The matplotlib figure (one axis per budget, in the rows' order).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    budgets = list(dict.fromkeys(protocol(r) for r in rows))
    colour = method_colours(rows)
    styles = ["-", "--", ":", "-."]
    seeds: set[int] = set()
    fig, axes = plt.subplots(1, len(budgets), figsize=(5 * len(budgets) + 1.5, 4),
                             squeeze=False, sharey=True)
    for ax, budget in zip(axes[0], budgets, strict=True):
        for r in (r for r in rows if protocol(r) == budget):
            for run in map(Path, r["runs"]):
                curve = read_val_curve(run)
                seed = int(read_result(run / "result.json", required=()).get("seed", 0))
                seeds.add(seed)
                ax.plot([step for step, _ in curve], [100 * dice for _, dice in curve], lw=1.1,
                        color=colour[r["method"]], ls=styles[seed % len(styles)])
        ax.set_title(budget_title(budget), fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("val Dice % (mean over classes)")
    handles = [Line2D([], [], color=c, lw=2, label=m) for m, c in colour.items()]
    handles += [Line2D([], [], color="black", lw=1.1, ls=styles[s % len(styles)],
                       label=f"seed {s}") for s in sorted(seeds)]
    axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1),
                       fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_paired(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Per val patient: each method's Dice against the baseline's, one panel per budget.

    Points above the diagonal are patients the method segments better than
    :data:`BASELINE` (seeds averaged). None when no row has a paired comparison.
    """
    budgets = list(dict.fromkeys(protocol(r) for r in rows if "vs_baseline" in r))
    if not budgets:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colour = method_colours(rows)
    fig, axes = plt.subplots(1, len(budgets), figsize=(4.2 * len(budgets), 4.2), squeeze=False)
    for ax, budget in zip(axes[0], budgets, strict=True):
        base = next(r for r in rows if r["method"] == BASELINE
                    and protocol(r) == budget)["patient_dice"]
        for r in rows:
            if "vs_baseline" in r and protocol(r) == budget:
                common = sorted(set(base) & set(r["patient_dice"]))
                ax.scatter([100 * base[p] for p in common],
                           [100 * r["patient_dice"][p] for p in common], s=14, alpha=0.7,
                           color=colour[r["method"]],
                           label=f"{r['method']} ({r['vs_baseline']['wins']}/"
                                 f"{r['vs_baseline']['losses']})")
        ax.axline((0, 0), slope=1, color="grey", lw=0.8)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_aspect("equal")
        ax.set_title(budget_title(budget), fontsize=9)
        ax.set_xlabel(f"{BASELINE} Dice % per val patient")
        ax.set_ylabel("method Dice %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="method (wins/losses)", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
