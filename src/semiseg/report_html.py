"""Static HTML pages that open offline: the leaderboard report and a predictions page."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

from semiseg.atomic import write_text_atomic
from semiseg.leaderboard import BASELINE, protocol, table_cells

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:14px;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f3f7}td:first-child,th:first-child{text-align:left}
tr.best td{font-weight:600;background:#eef8ee}
tr.suspect td{background:#fdecea}
figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}
figcaption{font-size:13px;color:#555}img{max-width:100%;border:1px solid #ddd}
.note{color:#555;font-size:13px}
"""

# Marks <body data-images-loaded="N"> once every image has decoded, so that a headless
# browser test can check that the report really shows its pictures.
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', String(ok));
  document.body.setAttribute('data-images-total', String(imgs.length));
});
"""


def _img(path: Path, caption: str, width: int = 560) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<figure><img src="data:image/png;base64,{data}" width="{width}" '
            f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>')


def _table(rows: list[dict[str, Any]]) -> str:
    head, body = table_cells(rows)
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = protocol(r)
        if key not in best or r["dice"]["mean"] > best[key]["dice"]["mean"]:
            best[key] = r
    out = ["<table id='leaderboard'><thead><tr>"
           + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r, cells in zip(rows, body, strict=True):
        cls = " class='best'" if best[protocol(r)] is r else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def write_report(rows: list[dict[str, Any]], markdown: str, paths: dict[str, Path],
                 out: Path) -> Path:
    """Write ``report.html``: table, Dice-vs-budget plot, val curves, example overlays.

    Args:
        rows: Leaderboard rows from ``semiseg.leaderboard.collect``.
        markdown: The same table as Markdown (kept in a collapsed block for copying).
        paths: Plot files (``dice_plot``, ``curves_plot``, optional ``paired_plot``).
        out: HTML file to write.
    """
    overlays = []
    largest = max(r["labeled"] for r in rows)
    for r in rows:
        if r["labeled"] == largest:
            picture = Path(r["runs"][0]) / "eval" / "overview.png"
            if picture.is_file():
                overlays.append(_img(picture, f"{r['method']}, {largest} labeled, "
                                              f"{Path(r['runs'][0]).name}: image | truth | "
                                              "prediction (best, median, worst val case)", 420))
    iterations = ", ".join(str(i) for i in sorted({r["iterations"] for r in rows}))
    body = [
        "<h1>semiseg leaderboard</h1>",
        f"<p class='note'>Validation cases only (model selection on val; no test data). "
        f"Mean ± std over seeds of each run's mean over val cases; {iterations} iterations. "
        f"Best Dice per budget in bold.</p>",
        _table(rows),
        "<h2>Dice against labeled budget</h2>", _img(paths["dice_plot"], "val Dice vs labeled"),
        _img(paths["curves_plot"], "validation curves of every run"),
        *(["<h2>Patient by patient against " + BASELINE + "</h2>",
            _img(paths["paired_plot"], "val Dice per patient, each method against "
                 f"{BASELINE} (above the line: the method is better for that patient)")]
          if "paired_plot" in paths else []),
        "<h2>Examples</h2>", *overlays,
        "<details><summary>Markdown</summary><pre>" + html.escape(markdown) + "</pre></details>",
    ]
    write_text_atomic(out, _page("semiseg leaderboard", body))
    return out


def _page(title: str, body: list[str]) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
            + "\n".join(body) + "</body></html>")


def _linked_figure(src: str, caption: str) -> str:
    """A picture by relative link, loaded lazily (pages of thousands of previews)."""
    return (f'<figure><img src="{html.escape(src)}" loading="lazy" width="560" '
            f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption>'
            "</figure>")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.1f}"  # NaN: an undefined read-out
    return html.escape(str(value))


def write_prediction_report(out: Path, case_ids: list[str], readouts: list[dict[str, Any]],
                            runs: list[str]) -> Path:
    """Write ``out/report.html``: the read-outs table and every case's preview.

    The previews (``out/previews/<case>.png``) are linked, not embedded, and load lazily,
    so the page stays small for a folder of thousands of scans.

    Args:
        out: The prediction folder.
        case_ids: The predicted cases, in order.
        readouts: Rows of the clinical read-outs (per patient or per image), may be empty.
        runs: The run folder(s) that predicted (an ensemble lists several).
    """
    body = [f"<h1>semiseg predictions: {len(case_ids)} case(s)</h1>",
            f"<p class='note'>Model: {html.escape(', '.join(runs))}. Automatic segmentations: "
            "review them before use; <code>semiseg qc</code> flags suspect ones.</p>"]
    if readouts:
        keys = list(dict.fromkeys(k for r in readouts for k in r))
        body.append("<h2>Read-outs</h2><div style='overflow-x:auto'>"
                    "<table id='readouts'><thead><tr>"
                    + "".join(f"<th>{html.escape(k)}</th>" for k in keys) + "</tr></thead><tbody>"
                    + "".join("<tr>" + "".join(f"<td>{_cell(r.get(k, ''))}</td>" for k in keys)
                              + "</tr>" for r in readouts) + "</tbody></table></div>")
    body.append("<h2>Cases</h2>")
    body += [_linked_figure(f"previews/{c}.png", c) for c in case_ids]
    path = out / "report.html"
    write_text_atomic(path, _page("semiseg predictions", body))
    return path


def write_qc_report(out: Path, cases: list[dict[str, Any]], patients: list[dict[str, Any]],
                    summary: dict[str, Any], previews: Path | None) -> Path:
    """Write ``out/qc_report.html``: suspect cases first, lowest predicted quality first.

    Args:
        out: The QC output folder.
        cases: Rows ``{"case", "predicted_quality", "suspect"[, "true_dice"]}``.
        patients: Per-patient rows with read-outs and ``implausible`` reasons (may be empty).
        summary: ``threshold``, counts, and ``spearman`` when labels were known.
        previews: A folder of ``<case>.png`` previews (``semiseg predict --previews``) to
            show beside each case, or None.
    """
    order = sorted(cases, key=lambda r: (not r["suspect"], r["predicted_quality"]))
    head = ["case", "predicted Dice %", *(["true Dice %"] if any("true_dice" in r for r in cases)
                                          else []), "suspect"]
    table = ["<table id='qc'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head)
             + "</tr></thead><tbody>"]
    for r in order:
        cells = [html.escape(r["case"]), f"{100 * r['predicted_quality']:.1f}",
                 *([f"{100 * r['true_dice']:.1f}" if "true_dice" in r else ""]
                   if len(head) == 4 else []), "yes" if r["suspect"] else ""]
        cls = " class='suspect'" if r["suspect"] else ""
        table.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table.append("</tbody></table>")
    body = [f"<h1>semiseg quality control: {summary['suspect']} of {summary['cases']} cases "
            "suspect</h1>",
            f"<p class='note'>Suspect: predicted Dice below {100 * summary['threshold']:.0f} %"
            + ("; or, per patient, implausible read-outs" if patients else "")
            + ". Predicted quality ranks segmentations; review the suspect ones first.</p>",
            *table]
    if patients:
        keys = ["patient", "LV_EF", "RV_EF", "LV_EDV", "RV_EDV", "Myo_mass_ED", "units"]
        body.append("<h2>Patients</h2><table id='patients'><thead><tr>"
                    + "".join(f"<th>{k}</th>" for k in [*keys, "why suspect"])
                    + "</tr></thead><tbody>")
        for r in sorted(patients, key=lambda r: not r.get("suspect")):
            why = (r.get("implausible") or "a frame with low predicted quality"
                   if r.get("suspect") else "")
            cls = " class='suspect'" if r.get("suspect") else ""
            body.append(f"<tr{cls}>" + "".join(f"<td>{_cell(r.get(k, ''))}</td>" for k in keys)
                        + f"<td>{html.escape(why)}</td></tr>")
        body.append("</tbody></table>")
    if previews is not None:
        body.append("<h2>Previews, suspect first</h2>")
        for r in order:
            picture = previews / f"{r['case']}.png"
            if picture.is_file():
                body.append(_linked_figure(
                    Path(os.path.relpath(picture, out)).as_posix(),
                    f"{r['case']}: predicted Dice {100 * r['predicted_quality']:.1f} %"
                    + (" (suspect)" if r["suspect"] else "")))
    path = out / "qc_report.html"
    write_text_atomic(path, _page("semiseg quality control", body))
    return path

