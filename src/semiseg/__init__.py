"""semiseg: semi-supervised medical image segmentation behind one interface.

The public API is imported lazily so that ``import semiseg`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from semiseg.version import __version__

_API = {
    "load_config": "semiseg.config",
    "RunConfig": "semiseg.config",
    "create_method": "semiseg.methods",
    "list_methods": "semiseg.methods",
    "create_network": "semiseg.nets",
    "list_networks": "semiseg.nets",
    "train": "semiseg.engine.loop",
    "open_dataset": "semiseg.data.nnunet",
    "check_dataset": "semiseg.data.check",
    "evaluate_run": "semiseg.api",
    "evaluate_predictions_folder": "semiseg.api",
    "predict_folder": "semiseg.predict",
    "load_predictors": "semiseg.api",
    "postprocess_labels": "semiseg.postprocess",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'semiseg' has no attribute {name!r}")


__all__ = ["__version__", *_API]
