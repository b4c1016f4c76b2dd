"""Names of the precisions a run trains in (torch-free, for records and leaderboards).

A run's ``result.json`` and ``last.pt`` write its autocast dtype as ``str(dtype)``
("torch.bfloat16", or "None" without autocast); people read "bf16" and "fp32".
"""

# str() of the autocast dtype -> its short name
PRECISION_NAMES = {"None": "fp32", "torch.bfloat16": "bf16", "torch.float16": "fp16"}
