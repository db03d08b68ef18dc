"""A minimal GGUF v3 writer and reader (numpy only), for F32, F16 and Q8_0.

Layout: header (magic, version, tensor count, KV count), KV pairs, tensor
infos (name, dims innermost first, type, data offset), padding to the
alignment, tensor data (each tensor's offset aligned). All little-endian.
"""
import struct

import numpy as np

MAGIC = b"GGUF"
VERSION = 3
ALIGNMENT = 32

# GGUF metadata value types.
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR_FORMATS = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
                   FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}

# ggml tensor types.
GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
Q8_0_BLOCK = 32
_Q8_0_DTYPE = np.dtype([("d", "<f2"), ("qs", "i1", Q8_0_BLOCK)])


def quantize_q8_0(x):
    """ggml's reference Q8_0: per block of 32 along a row, d = max|x| / 127
    stored as f16, q = round(x / d) as int8 (computed with d in f32, as ggml)."""
    blocks = np.asarray(x, dtype=np.float32).reshape(-1, Q8_0_BLOCK)
    d = np.abs(blocks).max(axis=1) / 127.0
    inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    out = np.empty(len(blocks), dtype=_Q8_0_DTYPE)
    out["d"] = d.astype(np.float16)
    scaled = blocks * inv_d[:, None]
    out["qs"] = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int8)  # C roundf: half away from 0
    return out.tobytes()


def dequantize_q8_0(raw, shape):
    blocks = np.frombuffer(raw, dtype=_Q8_0_DTYPE)
    return (blocks["qs"].astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(shape)


def tensor_bytes(array, ggml_type):
    if ggml_type == GGML_F32:
        return np.ascontiguousarray(array, dtype="<f4").tobytes()
    if ggml_type == GGML_F16:
        return np.ascontiguousarray(array, dtype="<f2").tobytes()
    if ggml_type == GGML_Q8_0:
        assert array.shape[-1] % Q8_0_BLOCK == 0, f"Q8_0 rows must be a multiple of 32, got {array.shape}"
        return quantize_q8_0(array)
    raise ValueError(f"unsupported ggml type {ggml_type}")


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value):
    if vtype == STRING:
        return _string(value)
    if vtype == ARRAY:
        elem_type, items = value
        return struct.pack("<IQ", elem_type, len(items)) + b"".join(_value(elem_type, v) for v in items)
    return struct.pack(_SCALAR_FORMATS[vtype], value)


def _pad(n):
    return (ALIGNMENT - n % ALIGNMENT) % ALIGNMENT


def write_gguf(path, metadata, tensors):
    """metadata: list of (key, type, value); an ARRAY value is (elem_type,
    items). tensors: list of (name, numpy array in PyTorch/row-major shape,
    ggml type); GGUF stores the dims reversed (innermost first)."""
    kv = b"".join(_string(k) + struct.pack("<I", t) + _value(t, v) for k, t, v in metadata)
    infos, blobs, offset = [], [], 0
    for name, array, ggml_type in tensors:
        data = tensor_bytes(array, ggml_type)
        dims = array.shape[::-1]
        infos.append(_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
                     + struct.pack("<IQ", ggml_type, offset))
        blobs.append(data + b"\0" * _pad(len(data)))
        offset += len(blobs[-1])
    head = MAGIC + struct.pack("<IQQ", VERSION, len(tensors), len(metadata)) + kv + b"".join(infos)
    with open(path, "wb") as f:
        f.write(head + b"\0" * _pad(len(head)))
        for blob in blobs:
            f.write(blob)


class _Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def unpack(self, fmt):
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals if len(vals) > 1 else vals[0]

    def string(self):
        n = self.unpack("<Q")
        self.pos += n
        return self.buf[self.pos - n:self.pos].decode("utf-8")

    def value(self, vtype):
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            elem_type, n = self.unpack("<IQ")
            return [self.value(elem_type) for _ in range(n)]
        return self.unpack(_SCALAR_FORMATS[vtype])


def read_gguf(path):
    """(metadata dict, {name: float32 numpy array in row-major shape}, {name: ggml type})."""
    buf = open(path, "rb").read()
    r = _Reader(buf)
    assert buf[:4] == MAGIC, "not a GGUF file"
    r.pos = 4
    version, n_tensors, n_kv = r.unpack("<IQQ")
    assert version == VERSION
    metadata = {}
    for _ in range(n_kv):
        key = r.string()
        metadata[key] = r.value(r.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("<I")
        dims = struct.unpack_from(f"<{n_dims}Q", buf, r.pos)
        r.pos += 8 * n_dims
        infos.append((name, tuple(reversed(dims)), *r.unpack("<IQ")))
    data_start = r.pos + _pad(r.pos)
    tensors, types = {}, {}
    for name, shape, ggml_type, offset in infos:
        count = int(np.prod(shape))
        start = data_start + offset
        if ggml_type == GGML_Q8_0:
            size = count // Q8_0_BLOCK * _Q8_0_DTYPE.itemsize
            tensors[name] = dequantize_q8_0(buf[start:start + size], shape)
        else:
            dtype = "<f4" if ggml_type == GGML_F32 else "<f2"
            tensors[name] = np.frombuffer(buf, dtype=dtype, count=count, offset=start).astype(np.float32).reshape(shape)
        types[name] = ggml_type
    return metadata, tensors, types
