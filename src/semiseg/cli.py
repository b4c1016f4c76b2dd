"""``semiseg`` command line: parse, call the Python API, print; nothing else.

User mistakes (bad data, config, paths) print one line ``error: ...`` and exit with 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from semiseg.cli_data import add_data_parser, cmd_data
from semiseg.errors import ConfigError, RunStoppedError, SemisegError
from semiseg.postprocess import POSTPROCESS_MODES

PRESETS = Path(__file__).parent / "presets"
# glibc returns large freed buffers to the OS after every use, so each training step
# page-faults gigabytes of fresh memory; raising both thresholds keeps them (see README).
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"


def _csv(kind: type) -> Any:
    """An argparse type for comma-separated lists of ``kind``."""
    def parse(text: str) -> list[Any]:
        try:
            return [kind(v) for v in text.split(",") if v]
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    return parse


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", action="append", default=[],
                   help="YAML config (repeatable; later files win)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.iterations=100")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all sub-commands."""
    parser = argparse.ArgumentParser(prog="semiseg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="generate the synthetic data set, train, evaluate, show")
    p.add_argument("-o", "--out", default="runs/demo", help="output folder")
    p.add_argument("--method", default="mean_teacher",
                   help="method to train (default mean_teacher; `semiseg methods` lists them)")
    p.add_argument("--dataset", default="auto", choices=["auto", "cardiac", "heads"],
                   help="synthetic data: cardiac MRI phantom (3D, 4 classes) or fetal-head "
                        "ultrasound (2D PNG, 1 class); auto: heads for methods that need "
                        "one 2D elliptic structure (ersr), cardiac otherwise")
    _add_config_args(p)

    p = sub.add_parser("train", help="train a method (or resume a run)")
    _add_config_args(p)
    p.add_argument("-o", "--out", help="run folder (default runs/<name>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument("--init-from", metavar="CHECKPOINT",
                   help="initialise the networks from a checkpoint (e.g. of semiseg pretrain)")

    p = sub.add_parser("pretrain", help="meta-label contrastive pre-training (spcl_pretrain); "
                                        "its checkpoint feeds `train --init-from`")
    _add_config_args(p)
    p.add_argument("-o", "--out", help="run folder (default runs/<name>-pretrain)")

    p = sub.add_parser("evaluate", help="evaluate a run's checkpoint or a prediction folder")
    p.add_argument("run", nargs="*", help="run folder; several: evaluated as an ensemble "
                                          "(their mean probability)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"],
                   help="best on val (default) or the last step's")
    p.add_argument("--pred", help="folder of predictions <case><ending> to score instead")
    p.add_argument("--data", help="data set to score on (default: the run's): another copy, or "
                                  "an external test set with the run's classes")
    p.add_argument("--cases", default="val",
                   help="val or test (of the run's split), all (every labeled case of the data "
                        "set that the run did not train on), or a file of case ids")
    p.add_argument("-o", "--out", help="where to write metrics (default RUN/eval-<checkpoint>; "
                                       "other cases or data: RUN/eval-<data>-<cases>-<checkpoint>)")
    p.add_argument("--tta", action="store_true",
                   help="test-time mirroring (mean over flips; 4 passes in 2D, 8 in 3D)")
    p.add_argument("--postprocess", choices=POSTPROCESS_MODES,
                   help="connected-component clean-up of the predictions (default: the "
                        "run's eval.postprocess; with --pred: none)")

    p = sub.add_parser("predict", help="predict a folder of images with a trained run")
    p.add_argument("run", nargs="+", help="run folder; several: an ensemble (their mean "
                                          "probability)")
    p.add_argument("-i", "--input", required=True,
                   help="folder of <case>_0000<ending> images (one-channel networks: also "
                        "<case><ending>)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"],
                   help="best on val (default) or the last step's")
    p.add_argument("--case-table", help="CSV (case, pixel_size_mm) for images without "
                                        "spacing, so head circumferences come out in mm")
    p.add_argument("--skip-existing", action="store_true",
                   help="read back predictions already in OUT instead of predicting them "
                        "again (resume an interrupted folder)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--save-probabilities", action="store_true",
                   help="also write OUT/<case>.npz: float16 class probabilities [K, *S] on "
                        "the input's grid (the ensemble mean, before post-processing)")
    p.add_argument("--previews", action="store_true",
                   help="also write OUT/previews/<case>.png (the prediction over the image; "
                        "3D: 4 slices across the labelled extent) and OUT/report.html")
    p.add_argument("--tta", action="store_true",
                   help="test-time mirroring (mean over flips; 4 passes in 2D, 8 in 3D)")
    p.add_argument("--postprocess", choices=POSTPROCESS_MODES,
                   help="connected-component clean-up of the predictions (default: the "
                        "run's eval.postprocess)")

    p = sub.add_parser("qc", help="predicted quality and clinical read-outs per case, "
                                  "suspect cases flagged (needs a semiqc run)")
    p.add_argument("run", help="a trained semiqc run folder (its quality network)")
    p.add_argument("--pred", help="folder of predictions to judge (default: the run's own)")
    p.add_argument("-i", "--input", help="folder of new scans <case>_0000<ending> (as for "
                                         "predict) instead of the run's data set")
    p.add_argument("--cases", default="val",
                   help="val or test (of the run's split), all, or a file of case ids")
    p.add_argument("--threshold", type=float, help="suspect below this predicted Dice "
                                                   "(default: the run's qc_threshold)")
    p.add_argument("--lv", default="LV", help="class name of the LV cavity")
    p.add_argument("--rv", default="RV", help="class name of the RV cavity")
    p.add_argument("--myo", default="Myo", help="class name of the LV myocardium")
    p.add_argument("--ed-pattern", default=r"_frame01$", help="regex of ED case ids")
    p.add_argument("--es-pattern", default=r"_frame02$", help="regex of ES case ids")
    p.add_argument("-o", "--out", help="output folder (default RUN/qc)")

    p = sub.add_parser("compare", help="two methods on the same val patients: paired "
                                       "difference, bootstrap CI, Wilcoxon test")
    p.add_argument("runs", nargs="+", help="finished run folders of method A (seeds averaged)")
    p.add_argument("--vs", nargs="+", required=True, metavar="RUN",
                   help="finished run folders of method B")
    p.add_argument("--metric", default="dice",
                   help="a column of eval/val_metrics.csv: dice, jaccard, hd95, asd, assd")

    p = sub.add_parser("info", help="what run folders hold, how far they got, what to ship")
    p.add_argument("runs", nargs="+", help="run folders")

    add_data_parser(sub)

    sub.add_parser("methods", help="list the methods with their papers and deviations")

    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_command",
                                                                     required=True)
    p = bench.add_parser("speed", help="iterations/s and peak memory of a method's training step")
    _add_config_args(p)
    p.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    p.add_argument("--warmup", type=int, default=5,
                   help="untimed steps first (default 5): allocation, autotuning")
    p.add_argument("--json", help="also write the result to this JSON file")
    p = bench.add_parser("run", help="train a grid of methods x budgets x seeds, then report")
    p.add_argument("grid", help="grid YAML (see semiseg.leaderboard)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value of every run (after the grid's own set)")
    p.add_argument("--methods", type=_csv(str), help="only these methods (comma list, in order)")
    p.add_argument("--labeled", type=_csv(int), help="only these labeled budgets")
    p.add_argument("--seeds", type=_csv(int), help="only these seeds")
    p.add_argument("--until", metavar="TIME", help="start only runs estimated to end before "
                   "TIME (HH:MM or ISO date-time), e.g. a session's or a lease's end; "
                   "the others are skipped (estimate: see bench status)")
    _step_time_option(p)
    p = bench.add_parser("status", help="each run of grids: finished, training, waiting or "
                         "not started, and the training time left (reads no checkpoint)")
    p.add_argument("grids", nargs="+", help="grid YAML files")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="the same overrides as the bench run they describe")
    _step_time_option(p)
    p = bench.add_parser("report", help="collect finished runs into the leaderboard")
    p.add_argument("out", help="the grid's output folder")
    p = bench.add_parser("keep", help="copy finished runs' records (results, configs, logs, "
                         "per-case tables; no weights, no images) to a folder you can commit")
    p.add_argument("runs", nargs="+", help="finished run folders")
    p.add_argument("--into", required=True,
                   help="folder that gets one sub-folder per run, named as the run")
    return parser


def _step_time_option(p: argparse.ArgumentParser) -> None:
    """``--step-time METHOD=SECONDS`` (repeatable) and ``--speed-factor``: grid estimates."""
    p.add_argument("--step-time", dest="step_times", action="append", default=[],
                   metavar="METHOD=SECONDS", help="seconds per step of a method none of "
                   "whose runs has finished yet (e.g. from bench speed)")
    p.add_argument("--speed-factor", type=_positive_float, default=1.0, metavar="X",
                   help="this machine's step time over that of the finished runs and "
                   "--step-time values the estimates borrow (default 1), e.g. the ratio "
                   "of bench speed here to bench speed where they ran")


def _positive_float(text: str) -> float:
    """A command-line number above 0 (the ``type`` of an argparse option)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _step_times(items: list[str]) -> dict[str, float]:
    """``METHOD=SECONDS`` items as a dict; a malformed one is a ConfigError."""
    step_times = {}
    for item in items:
        method, _, seconds = item.partition("=")
        try:
            step_times[method] = float(seconds)
        except ValueError:
            raise ConfigError(f"--step-time {item!r}: expected METHOD=SECONDS") from None
    return step_times


HEADS_METHODS = ("ersr",)  # methods for one 2D elliptic structure


def cmd_demo(args: argparse.Namespace) -> None:
    """Synthetic data -> train -> evaluate -> print where everything is."""
    from semiseg.config import load_config
    from semiseg.data.synthetic import generate
    from semiseg.data.synthetic_heads import generate_heads
    from semiseg.engine.loop import train

    kind = args.dataset
    if kind == "auto":
        kind = "heads" if args.method in HEADS_METHODS else "cardiac"
    out = Path(args.out)
    data_dir = out / ("data" if kind == "cardiac" else "data-heads")
    if not (data_dir / "dataset.json").is_file():
        print(f"generating the synthetic {kind} data set in {data_dir} ...")
        if kind == "cardiac":
            generate(data_dir)
        else:
            generate_heads(data_dir, num_cases=48, shape=(96, 128), val_cases=12)
    preset = PRESETS / ("demo.yaml" if kind == "cardiac" else "demo-heads.yaml")
    config = load_config([preset, *args.config],
                         [f"data.root={data_dir}", f"method.name={args.method}", *args.overrides])
    result = train(config, out / config.method.name)
    _print_result(result)


def _print_result(result: dict) -> None:
    from semiseg.metrics.clinical import format_agreement
    from semiseg.run_info import fall_note

    if not result:  # non-zero ranks of a distributed run report nothing
        return
    paths = result["paths"]
    print(f"\n{result['method']}: val metrics of the best checkpoint (step {result['best_step']}"
          f" of {result['iterations']}), Dice/Jaccard in %, HD95/ASD in "
          f"{'mm' if result['distance_units'] == 'mm' else 'voxels'}:")
    print(result["table"])
    last = result.get("val_dice_last")
    note = fall_note(result["best_step"], result["val_dice_at_selection"],
                     (last["step"], last["dice_mean"]) if last else None)
    if note:
        print(note)
    if "clinical" in result:
        print(f"\nclinical read-outs of the val patients against their truth (ACDC "
              f"evaluation):\n{format_agreement(result['clinical'])}")
    print(f"\ntrained in {result['wall_seconds']:.0f} s "
          f"({result['median_seconds_per_iteration'] * 1000:.0f} ms/iteration, {result['device']})")
    print(f"results:     {paths['summary']}\nper case:    {paths['metrics']}")
    print(f"predictions: {paths['predictions']}\npicture:     {paths['picture']}")
    if paths.get("agreement"):
        print(f"agreement:   {paths['agreement']} (predicted vs reference, Bland-Altman)")
    print(f"logs:        {paths['run']}/train.csv, val.csv, tensorboard/")


def cmd_train(args: argparse.Namespace) -> None:
    """Train from configs, or resume a run folder."""
    from semiseg.config import load_config
    from semiseg.engine.loop import read_run_config, train

    if args.resume:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise SemisegError(f"{run_dir}: run folder does not exist; nothing to resume")
        if args.config or args.overrides:
            raise SemisegError("--resume takes the run's own config.yaml; drop -c/--set")
        config = read_run_config(run_dir)
        result = train(config, run_dir, resume=True)
    else:
        if not args.config:
            raise SemisegError("semiseg train needs -c CONFIG.yaml (or --resume RUN_DIR)")
        extra = [f"train.init_from={args.init_from}"] if args.init_from else []
        config = load_config(args.config, [*args.overrides, *extra])
        run_dir = Path(args.out or f"runs/{config.name}")
        if (run_dir / "checkpoints" / "last.pt").exists():
            raise SemisegError(f"{run_dir}: holds a run already; use --resume {run_dir} or "
                               "another -o folder")
        result = train(config, run_dir)
    _print_result(result)


def cmd_pretrain(args: argparse.Namespace) -> None:
    """`semiseg train` with the contrastive pre-training method (unless another is set)."""
    if not any(o.startswith("method.name=") for o in args.overrides):
        args.overrides = ["method.name=spcl_pretrain", *args.overrides]
    args.resume, args.init_from = None, None
    if args.out is None:
        from semiseg.config import load_config

        args.out = f"runs/{load_config(args.config, args.overrides).name}-pretrain"
    cmd_train(args)


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Score a run's checkpoint, or a folder of predictions, on the val (or given) cases."""
    from semiseg.api import evaluate_predictions_folder, evaluate_run
    from semiseg.metrics.clinical import format_agreement
    from semiseg.metrics.report import format_summary

    if args.pred:
        if len(args.run) > 1:
            raise SemisegError("evaluate --pred takes at most one run folder (for its data set "
                               "and split)")
        summary, out = evaluate_predictions_folder(args.pred, args.data,
                                                   args.run[0] if args.run else None,
                                                   args.cases, args.out, args.postprocess)
    else:
        if not args.run:
            raise SemisegError("semiseg evaluate needs a run folder or --pred FOLDER --data ROOT")
        summary, out = evaluate_run(args.run, args.checkpoint, args.cases, args.out,
                                    args.tta or None, args.postprocess, args.data)
    if "members" in summary:
        print(f"ensemble of {len(summary['members'])} runs: {', '.join(summary['members'])}")
    print(format_summary(summary))
    if "clinical" in summary:
        print(f"\nclinical read-outs against the truth:\n{format_agreement(summary['clinical'])}"
              f"\nper patient: {out / 'clinical.csv'}")
    print(f"\nper case: {out / 'metrics.csv'}\nsummary:  {out / 'summary.json'}")


def cmd_predict(args: argparse.Namespace) -> None:
    """Predict every image of a folder, keeping each input's geometry."""
    from semiseg.predict import predict_folder

    written, readouts = predict_folder(args.run, args.input, args.out, args.checkpoint,
                                       args.case_table, args.tta or None, args.postprocess,
                                       args.skip_existing, not args.quiet,
                                       lambda m: print(f"warning: {m}", file=sys.stderr),
                                       args.save_probabilities, args.previews)
    print(f"wrote {len(written)} predictions to {args.out}"
          + (f" (review them: {Path(args.out) / 'report.html'})" if args.previews else ""))
    if readouts is not None:
        print(f"clinical read-outs: {readouts}")


def cmd_qc(args: argparse.Namespace) -> None:
    """Quality control of a run's (or a folder's) segmentations."""
    import re

    from semiseg.metrics.clinical import CardiacSpec
    from semiseg.qc_report import quality_control

    for flag, pattern in (("--ed-pattern", args.ed_pattern), ("--es-pattern", args.es_pattern)):
        try:
            re.compile(pattern)
        except re.error as e:
            raise SemisegError(f"{flag}: {pattern!r} is not a regular expression ({e})") from None
    spec = CardiacSpec(lv=args.lv, rv=args.rv, myo=args.myo, ed_pattern=args.ed_pattern,
                       es_pattern=args.es_pattern)
    result = quality_control(args.run, args.pred, args.cases, args.out, args.threshold, spec,
                             args.input)
    summary = result["summary"]
    print(f"{'case':<28}{'predicted Dice':>16}{'true Dice':>12}  suspect")
    for row in result["cases"]:
        true = f"{100 * row['true_dice']:>11.1f}%" if "true_dice" in row else f"{'':>12}"
        print(f"{row['case']:<28}{100 * row['predicted_quality']:>15.1f}%{true}  "
              f"{'yes' if row['suspect'] else ''}")
    print(f"\n{summary['suspect']} of {summary['cases']} cases suspect (predicted Dice < "
          f"{100 * summary['threshold']:.0f}%)")
    if "spearman" in summary:
        s = summary["spearman"]
        print(f"Spearman rank correlation of predicted and true Dice: {s['rho']:.3f} "
              f"(n = {s['n']}, p = {s['p']:.2g})")
    for row in result["patients"]:
        if row["suspect"]:
            why = row["implausible"] or "a frame's predicted quality is low"
            print(f"suspect patient {row['patient']}: LV EF {row['LV_EF']:.0f}%, "
                  f"RV EF {row['RV_EF']:.0f}% ({why})")
    print(f"\ntables: {result['out']}/qc_cases.csv"
          + (f", {result['out']}/qc_patients.csv" if result["patients"] else "")
          + f", {result['out']}/qc_summary.json; to review: {result['out']}/qc_report.html")


def cmd_compare(args: argparse.Namespace) -> None:
    """Paired per-patient comparison of two methods' finished runs."""
    from semiseg.metrics.compare import format_comparison, paired_comparison, patient_scores

    stats = paired_comparison(patient_scores(args.runs, args.metric),
                              patient_scores(args.vs, args.metric), args.metric)
    scale = 100 if args.metric in ("dice", "jaccard") else 1
    unit = " (points)" if scale == 100 else ""
    print(f"{args.metric} of A minus B{unit}, over {stats['n']} val patients "
          f"(A: {len(args.runs)} run(s), B: {len(args.vs)}; seeds averaged per case, "
          "cases per patient)")
    print(f"mean difference [95% bootstrap CI], Wilcoxon p, A wins/losses: "
          f"{format_comparison(stats, scale)} ({stats['ties']} ties)")


def cmd_methods(_: argparse.Namespace) -> None:
    """Print every registered method's docstring (paper, defaults, deviations)."""
    import inspect

    from semiseg.methods import METHODS

    for name in METHODS.names():
        cls = METHODS.get(name)
        module = inspect.getmodule(cls)
        print(f"== {name}\n{inspect.cleandoc(module.__doc__ or '')}")
        if cls.run_defaults:
            flat = ", ".join(f"{k}={v}" for k, v in dotted_items(cls.run_defaults))
            print(f"run defaults (config files and --set override them): {flat}")
        print()


def dotted_items(tree: dict, prefix: str = "") -> list[tuple[str, object]]:
    """``{"a": {"b": 1}} -> [("a.b", 1)]``: a nested config mapping as dotted keys."""
    out: list[tuple[str, object]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += dotted_items(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def cmd_bench(args: argparse.Namespace) -> None:
    """``bench speed|run|status|report|keep``."""
    from semiseg import leaderboard

    if args.bench_command == "status":
        from semiseg.grid_status import format_grid_status, grid_status

        step_times = _step_times(args.step_times)
        print("\n\n".join(format_grid_status(g, grid_status(g, args.overrides, step_times,
                                                             args.speed_factor))
                           for g in args.grids))
        return
    if args.bench_command == "keep":
        from semiseg.run_records import save_record

        for run in map(Path, args.runs):
            print(f"kept {run} -> {save_record(run, Path(args.into) / run.resolve().name)}")
        return
    if args.bench_command in ("run", "report"):
        only = {k: getattr(args, k) for k in ("methods", "labeled", "seeds")
                if args.bench_command == "run" and getattr(args, k)}
        if args.bench_command == "run":
            from semiseg.grid_status import parse_until

            until = parse_until(args.until) if args.until else None
            out = leaderboard.run_grid(args.grid, args.overrides, only, until,
                                       _step_times(args.step_times), args.speed_factor)
            if not any(out.glob("*/result.json")):  # every run skipped (--until) or failed
                print(f"{out}: no finished runs yet, so no leaderboard")
                return
        else:
            out = Path(args.out)
        paths = leaderboard.write_leaderboard(out)
        print((out / "leaderboard.md").read_text())
        print("\n".join(f"{k}: {v}" for k, v in paths.items()))
        return
    from semiseg.bench import measure_speed
    from semiseg.config import load_config
    from semiseg.metrics.report import write_json

    config = load_config(args.config, args.overrides)
    result = measure_speed(config, args.steps, args.warmup)
    result["config"] = {"patch_size": config.data.patch_size, "batch_size": config.data.batch_size,
                        "amp": config.train.amp, "device": config.train.device}
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in result.items() if k not in ("config", "hardware"))
          + f" on {result['hardware']}")
    if args.json:
        write_json(result, Path(args.json))


def cmd_info(args: argparse.Namespace) -> None:
    """Summarise run folders (small files only, no checkpoint is loaded)."""
    from semiseg.run_info import format_run_info, run_info

    print("\n\n".join(format_run_info(run_info(run)) for run in args.runs))


COMMANDS = {"demo": cmd_demo, "bench": cmd_bench, "train": cmd_train, "pretrain": cmd_pretrain,
            "evaluate": cmd_evaluate,
            "predict": cmd_predict, "qc": cmd_qc, "compare": cmd_compare, "data": cmd_data,
            "methods": cmd_methods, "info": cmd_info}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
    except RunStoppedError as err:  # not an error: the run is saved and resumable
        print(str(err), file=sys.stderr)
        return 128 + err.signum
    except SemisegError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path that cannot be written or read: name it, no traceback
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; a training run continues with: semiseg train --resume RUN_DIR",
              file=sys.stderr)
        return 130
    return code or 0


def entry() -> None:
    """Console-script entry: sets the malloc tunables (by re-exec) before torch loads."""
    if (sys.platform.startswith("linux") and "GLIBC_TUNABLES" not in os.environ
            and os.environ.get("SEMISEG_MALLOC_TUNING", "1") != "0"):
        env = dict(os.environ, GLIBC_TUNABLES=MALLOC_TUNABLES)
        os.execve(sys.executable, [sys.executable, "-m", "semiseg", *sys.argv[1:]], env)
    sys.exit(main())
