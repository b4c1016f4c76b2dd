"""Pictures people look at: image, ground truth and prediction overlays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from semiseg.data.nnunet import Case

_COLOURS = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48],
                     [145, 30, 180], [70, 240, 240], [240, 50, 230]], dtype=float) / 255


def _foreground_per_slice(label: np.ndarray, slice_axis: int) -> np.ndarray:
    """Foreground voxels in each slice along ``slice_axis`` of a 3D label map."""
    axis = slice_axis % label.ndim
    return (label > 0).sum(axis=tuple(a for a in range(label.ndim) if a != axis))


def best_slice(label: np.ndarray, slice_axis: int) -> int:
    """Index of the slice with the most foreground along ``slice_axis`` (3D labels)."""
    return int(np.argmax(_foreground_per_slice(label, slice_axis)))


def _take(array: np.ndarray, axis: int, index: int) -> np.ndarray:
    return np.take(array, index, axis=axis) if array.ndim == 3 else array


def overlay(image: np.ndarray, label: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGB ``[H, W, 3]`` of a grey image with coloured labels."""
    lo, hi = np.percentile(image, [1, 99])
    grey = np.clip((image - lo) / max(hi - lo, 1e-8), 0, 1)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    colours = _COLOURS[np.clip(label, 0, len(_COLOURS) - 1).astype(int)]
    mask = (label > 0)[..., None]
    return np.where(mask, (1 - alpha) * rgb + alpha * colours, rgb)


def save_overview(cases: list[Case], preds: list[np.ndarray], scores: list[float],
                  class_names: list[str], slice_axis: int, path: Path, max_cases: int = 4) -> Path:
    """A grid: one row per case (image, truth, prediction) at its most informative slice.

    Args:
        cases: Cases with images ``[C, *S]`` and labels.
        preds: Predicted label maps ``[*S]``.
        scores: Mean Dice per case, shown in the titles.
        class_names: Legend.
        slice_axis: Slicing axis for 3D cases.
        path: PNG to write.
        max_cases: Rows: the best, median and worst cases by Dice, and one more.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    order = np.argsort(scores)
    pick = list(dict.fromkeys([int(order[-1]), int(order[len(order) // 2]), int(order[0]),
                               *map(int, order[::-1])]))[:max_cases]
    fig, axes = plt.subplots(len(pick), 3, figsize=(9, 3 * len(pick)), squeeze=False)
    for row, i in enumerate(pick):
        case, pred = cases[i], preds[i]
        axis = slice_axis % case.label.ndim
        k = best_slice(case.label, slice_axis) if case.label.ndim == 3 else 0
        image = _take(case.image[0], axis, k)
        panels = [("image", grey := np.clip(image, *np.percentile(image, [1, 99]))),
                  ("truth", overlay(image, _take(case.label, axis, k))),
                  (f"prediction (Dice {100 * scores[i]:.1f})",
                   overlay(image, _take(pred, axis, k)))]
        for col, (title, img) in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(img, cmap="gray" if img is grey else None)
            ax.set_title(f"{case.case_id}: {title}" if col == 0 else title, fontsize=8)
            ax.axis("off")
    handles = [Patch(color=_COLOURS[v], label=n) for v, n in enumerate(class_names) if v > 0]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def preview_slices(label: np.ndarray, slice_axis: int, count: int = 4) -> list[int]:
    """Up to ``count`` slice indices spread over the slices with foreground (3D labels).

    Evenly spaced from the first to the last slice that holds any label (the middle
    slice when none does), so a reviewer sees the structure's extent, not one slice.
    """
    filled = np.flatnonzero(_foreground_per_slice(label, slice_axis))
    if not len(filled):
        return [label.shape[slice_axis % label.ndim] // 2]
    picks = np.linspace(filled[0], filled[-1], num=min(count, len(filled)))
    return sorted(set(np.rint(picks).astype(int).tolist()))


def save_preview(image: np.ndarray, label: np.ndarray, class_names: list[str],
                 slice_axis: int, title: str, path: Path) -> Path:
    """One prediction to review by eye: the image and its coloured labels.

    2D: the image beside the overlay. 3D: the overlay on up to 4 slices spread over the
    labelled extent (:func:`preview_slices`), each titled with its index.

    Args:
        image: ``[C, *S]`` image (channel 0 is shown).
        label: ``[*S]`` predicted label map on the image's grid.
        class_names: Legend, by label value.
        slice_axis: Slicing axis of 3D images.
        title: Figure title (e.g. the case id and its read-outs).
        path: PNG to write (atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from semiseg.atomic import atomic_path

    if label.ndim == 2:
        grey = np.clip(image[0], *np.percentile(image[0], [1, 99]))
        panels = [("image", grey, "gray"), ("prediction", overlay(image[0], label), None)]
    else:
        axis = slice_axis % label.ndim
        panels = [(f"slice {k}", overlay(_take(image[0], axis, k), _take(label, axis, k)), None)
                  for k in preview_slices(label, slice_axis)]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.4), squeeze=False)
    for ax, (name, img, cmap) in zip(axes[0], panels, strict=True):
        ax.imshow(img, cmap=cmap)
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    present = set(np.unique(label).tolist())
    handles = [Patch(color=_COLOURS[v % len(_COLOURS)], label=n)
               for v, n in enumerate(class_names) if v > 0 and v in present]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.06 if handles else 0, 1, 0.95))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return path


def save_agreement(measures: list[tuple[str, str, list[float], list[float]]],
                   path: Path) -> Path | None:
    """Predicted against reference measures, the way clinical papers show them.

    One column per measure: on top predicted vs reference with the identity line and
    Pearson r; below the Bland-Altman plot (difference vs mean, bias and the 95 % limits
    of agreement, bias ± 1.96 std). Pairs with a non-finite value are left out.

    Args:
        measures: ``(name, unit, predicted, reference)`` per measure, e.g.
            ``("LV EF", "%", [...], [...])``.
        path: PNG to write.

    Returns:
        ``path``, or None when no measure has two finite pairs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = []
    for name, unit, predicted, reference in measures:
        p, r = np.asarray(predicted, float), np.asarray(reference, float)
        ok = np.isfinite(p) & np.isfinite(r)
        if ok.sum() >= 2:
            pairs.append((name, unit, p[ok], r[ok]))
    if not pairs:
        return None
    fig, axes = plt.subplots(2, len(pairs), figsize=(3.6 * len(pairs), 7), squeeze=False)
    for col, (name, unit, p, r) in enumerate(pairs):
        top, bottom = axes[0, col], axes[1, col]
        lo, hi = float(min(p.min(), r.min())), float(max(p.max(), r.max()))
        top.plot([lo, hi], [lo, hi], color="0.6", lw=1)
        top.scatter(r, p, s=14)
        corr = np.corrcoef(p, r)[0, 1] if p.std() > 0 and r.std() > 0 else float("nan")
        top.set(title=f"{name} (r = {corr:.3f}, n = {len(p)})", xlabel=f"reference ({unit})",
                ylabel=f"predicted ({unit})")
        diff, mean = p - r, (p + r) / 2
        bias, spread = float(diff.mean()), 1.96 * float(diff.std())
        d_unit = "pp" if unit == "%" else unit  # differences of percentages: points
        bottom.scatter(mean, diff, s=14)
        for y, style in ((bias, "-"), (bias - spread, "--"), (bias + spread, "--")):
            bottom.axhline(y, color="0.4", ls=style, lw=1)
        bottom.set(title=f"bias {bias:+.2f}, limits ±{spread:.2f} {d_unit}",
                   xlabel=f"mean of both ({unit})", ylabel=f"predicted - reference ({d_unit})")
        for ax in (top, bottom):
            ax.title.set_fontsize(9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
