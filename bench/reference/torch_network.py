"""A feature network interpreted from the layer table stylegram exports.

``export_network.ts`` writes a network as two files: ``NAME.json`` (the
description: preprocessing, mirror input padding, default layers, and the
layer table of every layer the default costs need, each row naming its
inputs) and ``NAME.safetensors`` (the weights, batch norm already folded into
each convolution exactly as stylegram folds it, stored as ``LAYER.weight``
OIHW and ``LAYER.bias``). This module runs such a table with plain
``torch.nn.functional`` calls, so any network stylegram can describe (VGG,
InceptionV3) runs here without network-specific code.

Layer semantics, as in stylegram's graph ops:

- conv: stride, padding "valid" / "same" (TensorFlow's rule: output =
  ceil(input / stride), the odd pixel of padding after) / explicit
  (n, [v, h] or [top, left, bottom, right]); zero padding.
- relu.
- pool, max: padded positions never win (padding with -inf).
- pool, avg: padded positions are left out of the count (TensorFlow / Keras).
- concat: along channels.

The image is normalised ((x - mean) / std per channel) and then mirror-padded
by ``inputPadding`` pixels (reflection without repeating the edge), as
stylegram's feature network does for style transfer.
"""

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from tensor_files import read_safetensors


def _pair(value) -> tuple:
    """A number or [h, w] as (h, w)."""
    return (value, value) if isinstance(value, (int, float)) else (value[0], value[1])


def resolve_padding(padding, size: tuple, kernel: tuple, stride: tuple) -> tuple:
    """The (top, left, bottom, right) padding of a window op on a [h, w] input."""
    if padding is None or padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        before, after = [], []
        for axis in range(2):
            out = -(-size[axis] // stride[axis])  # ceil division
            total = max((out - 1) * stride[axis] + kernel[axis] - size[axis], 0)
            before.append(total // 2)
            after.append(total - total // 2)
        return (before[0], before[1], after[0], after[1])
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    return tuple(padding)


class LayerTableNetwork:
    """Runs an exported layer table on images [N, 3, H, W] in [0, 1]."""

    def __init__(self, prefix, device="cpu", pooling=None, channels_last=True, dtype=torch.float32):
        """Reads PREFIX.json and PREFIX.safetensors; `pooling` replaces swappable pools' op.

        `dtype` float64 evaluates the float32 weights in double precision (for accuracy checks).

        `channels_last` keeps activations and kernels NHWC, the layout oneDNN's CPU
        convolutions work in (about 15% faster here than NCHW, which makes oneDNN
        reorder around every convolution); the results are the same.
        """
        prefix = str(prefix)
        self.description = json.loads(Path(prefix + ".json").read_text())
        weights, _ = read_safetensors(prefix + ".safetensors")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.weights = {
            k: v.to(device, dtype).contiguous(memory_format=self.memory_format) if v.dim() == 4
            else v.to(device, dtype)
            for k, v in weights.items()
        }
        self.name = self.description["name"]
        self.pooling = pooling
        self.layers = {row["name"]: row for row in self.description["layers"]}
        self.order = [row["name"] for row in self.description["layers"]]
        preprocess = self.description["preprocess"]
        # Rounded to float32 first, as stylegram's constants are.
        self.mean = torch.tensor(preprocess["mean"], dtype=torch.float32).to(device, dtype).view(1, 3, 1, 1)
        self.std = torch.tensor(preprocess["std"], dtype=torch.float32).to(device, dtype).view(1, 3, 1, 1)
        self.input_padding = int(self.description.get("inputPadding", 0))
        self.min_size = int(self.description["minSize"])

    @property
    def defaults(self) -> dict:
        """The recommended style and content layers: {"style": [{layer, weight}], "content": …}."""
        return self.description["defaults"]

    def needed(self, names) -> list:
        """The layers `names` depend on (themselves included), in table order."""
        wanted = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name == "input" or name in wanted:
                continue
            if name not in self.layers:
                raise ValueError(
                    f"network {self.name}: layer {name} is not in the exported table "
                    f"(export it: bench/reference/export_network.ts --layers …)"
                )
            wanted.add(name)
            stack.extend(self.layers[name]["inputs"])
        return [n for n in self.order if n in wanted]

    def features(self, image: torch.Tensor, names) -> dict:
        """The activations of the layers `names` for `image` ([N, 3, H, W], RGB in [0, 1])."""
        side = min(image.shape[2], image.shape[3])
        if side < self.min_size:
            raise ValueError(f"network {self.name}: images need at least {self.min_size} pixels a side")
        x = (image - self.mean) / self.std
        pad = min(self.input_padding, side - 1)
        if pad > 0:
            x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        values = {"input": x.contiguous(memory_format=self.memory_format)}
        for name in self.needed(names):
            row = self.layers[name]
            inputs = [values[i] for i in row["inputs"]]
            values[name] = self._run(row, inputs)
        return {n: values[n] for n in names}

    def _run(self, row: dict, inputs: list) -> torch.Tensor:
        kind = row["type"]
        if kind == "relu":
            return F.relu(inputs[0])
        if kind == "concat":
            return torch.cat(inputs, 1)
        x = inputs[0]
        kernel = _pair(row["kernel"])
        stride = _pair(row.get("stride") or (kernel if kind == "pool" else 1))
        top, left, bottom, right = resolve_padding(row.get("padding"), x.shape[2:], kernel, stride)
        if kind == "conv":
            weight = self.weights[f"{row['name']}.weight"]
            bias = self.weights.get(f"{row['name']}.bias")
            if top == bottom and left == right:
                return F.conv2d(x, weight, bias, stride=stride, padding=(top, left))
            return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride=stride)
        if kind == "pool":
            op = self.pooling if (row.get("swappable") and self.pooling) else row["op"]
            if op == "max":
                if top or left or bottom or right:
                    x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
                return F.max_pool2d(x, kernel, stride)
            if not (top or left or bottom or right):
                return F.avg_pool2d(x, kernel, stride)
            if top == bottom and left == right and 2 * top <= kernel[0] and 2 * left <= kernel[1]:
                return F.avg_pool2d(x, kernel, stride, padding=(top, left), count_include_pad=False)
            # Asymmetric padding: window sums over zero padding, divided by each window's real count.
            padded = F.pad(x, (left, right, top, bottom))
            ones = F.pad(torch.ones_like(x[:1, :1]), (left, right, top, bottom))
            return F.avg_pool2d(padded, kernel, stride) / F.avg_pool2d(ones, kernel, stride)
        raise ValueError(f"network {self.name}: layer {row['name']} has unknown type {kind}")
