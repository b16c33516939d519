"""ONNX export per docs/model-contract.md, checked against onnxruntime."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from .errors import ModelError
from .model import ModelConfig
from .train import load_checkpoint, model_from_checkpoint

CONTRACT_VERSION = 1
OPSET = 17
MAX_IR_VERSION = 10
MAX_BYTES = 25 * 1024 * 1024
PARITY_TOL = 1e-4

KEY_CONTRACT_VERSION = "hisir.contract_version"
KEY_PATCH_SIZE = "hisir.patch_size"
KEY_STRIDE = "hisir.stride"
KEY_T_DIFF = "hisir.t_diff"
KEY_BACKBONE = "hisir.backbone"
KEY_GATE = "hisir.gate"
KEY_PE = "hisir.positional_encoding"
KEY_NAME = "hisir.name"
KEY_CALIBRATION = "hisir.calibration"
KEY_CARD = "hisir.card"
REQUIRED_KEYS = (KEY_CONTRACT_VERSION, KEY_PATCH_SIZE, KEY_STRIDE, KEY_T_DIFF, KEY_BACKBONE, KEY_GATE, KEY_PE, KEY_NAME)


class ContractWrapper(nn.Module):
    """Exposes exactly the contract's inputs and outputs.

    The ``position`` input is kept in the graph even by models without the positional encoding
    (a zero-weight, row-wise use), so every file has the same two inputs.
    """

    def __init__(self, model: nn.Module, uses_position: bool) -> None:
        super().__init__()
        self.model = model
        self.uses_position = uses_position

    def forward(self, image: torch.Tensor, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        recon, gate = self.model(image, position)
        if not self.uses_position:
            gate = gate + 0.0 * position[:, :1].reshape(-1, 1, 1, 1)
        return recon, gate


def fix_shapes(m: onnx.ModelProto, p: int) -> None:
    """Declares the contract shapes on the graph's inputs and outputs: batch ``N``, the rest fixed.

    The TorchScript exporter leaves the outputs' spatial axes symbolic; they are fixed by ``P``.
    """
    want = {"image": [3, p, p], "position": [2], "reconstruction": [3, p, p], "gate": [1, p, p]}
    for v in list(m.graph.input) + list(m.graph.output):
        if v.name not in want:
            continue
        dims = v.type.tensor_type.shape.dim
        fixed = want[v.name]
        if len(dims) != len(fixed) + 1:
            raise ModelError(f"exported tensor {v.name} has rank {len(dims)}, want {len(fixed) + 1}")
        dims[0].Clear()
        dims[0].dim_param = "N"
        for d, n in zip(dims[1:], fixed):
            d.Clear()
            d.dim_value = n


def contract_metadata(cfg: ModelConfig, name: str, t_diff: float = 0.1) -> dict[str, str]:
    """The required metadata keys of the contract for a model config."""
    return {
        KEY_CONTRACT_VERSION: str(CONTRACT_VERSION),
        KEY_PATCH_SIZE: str(cfg.patch_size),
        KEY_STRIDE: str(cfg.patch_size // 2),
        KEY_T_DIFF: repr(float(t_diff)),
        KEY_BACKBONE: cfg.backbone,
        KEY_GATE: "true" if cfg.gate else "false",
        KEY_PE: "true" if cfg.pe else "false",
        KEY_NAME: name,
    }


def read_metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def set_metadata(model: onnx.ModelProto, md: dict[str, str]) -> None:
    """Sets (adds or replaces) metadata keys, keeping the others."""
    cur = read_metadata(model)
    cur.update(md)
    del model.metadata_props[:]
    for k in sorted(cur):
        model.metadata_props.add(key=k, value=cur[k])


def save_atomic(model: onnx.ModelProto, path: str | os.PathLike[str]) -> int:
    """Writes the model next to ``path`` and renames it into place; returns its size."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    if len(data) > MAX_BYTES:
        raise ModelError(f"{p}: model is {len(data) / 1e6:.1f} MB, the contract allows at most 25 MB")
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, (p.stat().st_mode & 0o777) if p.exists() else 0o644)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(data)


def card_from_checkpoint(state: dict[str, Any], cfg: ModelConfig) -> dict[str, Any]:
    """Training facts for ``hisir.card``."""
    facts = dict(state.get("facts", {}))
    hist = state.get("history", [])
    card: dict[str, Any] = {"config": cfg.to_dict(), **facts, "wall_time_s": round(float(state.get("elapsed_s", 0.0)), 1)}
    if hist:
        last = hist[-1]
        card["final"] = {k: last[k] for k in ("step", "train_loss", "val_loss", "val_mse", "val_ssim", "val_dice") if k in last}
    return card


def ort_session(path: str | os.PathLike[str], threads: int = 2) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ModelError(f"onnxruntime cannot load {path}: {e}") from e


def parity(model: nn.Module, onnx_path: str | os.PathLike[str], batches: tuple[int, ...] = (1, 5), seed: int = 0) -> float:
    """Max abs difference of both outputs between torch and onnxruntime over the given batch sizes."""
    sess = ort_session(onnx_path)
    p = int(read_metadata(onnx.load(str(onnx_path), load_external_data=False))[KEY_PATCH_SIZE])
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    model.eval()
    for n in batches:
        img = torch.rand(n, 3, p, p, generator=g)
        pos = torch.rand(n, 2, generator=g) * 1.2 - 0.1
        with torch.no_grad():
            r, m = model(img, pos)
        ro, mo = sess.run(["reconstruction", "gate"], {"image": img.numpy(), "position": pos.numpy()})
        worst = max(worst, float(np.abs(ro - r.numpy()).max()), float(np.abs(mo - m.numpy()).max()))
    return worst


def export_model(model: nn.Module, cfg: ModelConfig, out: str | os.PathLike[str], name: str, t_diff: float = 0.1, card: dict[str, Any] | None = None) -> dict[str, Any]:
    """Exports, adds the contract metadata, saves atomically and checks onnxruntime parity."""
    if not name or any(c.isspace() for c in name):
        raise ModelError(f"model name {name!r} must be a non-empty word")
    wrapper = ContractWrapper(model, cfg.pe).eval()
    p = cfg.patch_size
    dummy = (torch.rand(2, 3, p, p), torch.rand(2, 2))
    out = Path(out)
    with tempfile.TemporaryDirectory() as td:
        raw = Path(td) / "raw.onnx"
        try:
            torch.onnx.export(
                wrapper,
                dummy,
                str(raw),
                input_names=["image", "position"],
                output_names=["reconstruction", "gate"],
                dynamic_axes={k: {0: "N"} for k in ("image", "position", "reconstruction", "gate")},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        except Exception as e:
            raise ModelError(f"torch cannot export the model to {out}: {e}") from e
        m = onnx.load(str(raw))
    fix_shapes(m, p)
    if m.ir_version > MAX_IR_VERSION:
        m.ir_version = MAX_IR_VERSION
    md = contract_metadata(cfg, name, t_diff)
    if card is not None:
        md[KEY_CARD] = json.dumps(card, sort_keys=True)
    set_metadata(m, md)
    onnx.checker.check_model(m)
    size = save_atomic(m, out)
    from .contract import check_file

    check_file(out)
    diff = parity(wrapper, out)
    if diff > PARITY_TOL:
        raise ModelError(f"{out}: onnxruntime differs from torch by {diff:.2e} (> {PARITY_TOL})")
    return {"bytes": size, "max_abs_diff": diff, "ir_version": m.ir_version, "opset": OPSET}


def export(ckpt: str | os.PathLike[str], out: str | os.PathLike[str], name: str, t_diff: float = 0.1) -> dict[str, Any]:
    """``export`` command: checkpoint -> contract ONNX file."""
    state = load_checkpoint(ckpt)
    model, cfg = model_from_checkpoint(state)
    return export_model(model, cfg, out, name, t_diff, card_from_checkpoint(state, cfg))
