"""Data sets: nnU-Net layout, splits, in-memory samplers, importers, synthetic demo."""
