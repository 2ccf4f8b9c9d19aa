"""Reads and writes safetensors files without the `safetensors` package (8-byte little-endian header
length, JSON header, raw little-endian tensor data). Tensors are read straight into torch memory."""
import ctypes
import json
import os
import struct
import sys

import torch

DTYPES = {
    "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

if sys.byteorder != "little":  # the format is little-endian; so is every machine torch supports today
    raise RuntimeError("safetensors_io: big-endian machines are not supported")


def _nbytes(t):
    return t.numel() * t.element_size()


def read_safetensors(path):
    """Returns ({name: tensor on the CPU}, metadata dict). Errors name the file and the problem."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8 or n > 100 * 2**20:
            raise ValueError(f"{path}: not a safetensors file (header length {n} is impossible for a file of {size} bytes)")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except ValueError as e:
            raise ValueError(f"{path}: invalid safetensors header ({e})")
        if not isinstance(header, dict):
            raise ValueError(f"{path}: invalid safetensors header (not a JSON object)")
        meta = header.pop("__metadata__", None) or {}
        start = 8 + n
        out = {}
        for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            dt = DTYPES.get(h.get("dtype"))
            if dt is None:
                raise ValueError(f"{path}: tensor \"{name}\" has unsupported dtype {h.get('dtype')!r}")
            shape = [int(x) for x in h["shape"]]
            lo, hi = (int(x) for x in h["data_offsets"])
            t = torch.empty(shape, dtype=dt)
            if hi - lo != _nbytes(t) or start + hi > size:
                raise ValueError(f"{path}: tensor \"{name}\" has data offsets [{lo}, {hi}] that do not match its shape {shape} or the file size")
            if hi > lo:
                f.seek(start + lo)
                got = f.readinto((ctypes.c_char * (hi - lo)).from_address(t.data_ptr()))
                if got != hi - lo:
                    raise ValueError(f"{path}: truncated at tensor \"{name}\"")
            out[name] = t
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} (moved to the CPU, made contiguous) in name order; metadata: str -> str."""
    items = [(k, tensors[k].detach().to("cpu").contiguous()) for k in sorted(tensors)]
    header = {}
    off = 0
    for k, t in items:
        if t.dtype not in NAMES:
            raise ValueError(f"{path}: tensor \"{k}\" has unsupported dtype {t.dtype}")
        header[k] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + _nbytes(t)]}
        off += _nbytes(t)
    if metadata:
        header["__metadata__"] = {str(a): str(b) for a, b in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)  # aligns the data to 8 bytes, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, t in items:
            if t.numel():
                f.write(ctypes.string_at(t.data_ptr(), _nbytes(t)))
