"""Shared fixtures: tiny model configs, a folder of small textured images, the repo root."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hisir_train.model import ModelConfig


def repo_root() -> Path:
    """The repository root: the first folder above this file holding go.mod."""
    d = Path(__file__).resolve().parent
    while not (d / "go.mod").exists():
        if d.parent == d:
            raise RuntimeError("go.mod not found above the tests")
        d = d.parent
    return d


def tiny_config(backbone: str = "swin", gate: bool = True, pe: bool = True) -> ModelConfig:
    """A model small enough to train and export in seconds; Swin keeps a shifted block."""
    return ModelConfig(backbone=backbone, patch_size=32, gate=gate, pe=pe, embed_dim=16, depths=(2, 2), heads=(2, 2), window=4, resnet_widths=(8, 16))


TINY_OVERRIDES = {"embed_dim": 16, "depths": [2, 2], "heads": [2, 2], "window": 4, "resnet_widths": [8, 16]}


def textured(w: int, h: int, seed: int) -> np.ndarray:
    """A board-like RGB uint8 image: smooth gradients, rectangles ("parts") and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.3 + 0.2 * np.sin(xx / 7 + c) * np.cos(yy / 5 - c) for c in range(3)], axis=-1)
    for _ in range(6):
        x, y = rng.integers(0, w - 8), rng.integers(0, h - 8)
        img[y : y + int(rng.integers(4, 12)), x : x + int(rng.integers(4, 12))] = rng.random(3)
    img += rng.normal(0, 0.02, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    d = tmp_path / "imgs"
    (d / "sub").mkdir(parents=True)
    for k in range(4):
        Image.fromarray(textured(72, 56, k)).save(d / ("sub" if k % 2 else "") / f"n{k}.png")
    Image.fromarray(textured(64, 64, 9)[..., 0]).save(d / "grey.jpg")
    return d
