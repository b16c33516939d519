"""Checks that an ONNX file follows docs/model-contract.md (the Python twin of engine.ParseMetadata)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnx

from .errors import ModelError
from .export import MAX_BYTES, MAX_IR_VERSION, OPSET, REQUIRED_KEYS, read_metadata

_ELEM_FLOAT = onnx.TensorProto.FLOAT


def _dims(v: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]


def check_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Returns the metadata of a contract-conforming file; raises ModelError naming the problem."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: no such model file")
    if p.stat().st_size > MAX_BYTES:
        raise ModelError(f"{p}: {p.stat().st_size} bytes exceeds the 25 MB limit")
    try:
        m = onnx.load(str(p), load_external_data=False)
    except Exception as e:
        raise ModelError(f"{p}: not a readable ONNX file: {e}") from e
    if m.ir_version > MAX_IR_VERSION:
        raise ModelError(f"{p}: IR version {m.ir_version} > {MAX_IR_VERSION}")
    opset = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < OPSET:
        raise ModelError(f"{p}: opset {opset} < {OPSET}")
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelError(f"{p}: initializer {t.name} uses external data")
    md = read_metadata(m)
    for k in REQUIRED_KEYS:
        if k not in md:
            raise ModelError(f"{p}: missing metadata key {k!r}")
    try:
        version = int(md["hisir.contract_version"])
        psize = int(md["hisir.patch_size"])
        stride = int(md["hisir.stride"])
        tdiff = float(md["hisir.t_diff"])
    except ValueError as e:
        raise ModelError(f"{p}: metadata does not parse: {e}") from e
    if version != 1:
        raise ModelError(f"{p}: contract version {version}, this tool implements 1")
    if psize < 8 or psize % 2 or stride != psize // 2 or tdiff < 0:
        raise ModelError(f"{p}: patch size {psize}, stride {stride}, t_diff {tdiff} break the contract")
    if md["hisir.backbone"] not in ("swin", "resnet", "identity"):
        raise ModelError(f"{p}: unknown backbone {md['hisir.backbone']!r}")
    for k in ("hisir.gate", "hisir.positional_encoding"):
        if md[k] not in ("true", "false"):
            raise ModelError(f"{p}: metadata {k}={md[k]!r} is not true or false")
    if "hisir.calibration" in md:
        try:
            cal = json.loads(md["hisir.calibration"])
        except ValueError as e:
            raise ModelError(f"{p}: hisir.calibration is not JSON: {e}") from e
        if not cal.get("q999", 0) > cal.get("q50", 0):
            raise ModelError(f"{p}: calibration q999 must exceed q50")
    want_in = {"image": 4, "position": 2}
    want_out = {"reconstruction": 4, "gate": 4}
    ins = {v.name: v for v in m.graph.input if v.name not in {t.name for t in m.graph.initializer}}
    outs = {v.name: v for v in m.graph.output}
    if set(ins) != set(want_in) or set(outs) != set(want_out):
        raise ModelError(f"{p}: inputs {sorted(ins)} / outputs {sorted(outs)}, want {sorted(want_in)} / {sorted(want_out)}")
    for name, v in list(ins.items()) + list(outs.items()):
        rank = (want_in | want_out)[name]
        dims = _dims(v)
        if v.type.tensor_type.elem_type != _ELEM_FLOAT or len(dims) != rank:
            raise ModelError(f"{p}: tensor {name} must be float32 of rank {rank}")
        if isinstance(dims[0], int) and dims[0] > 0:
            raise ModelError(f"{p}: tensor {name} has a fixed batch axis {dims[0]}")
        if rank == 4:
            ch = 1 if name == "gate" else 3
            if dims[1:] != [ch, psize, psize]:
                raise ModelError(f"{p}: tensor {name} is {dims}, want [N,{ch},{psize},{psize}]")
        elif dims[1] != 2:
            raise ModelError(f"{p}: tensor {name} is {dims}, want [N,2]")
    return md
