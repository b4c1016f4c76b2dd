"""Segmentation metrics (medpy conventions) and their aggregation."""

from semiseg.metrics.distance import surface_metrics
from semiseg.metrics.overlap import dice, jaccard
from semiseg.metrics.report import case_metrics, summarize

__all__ = ["case_metrics", "dice", "jaccard", "summarize", "surface_metrics"]
