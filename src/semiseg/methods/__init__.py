"""Semi-supervised methods, registered by name (one file each)."""

from __future__ import annotations

import copy
from typing import Any

from semiseg.config import from_dict
from semiseg.methods.abd import AdaptiveBidirectionalDisplacement
from semiseg.methods.base import (
    NetSpec,
    Progress,
    SemiBatch,
    SemiSupervisedMethod,
    StepOutput,
)
from semiseg.methods.bcp import BidirectionalCopyPaste
from semiseg.methods.c3s3 import ComplementaryCompetition
from semiseg.methods.cad import ConfidenceAwareDisplacement
from semiseg.methods.cps import CrossPseudoSupervision
from semiseg.methods.ersr import EllipseRefinedSelfTraining
from semiseg.methods.m3hl import MutualMaskMix
from semiseg.methods.mean_teacher import MeanTeacher
from semiseg.methods.medl import MutualEvidential
from semiseg.methods.mn import ModelsAndNetworks
from semiseg.methods.semiqc import QualityControlledSelfTraining, SelfTraining
from semiseg.methods.spcl import ContrastivePretraining, SelfPacedContrastive
from semiseg.methods.supervised import Supervised
from semiseg.methods.transmedseg import TransMedSeg
from semiseg.methods.ua_mt import UncertaintyAwareMeanTeacher
from semiseg.methods.unimatch import UniMatch
from semiseg.param_ranges import check_ranges
from semiseg.registry import Registry

METHODS: Registry[type[SemiSupervisedMethod]] = Registry("method")
for _cls in (Supervised, MeanTeacher, UncertaintyAwareMeanTeacher, CrossPseudoSupervision,
             UniMatch, BidirectionalCopyPaste, AdaptiveBidirectionalDisplacement, MutualMaskMix,
             ConfidenceAwareDisplacement, ComplementaryCompetition, MutualEvidential,
             TransMedSeg, EllipseRefinedSelfTraining, SelfTraining,
             QualityControlledSelfTraining, ContrastivePretraining, SelfPacedContrastive,
             ModelsAndNetworks):
    METHODS.register(_cls.name)(_cls)


def method_config(name: str, params: dict[str, Any]) -> Any:
    """The method's typed ``Config`` from ``method.params``.

    Raises:
        ConfigError: an unknown key, a wrongly typed value, or one out of its range
            (:mod:`semiseg.param_ranges`).
    """
    config = from_dict(METHODS.get(name).Config, params, prefix="method.params.")
    check_ranges(config)
    return config


def method_run_defaults(name: object) -> dict[str, Any]:
    """The run settings method ``name`` changes from the toolkit's defaults ({} if unknown).

    An unknown name returns {} here: :func:`method_config` reports it with the valid names.
    """
    if not isinstance(name, str) or name not in METHODS.names():
        return {}
    return copy.deepcopy(METHODS.get(name).run_defaults)


def create_method(name: str, params: dict[str, Any], net: NetSpec) -> SemiSupervisedMethod:
    """Instantiate method ``name`` with hyper-parameters ``params`` on networks ``net``."""
    return METHODS.get(name)(method_config(name, params), net)


def list_methods() -> list[str]:
    """Names of the registered methods."""
    return METHODS.names()


__all__ = ["METHODS", "NetSpec", "Progress", "SemiBatch", "SemiSupervisedMethod", "StepOutput",
           "create_method", "list_methods", "method_config", "method_run_defaults"]
