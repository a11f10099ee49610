"""The image resize of stylegram's ``core/image.ts``, for the reference's own
coarse-to-fine step (its result at one scale, upsampled to the next).

A separable triangle filter whose support widens when shrinking (so downscaled
images are antialiased): output sample i of n_out has its centre at
(i + 0.5) * n_in / n_out in input coordinates; input sample j (centre j + 0.5)
weighs max(0, 1 - |j + 0.5 - centre| / support), support = max(1, n_in /
n_out); the weights of each output sample are normalised to sum to 1.

The rounding follows the TypeScript code step by step, so that the two agree
to the last bit or so: weights are stored as float32, each sum is accumulated
in double precision, and the intermediate (rows resampled) and final images
are float32.
"""

import math

import numpy as np
import torch


def _weights(size_in: int, size_out: int) -> np.ndarray:
    """The [size_out, size_in] resampling matrix (float32 entries, held as float64)."""
    scale = size_in / size_out
    support = max(1.0, scale)
    matrix = np.zeros((size_out, size_in), dtype=np.float64)
    for i in range(size_out):
        centre = (i + 0.5) * scale
        lo = max(0, math.floor(centre - support))
        hi = min(size_in, math.ceil(centre + support))
        taps = np.zeros(hi - lo, dtype=np.float32)
        total = 0.0
        for j in range(lo, hi):
            v = max(0.0, 1 - abs((j + 0.5 - centre) / support))
            taps[j - lo] = v  # rounded to float32, as Float32Array stores it
            total += v  # while the sum keeps the double
        if total == 0:
            # Only when upscaling at an edge: the nearest input sample.
            matrix[i, min(size_in - 1, max(0, math.floor(centre)))] = 1
            continue
        taps = (taps.astype(np.float64) / total).astype(np.float32)
        matrix[i, lo:hi] = taps
    return matrix


def resize_image(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resizes a [1, 3, H, W] float32 image to [1, 3, height, width]."""
    _, _, h, w = image.shape
    if (h, w) == (height, width):
        return image
    planes = image.detach().cpu().reshape(3, h, w).numpy().astype(np.float64)
    cols = _weights(w, width)  # [width, w]
    rows = _weights(h, height)  # [height, h]
    # Along each row first (to float32, as the TypeScript code's temporary), then down the columns.
    horizontal = np.einsum("chw,xw->chx", planes, cols).astype(np.float32).astype(np.float64)
    out = np.einsum("yh,chx->cyx", rows, horizontal).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(out)).unsqueeze(0).to(image.device, image.dtype)
