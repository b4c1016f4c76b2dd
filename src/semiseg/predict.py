"""Python API behind ``semiseg predict``: a run (or an ensemble) segments new scans.

The outputs keep each input's geometry and come with clinical read-outs, and optionally
probabilities and previews.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from semiseg.api import load_predictors, run_folders
from semiseg.data.compatibility import InputCheck
from semiseg.data.io import read_image, write_label
from semiseg.data.nnunet import NnUNetDataset, list_cases, plain_named_cases, read_case_table
from semiseg.data.profile import make_profile, read_profile
from semiseg.data.splits import load_split
from semiseg.errors import DataError
from semiseg.evaluation import ReadoutCollector, labels_of, mean_probabilities, write_probabilities
from semiseg.visualize import save_preview


def input_cases(dataset: NnUNetDataset, input_dir: Path,
                case_info: dict[str, dict[str, float]] | None = None,
                ) -> tuple[NnUNetDataset, list[str]]:
    """A folder of new scans (``<case>_0000<ending>``, the run's channels) and its case ids.

    A network with one input channel also reads a folder of ``<case><ending>`` files
    without the channel suffix (:func:`semiseg.data.nnunet.plain_named_cases`); its
    predictions keep those names.

    Returns:
        A data set like ``dataset`` (classes, channels, format) rooted at the folder's
        parent, to load the scans with ``load_case(id, with_label=False,
        folder=input_dir.name)``, and the ids of the complete cases.

    Raises:
        DataError: no such folder, a missing channel file, or no image at all.
    """
    if input_dir.is_file():
        raise DataError(f"{input_dir}: a file; the input is a folder of scans (put the scan "
                        "in a folder of its own)")
    if not input_dir.is_dir():
        raise DataError(f"{input_dir}: input folder does not exist")
    plain = (plain_named_cases(input_dir, dataset.file_ending) if dataset.num_channels == 1
             else [])
    if plain:
        return dataclasses.replace(dataset, root=input_dir.parent, case_info=case_info or {},
                                   channel_suffix=False), plain
    ids, problems = list_cases(input_dir.parent, input_dir.name, dataset.file_ending,
                               dataset.num_channels, strict=False)
    if problems:
        raise DataError(problems[0])
    if not ids:
        raise DataError(f"{input_dir}: no <case>_0000{dataset.file_ending} images found")
    return dataclasses.replace(dataset, root=input_dir.parent, case_info=case_info or {}), ids


def _earlier_prediction(path: Path, shape: tuple[int, ...],
                        warn: Callable[[str], None]) -> np.ndarray | None:
    """The label map an earlier call wrote to ``path``, or None to predict the case again.

    None (with a warning) when the file is unreadable or not of the image's spatial
    ``shape``.
    """
    try:
        label = read_image(path)[0].astype(np.uint8)
    except DataError as err:
        warn(f"predicting again: {err}")
        return None
    if label.shape != shape:
        warn(f"predicting again: {path}: shape {label.shape} differs from "
                                f"its image's {shape}")
        return None
    return label


def predict_folder(run: str | Path | Sequence[str | Path], input_dir: str | Path,
                   out: str | Path,
                   checkpoint: str = "best", case_table: str | None = None,
                   tta: bool | None = None, postprocess: str | None = None,
                   skip_existing: bool = False, progress: bool = False,
                   warn: Callable[[str], None] | None = None,
                   save_probabilities: bool = False, previews: bool = False,
                   ) -> tuple[list[Path], Path | None]:
    """Predict every ``<case>_0000<ending>`` image of a folder; outputs keep the geometry.

    Also writes the clinical read-outs of the predictions to ``out/readouts.csv`` (see
    :func:`semiseg.evaluation.ReadoutCollector`): cardiac volumes and EF per patient, or
    the head circumference per image for a model trained on head data.

    Args:
        run: Trained run folder, or several: an ensemble (their mean probability, see
            :func:`load_predictors`).
        input_dir: Folder of images.
        out: Output folder.
        checkpoint: "best" or "last".
        case_table: CSV with a ``case`` column and ``pixel_size_mm`` for images that carry
            no spacing (PNG), so that head circumferences come out in mm.
        tta: Test-time mirroring; None: the run's ``eval.tta``.
        postprocess: Connected-component clean-up (:mod:`semiseg.postprocess`); None:
            the run's ``eval.postprocess``.
        skip_existing: Cases whose prediction is already in ``out`` are read back instead
            of predicted again (an interrupted run over a large folder resumes; each file
            is written atomically, so none is half-written); one that cannot be read back,
            or has another shape than its image, is predicted again (with a warning).
        progress: A progress bar on stderr.
        warn: Where a warning goes (default :func:`warnings.warn`): inputs whose voxel
            size (3D networks trained without ``data.target_spacing``) or orientation
            differ from the training scans' (:class:`semiseg.data.compatibility.InputCheck`).
        save_probabilities: Also write ``out/<case>.npz``: ``probabilities``, float16
            ``[K, *S]`` on the input's grid and axis order (the ensemble's mean, before
            post-processing; for combining models later or for uncertainty), and
            ``classes``, the class names in channel order.
        previews: Also write ``out/previews/<case>.png``, the prediction over the image
            (2D: beside it; 3D: on 4 slices across the labelled extent), and
            ``out/report.html`` (read-outs table and every preview), to review a folder
            by eye.

    Returns:
        The prediction files and the read-out table (None when there is none).

    Raises:
        DataError: some scans could not be read or predicted (each named in a warning as
            it is skipped); raised after every other scan is predicted and the read-outs
            (and report) of those are written.
    """
    warn = warn or warnings.warn
    runs = run_folders(run)
    config, predictors, dataset = load_predictors(runs, checkpoint, tta, postprocess,
                                                  need_cases=False)
    lead = runs[0]
    profile = read_profile(lead)
    if profile is None:  # a run trained before profiles: its data set has the answers
        profile = make_profile(config.data, dataset, load_split(lead / "split.json").labeled)
    check = InputCheck(profile.voxel_size, profile.orientation)
    inp = Path(input_dir)
    if inp.is_dir() and Path(out).resolve() == inp.resolve():
        raise DataError(f"{out}: the output folder is the input folder; choose another "
                        "(predictions would mix with the scans, or overwrite them when the "
                        "scans have no _0000 suffix)")
    source, ids = input_cases(dataset, inp, read_case_table(Path(case_table)) if case_table
                              else {})
    from semiseg.data.loading import normalize_image

    readouts = ReadoutCollector(dataset, heads=profile.head_reference)
    done: list[str] = []  # case ids predicted (or read back)
    failed: list[str] = []  # why each of the others has no prediction
    for case_id in tqdm(ids, desc="predict", unit="case", disable=not progress,
                        file=sys.stderr):
        path = Path(out) / f"{case_id}{dataset.file_ending}"
        prob_path = Path(out) / f"{case_id}.npz"
        try:  # one unreadable scan must not cost the rest of a large folder
            case = source.load_case(case_id, with_label=False, folder=inp.name)
            image_file = str(source.image_paths(case_id, inp.name)[0])
            label = None
            if skip_existing and path.is_file() and (prob_path.is_file()
                                                     or not save_probabilities):
                label = _earlier_prediction(path, case.image.shape[1:], warn)
            if label is None:
                prob = mean_probabilities(predictors,
                                          normalize_image(case.image, config.data.normalize),
                                          final=True, geometry=case.geometry, name=image_file)
                label = labels_of(prob, config, final=True)
                if save_probabilities:
                    write_probabilities(prob_path, prob, dataset.class_names)
                write_label(path, label, case.geometry)
        except DataError as err:
            failed.append(str(err))
            warn(f"skipped: {err}")
            continue
        check.add(image_file, case.geometry)
        readouts.add(case, label)
        preview = Path(out) / "previews" / f"{case_id}.png"
        if previews and not (skip_existing and preview.is_file()):
            save_preview(case.image, label, dataset.class_names, config.data.slice_axis,
                         case_id, preview)
        done.append(case_id)
    for message in check.warnings():
        warn(message)
    if previews:
        from semiseg.report_html import write_prediction_report

        write_prediction_report(Path(out), done, readouts.rows(), [str(r) for r in runs])
    table = readouts.write(Path(out) / "readouts.csv")
    if failed and not done:
        raise DataError(failed[0] if len(failed) == 1 else
                        f"none of the {len(ids)} scans could be predicted; first: {failed[0]}")
    if failed:
        raise DataError(f"{len(failed)} of {len(ids)} scans have no prediction (the other "
                        f"{len(done)}, with their read-outs, are in {out}); first: "
                        f"{failed[0]}")
    return [Path(out) / f"{c}{dataset.file_ending}" for c in done], table
