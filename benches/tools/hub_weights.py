"""The one reader the measuring scripts share: a model's 2-D tensors from a truth-labelled hub cache.

Needs numpy, ml_dtypes and safetensors (pip).
"""
import glob

import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy for safetensors)
import numpy as np
from safetensors.numpy import load_file


def matrices(family, model_id):
    """Every 2-D tensor of `model_id` under `family`/hub, by name, in float64."""
    folder = f"{family}/hub/models--" + model_id.replace("/", "--")
    tensors = {}
    for path in sorted(glob.glob(f"{folder}/snapshots/*/*.safetensors")):
        tensors.update(load_file(path))
    return {k: v.astype(np.float64) for k, v in tensors.items() if v.ndim == 2}
