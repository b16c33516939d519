"""Training loop: seeded, resumable, validated at intervals, losses logged to CSV."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from . import data as data_mod
from .errors import CheckpointError, DataError
from .losses import hisir_loss
from .model import ModelConfig, build_model, count_params, default_config, gamma_for

CKPT_NAME = "last.pt"
CSV_NAME = "losses.csv"
CSV_FIELDS = ["step", "lr", "train_loss", "train_mse", "train_ssim", "train_dice", "val_loss", "val_mse", "val_ssim", "val_dice", "elapsed_s"]


@dataclass
class TrainOptions:
    """Everything ``train`` needs; mirrors the command line."""

    data: list[str]
    out: str
    backbone: str = "swin"
    gate: bool = True
    pe: bool = True
    steps: int = 2000
    batch: int = 8
    lr: float = 1e-3
    device: str = "cpu"
    resume: bool = False
    seed: int = 42
    val_split: float = 0.1
    val_every: int = 0  # 0: steps/10
    val_samples: int = 64
    pattern: str | None = None
    patch: int = 128
    threads: int = 2
    p_clean: float = 0.2
    config: dict[str, Any] = field(default_factory=dict)  # overrides of ModelConfig fields
    progress: bool = True
    stop_at: int = 0  # stop after this step (an interrupted run; resume continues it)
    max_minutes: float = 0.0  # wall-clock guard: validate, checkpoint and stop once exceeded


def machine() -> str:
    """CPU model and count (and the GPU when CUDA is in use), for the card."""
    name = platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    out = f"{name}, {os.cpu_count()} cpus"
    if torch.cuda.is_available():
        out += f", {torch.cuda.get_device_name(0)}"
    return out


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomic write: a crash never leaves a half-written checkpoint behind."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Loads a checkpoint written by :func:`train`; a directory means its ``last.pt``."""
    p = Path(path)
    if p.is_dir():
        p = p / CKPT_NAME
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        state = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"checkpoint {p} is corrupt or not a torch file: {e}") from e
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise CheckpointError(f"checkpoint {p} is not a hisir_train checkpoint (no model/config)")
    return state


def model_from_checkpoint(state: dict[str, Any]) -> tuple[torch.nn.Module, ModelConfig]:
    cfg = ModelConfig.from_dict(state["config"])
    model = build_model(cfg)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint weights do not fit its config: {e}") from e
    model.eval()
    return model, cfg


def _lr_at(step: int, total: int, base: float) -> float:
    warm = max(1, min(100, total // 20))
    if step < warm:
        return base * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def _to(b: data_mod.Batch, dev: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(a).to(dev) for a in (b.clean, b.damaged, b.mask, b.position))


def training_outputs(model: torch.nn.Module, image: torch.Tensor, position: torch.Tensor, cfg: ModelConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(gated output, gate, R)`` for the loss."""
    return model.forward_train(image, position)


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: list[data_mod.Batch], cfg: ModelConfig, dev: torch.device) -> dict[str, float]:
    """Mean validation loss terms over fixed batches."""
    model.eval()
    acc = {"loss": 0.0, "mse": 0.0, "ssim": 0.0, "dice": 0.0}
    for b in batches:
        clean, dam, mask, pos = _to(b, dev)
        out, gate, recon = training_outputs(model, dam, pos, cfg)
        lp = hisir_loss(out, clean, gate, mask, gamma_for(cfg.backbone), cfg.gate, recon)
        acc["loss"] += float(lp.total)
        acc["mse"] += lp.mse
        acc["ssim"] += lp.ssim
        acc["dice"] += lp.dice
    model.train()
    return {k: v / max(1, len(batches)) for k, v in acc.items()}


def train(opt: TrainOptions) -> dict[str, Any]:
    """Trains (or resumes) and returns the final checkpoint state."""
    torch.set_num_threads(opt.threads)
    if opt.device == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda asked but torch sees no CUDA device")
    dev = torch.device(opt.device)
    out = Path(opt.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CKPT_NAME

    files = data_mod.list_images(opt.data, opt.pattern)
    train_files, val_files = data_mod.split(files, opt.val_split, opt.seed)

    state: dict[str, Any] | None = None
    if opt.resume:
        state = load_checkpoint(ckpt_path)
        cfg = ModelConfig.from_dict(state["config"])
        train_files = [Path(f) for f in state["train_files"]]
        val_files = [Path(f) for f in state["val_files"]]
    else:
        cfg = default_config(opt.backbone, opt.patch, opt.gate, opt.pe)
        for k, v in opt.config.items():
            setattr(cfg, k, tuple(v) if isinstance(v, list) else v)

    torch.manual_seed(opt.seed)
    rng = np.random.default_rng(opt.seed)
    model = build_model(cfg).to(dev)
    optim = torch.optim.AdamW(model.parameters(), lr=opt.lr, weight_decay=1e-4)
    start, elapsed0 = 0, 0.0
    history: list[dict[str, Any]] = []
    if state is not None:
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        start = int(state["step"])
        elapsed0 = float(state.get("elapsed_s", 0.0))
        history = list(state.get("history", []))
        rng.bit_generator.state = state["np_rng"]
        torch.set_rng_state(state["torch_rng"])

    sampler = data_mod.CropSampler(train_files, cfg.patch_size, opt.p_clean)
    val_sampler = data_mod.CropSampler(val_files, cfg.patch_size, opt.p_clean) if val_files else sampler
    vrng = np.random.default_rng(opt.seed + 1)
    val_batches = [val_sampler.sample(vrng, min(opt.batch, opt.val_samples - i)) for i in range(0, opt.val_samples, opt.batch)]
    val_every = opt.val_every or max(1, opt.steps // 10)
    gamma = gamma_for(cfg.backbone)

    csv_path = out / CSV_NAME
    if start == 0 or not csv_path.exists():
        with open(csv_path, "w", newline="") as fh:
            csv.DictWriter(fh, CSV_FIELDS).writeheader()
    (out / "split.json").write_text(json.dumps({"train": [str(f) for f in train_files], "val": [str(f) for f in val_files]}, indent=1))

    t0 = time.time()
    run = {"loss": 0.0, "mse": 0.0, "ssim": 0.0, "dice": 0.0, "n": 0}
    model.train()
    bar = tqdm(range(start, opt.steps), initial=start, total=opt.steps, desc=f"train {cfg.backbone}", disable=not opt.progress, unit="step")
    last_state: dict[str, Any] = state or {}
    for step in bar:
        lr = _lr_at(step, opt.steps, opt.lr)
        for g in optim.param_groups:
            g["lr"] = lr
        clean, dam, mask, pos = _to(sampler.sample(rng, opt.batch), dev)
        outp, gate, recon = training_outputs(model, dam, pos, cfg)
        lp = hisir_loss(outp, clean, gate, mask, gamma, cfg.gate, recon)
        optim.zero_grad(set_to_none=True)
        lp.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        run["loss"] += float(lp.total.detach())
        run["mse"] += lp.mse
        run["ssim"] += lp.ssim
        run["dice"] += lp.dice
        run["n"] += 1
        bar.set_postfix(loss=f"{float(lp.total.detach()):.4f}")
        over_time = opt.max_minutes > 0 and (time.time() - t0) > opt.max_minutes * 60
        if (step + 1) % val_every == 0 or step + 1 == opt.steps or over_time:
            v = evaluate(model, val_batches, cfg, dev)
            n = run["n"]
            row = {
                "step": step + 1,
                "lr": f"{lr:.6g}",
                "train_loss": run["loss"] / n,
                "train_mse": run["mse"] / n,
                "train_ssim": run["ssim"] / n,
                "train_dice": run["dice"] / n,
                "val_loss": v["loss"],
                "val_mse": v["mse"],
                "val_ssim": v["ssim"],
                "val_dice": v["dice"],
                "elapsed_s": round(elapsed0 + time.time() - t0, 1),
            }
            history.append(row)
            with open(csv_path, "a", newline="") as fh:
                csv.DictWriter(fh, CSV_FIELDS).writerow(row)
            run = {"loss": 0.0, "mse": 0.0, "ssim": 0.0, "dice": 0.0, "n": 0}
            last_state = {
                "config": cfg.to_dict(),
                "model": {k: t.detach().cpu() for k, t in model.state_dict().items()},
                "optim": optim.state_dict(),
                "step": step + 1,
                "np_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "history": history,
                "train_files": [str(f) for f in train_files],
                "val_files": [str(f) for f in val_files],
                "elapsed_s": elapsed0 + time.time() - t0,
                "facts": {
                    "data": [str(d) for d in opt.data],
                    "pattern": opt.pattern,
                    "train_images": len(train_files),
                    "val_images": len(val_files),
                    "steps": step + 1,
                    "batch": opt.batch,
                    "lr": opt.lr,
                    "seed": opt.seed,
                    "device": opt.device,
                    "threads": opt.threads,
                    "params": count_params(model),
                    "machine": machine(),
                    "torch": torch.__version__,
                },
            }
            save_checkpoint(ckpt_path, last_state)
            if opt.progress:
                tqdm.write(f"step {step + 1}: train {row['train_loss']:.5f} val {v['loss']:.5f} (mse {v['mse']:.5f} ssim {v['ssim']:.4f} dice {v['dice']:.4f})")
        if (opt.stop_at and step + 1 >= opt.stop_at) or over_time:
            break
    return last_state
