"""``semiseg data``: check, import, split and generate data sets (parse, call, print)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semiseg.errors import ConfigError, SemisegError


def add_data_parser(sub: argparse._SubParsersAction) -> None:
    """The ``data`` command and its sub-commands."""
    data = sub.add_parser("data", help="check, import or split data sets").add_subparsers(
        dest="data_command", required=True)
    p = data.add_parser("check", help="list every problem of an nnU-Net data set")
    p.add_argument("root", help="nnU-Net raw data set folder")
    p = data.add_parser("import", help="convert another layout into nnU-Net raw layout")
    p.add_argument("kind", choices=["ssl4mis-acdc", "ssl4mis-la", "images", "acdc", "hc18",
                                    "msd", "dicom"],
                   help="ssl4mis-acdc / ssl4mis-la: SSL4MIS / UA-MT data folders (h5); "
                        "images: image (+mask) folders; acdc / hc18: the challenges' own "
                        "downloads; msd: a Medical Segmentation Decathlon task folder; "
                        "dicom: a folder tree of DICOM series -> OUT/<case>_0000.nii.gz "
                        "(for predict -i, or a data set's imagesUnlabeled)")
    p.add_argument("source", help="the folder in the layout named by KIND")
    p.add_argument("out", help="the nnU-Net raw data set folder to write")
    p.add_argument("--masks", help="images: folder of masks with the same file names")
    p.add_argument("--labels", help="images: comma-separated class names after background")
    p.add_argument("--cine", action="store_true",
                   help="acdc: also the other cine frames, as scans without masks")
    p.add_argument("--unlabeled-test", action="store_true",
                   help="hc18: the test set as scans without masks (else imagesTs)")
    p.add_argument("--val-fraction", type=float, default=None,
                   help="acdc / hc18 / ssl4mis-la / msd: share of patients / examinations / "
                        "train.list cases / training cases for val (default 0.2 / 0.1 / "
                        "0.2 / 0.2)")
    p.add_argument("--seed", type=int, default=0,
                   help="acdc / hc18 / ssl4mis-la / msd: seed of the val split")
    p.add_argument("--spacing", type=float, help="ssl4mis-la: voxel size in mm (LA: 0.625)")
    p = data.add_parser("split", help="write a seeded labeled/unlabeled/val split by patient")
    p.add_argument("root", help="nnU-Net raw data set folder")
    p.add_argument("--labeled", type=int, default=7, help="labeled patients (default 7)")
    p.add_argument("--labeled-percent", type=float, default=0.0,
                   help="labeled budget as a percentage of training patients instead")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="share of patients held out for validation (default 0.2)")
    p.add_argument("--folds", type=int, default=0,
                   help="K >= 2: write the K splits of a K-fold cross-validation by patient "
                        "(OUT is then a folder: fold0.json ...)")
    p.add_argument("--group-by", default="",
                   help="regex whose first group is a case's patient id (default: each "
                        "case is its own patient)")
    p.add_argument("--seed", type=int, default=0, help="shuffling seed (default 0)")
    p.add_argument("-o", "--out", required=True, help="split JSON to write (a folder with --folds)")
    p = data.add_parser("synthetic", help="write the synthetic cardiac phantom data set")
    p.add_argument("out", help="data set folder to write")
    p.add_argument("--patients", type=int, default=16,
                   help="patients, two frames (ED, ES) each (default 16)")
    p.add_argument("--seed", type=int, default=0,
                   help="generator seed: the same seed writes the same arrays (default 0)")


# data import options -> the importers that take them
IMPORT_OPTIONS = {"--masks": ("images",), "--labels": ("images",), "--cine": ("acdc",),
                  "--unlabeled-test": ("hc18",), "--spacing": ("ssl4mis-la",),
                  "--val-fraction": ("acdc", "hc18", "ssl4mis-la", "msd")}


def cmd_data(args: argparse.Namespace) -> int:
    """Check | import | split | synthetic."""
    if args.data_command == "check":
        from semiseg.data.check import check_dataset
        from semiseg.data.nnunet import scan_dataset

        problems = check_dataset(args.root)
        errors = [p for p in problems if not p.startswith("warning:")]
        for p in problems:
            print(p)
        counts = ""
        if not errors:
            ds, _ = scan_dataset(args.root)
            counts = (f" ({len(ds.training_cases)} labeled cases, {len(ds.unlabeled_cases)} "
                      f"scans without masks, {len(ds.test_cases)} test images)")
        print(f"{args.root}: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
              + counts)
        return 1 if errors else 0
    elif args.data_command == "import":
        from semiseg.data import challenges, importers

        for flag, kinds in IMPORT_OPTIONS.items():  # an option the importer would ignore
            value = getattr(args, flag.lstrip("-").replace("-", "_"))
            if value not in (None, False) and args.kind not in kinds:
                raise SemisegError(f"{flag} applies to {' / '.join(kinds)} imports, "
                                   f"not {args.kind}")
        val = {} if args.val_fraction is None else {"val_fraction": args.val_fraction}
        if args.kind == "ssl4mis-acdc":
            out = importers.import_ssl4mis_acdc(args.source, args.out)
        elif args.kind == "ssl4mis-la":
            out = importers.import_ssl4mis_la(args.source, args.out, args.spacing,
                                              seed=args.seed, **val)
        elif args.kind == "acdc":
            out = challenges.import_acdc(args.source, args.out, args.cine, seed=args.seed, **val)
        elif args.kind == "dicom":
            from semiseg.data.dicom import cases_table_path, import_dicom

            cases, skipped = import_dicom(args.source, args.out)
            print(f"wrote {len(cases)} volumes to {args.out} ({skipped} files skipped as not "
                  f"DICOM images); list: {cases_table_path(Path(args.out))}")
            return 0
        elif args.kind == "msd":
            from semiseg.data.msd import import_msd

            out = import_msd(args.source, args.out, seed=args.seed, **val)
        elif args.kind == "hc18":
            out = challenges.import_hc18(args.source, args.out, seed=args.seed,
                                         unlabeled_test=args.unlabeled_test, **val)
        else:
            labels = args.labels.split(",") if args.labels else None
            out = importers.import_image_folder(args.source, args.out, args.masks, labels)
        print(f"wrote {out}; check it with: semiseg data check {out}")
    elif args.data_command == "split":
        from semiseg.data.nnunet import open_dataset
        from semiseg.data.splits import (
            add_unlabeled_scans,
            make_split,
            save_split,
            ungrouped_patients_hint,
        )

        if args.folds < 0 or args.folds == 1:
            raise ConfigError(f"--folds {args.folds}: must be 0 (one split) or >= 2")
        ds = open_dataset(args.root)
        for fold in range(max(args.folds, 1)):
            split = make_split(ds.training_cases, args.labeled, args.seed, args.val_fraction,
                               args.group_by, args.labeled_percent, args.folds, fold)
            left_out = add_unlabeled_scans(split, ds.unlabeled_cases, args.group_by)
            out = Path(args.out) / f"fold{fold}.json" if args.folds else Path(args.out)
            save_split(split, out)
            print(f"{out}: {len(split.labeled)} labeled, {len(split.unlabeled)} unlabeled, "
                  f"{len(split.val)} val cases"
                  + (f" ({len(left_out)} scans without masks of val patients left out)"
                     if left_out else ""))
        hint = ungrouped_patients_hint(ds.training_cases, args.group_by)
        if hint:  # after the split files, so that an error stays the only line
            print(f"warning: {hint}", file=sys.stderr)
    else:
        from semiseg.data.synthetic import generate

        print(f"wrote {generate(args.out, args.patients, args.seed)}")
    return 0
