"""File formats the PyTorch reference reads and writes.

- safetensors (the network weights exported by ``export_network.ts``, the
  input bundles written by ``inputs.ts``, gradient dumps): an 8-byte
  little-endian header length, a JSON header, then raw little-endian tensor
  bytes. Read and written here with the standard library and numpy only (the
  ``safetensors`` package is not installed on our machines).
- PNG images, through Pillow, converted to and from planar float32 RGB in
  [0, 1] with exactly the arithmetic of stylegram's ``cli/image_io.ts``
  (decode: byte * (1/255); encode: round-half-up of clamp(v) * 255), so that
  both tools score and write the same pixels.
"""

import json
import struct
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# safetensors dtype name -> numpy little-endian dtype
_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}
_NAMES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}


def read_safetensors(path) -> tuple:
    """Returns ({name: CPU tensor}, metadata dict of strings) of a safetensors file."""
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // np.dtype(dtype).itemsize,
                              offset=start + begin)
        # Copy: frombuffer views the (immutable) bytes object.
        tensors[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return tensors, metadata


def write_safetensors(path, tensors: dict, metadata: dict = None) -> None:
    """Writes float32/float64 tensors (data in name order, header padded to 8 bytes)."""
    header = {"__metadata__": {k: str(v) for k, v in (metadata or {}).items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = tensors[name].detach().cpu().contiguous().numpy()
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        blob = array.tobytes()
        header[name] = {
            "dtype": _NAMES[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_png(path) -> torch.Tensor:
    """An 8-bit RGB image file as a [1, 3, H, W] float32 tensor in [0, 1]."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    # The same arithmetic as the CLI's decoder: a double product, rounded to float32.
    planar = (rgb.astype(np.float64) * (1 / 255)).astype(np.float32).transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(planar)).unsqueeze(0)


def write_png(path, image: torch.Tensor) -> None:
    """Writes a [1, 3, H, W] image in [0, 1] as an 8-bit PNG (values clamped, rounded half up)."""
    planar = image.detach().cpu().reshape(3, image.shape[-2], image.shape[-1]).numpy()
    values = np.clip(planar.astype(np.float64), 0, 1) * 255
    # Math.round in JavaScript rounds halves up; numpy's round would round them to even.
    rgb = np.floor(values + 0.5).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(path)
