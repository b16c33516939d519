"""Image folders, train/validation splits and random damaged crops."""

from __future__ import annotations

import fnmatch
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .augment import Source, damage
from .errors import DataError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

Image.MAX_IMAGE_PIXELS = 400_000_000


def resolve_data_dir(path: str | os.PathLike[str]) -> Path:
    """A SIPCBA dataset folder means its ``train/good``; any other folder is used as is."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data folder {p} does not exist")
    if p.is_dir() and (p / "train" / "good").is_dir():
        return p / "train" / "good"
    return p


def list_images(paths: list[str] | str, pattern: str | None = None) -> list[Path]:
    """All images (png/jpg/tif) under the given folders (recursive) or files, sorted.

    ``pattern`` is an optional shell pattern on the file name (e.g. ``*_temp.jpg``).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # type: ignore[list-item]
    found: list[Path] = []
    for raw in paths:
        p = resolve_data_dir(raw)
        if p.is_file():
            cands = [p]
        else:
            cands = [q for q in p.rglob("*") if q.is_file()]
        for q in cands:
            if q.suffix.lower() in IMAGE_EXTS and (pattern is None or fnmatch.fnmatch(q.name, pattern)):
                found.append(q)
    found = sorted(set(found))
    if not found:
        what = ", ".join(str(p) for p in paths)
        extra = f" matching {pattern!r}" if pattern else ""
        raise DataError(f"no images (png/jpg/tif){extra} found in {what}")
    return found


def load_raw(path: Path) -> tuple[np.ndarray, float]:
    """Pixels (uint8 or uint16, 2D grey or RGB) and the divisor that maps them to [0,1].

    The EXIF orientation tag is applied, as the Go engine does, so a phone photo shot in
    portrait is upright on both sides of the model contract.
    """
    try:
        with Image.open(path) as raw:
            raw.load()
            im = ImageOps.exif_transpose(raw)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im, dtype=np.uint16)
                return a, 65535.0
            if im.mode == "L":
                return np.asarray(im, dtype=np.uint8), 255.0
            if im.mode != "RGB":
                im = im.convert("RGB")
            return np.asarray(im, dtype=np.uint8), 255.0
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataError(f"cannot read image {path}: {e}") from e


def load_image(path: Path) -> np.ndarray:
    """An image as float32 ``[H,W,3]`` in [0,1] (8-bit / 255, 16-bit / 65535)."""
    a, scale = load_raw(path)
    f = a.astype(np.float32) / np.float32(scale)
    if f.ndim == 2:
        f = np.repeat(f[..., None], 3, axis=2)
    return np.ascontiguousarray(f[..., :3])


def split(files: list[Path], val_split: float, seed: int) -> tuple[list[Path], list[Path]]:
    """Deterministic train/validation split; at least one image stays in training."""
    if val_split <= 0 or len(files) < 2:
        return list(files), []
    n_val = min(len(files) - 1, max(1, int(math.floor(len(files) * val_split + 0.5))))
    order = np.random.default_rng(seed).permutation(len(files))
    val = sorted(files[i] for i in order[:n_val])
    train = sorted(files[i] for i in order[n_val:])
    return train, val


@dataclass
class Batch:
    """A training batch (NCHW float32 arrays)."""

    clean: np.ndarray  # [N,3,P,P]
    damaged: np.ndarray  # [N,3,P,P]
    mask: np.ndarray  # [N,1,P,P] float 0/1
    position: np.ndarray  # [N,2]


class CropSampler:
    """Random ``P``x``P`` crops of in-memory images, damaged by :func:`augment.damage`."""

    def __init__(self, files: list[Path], patch: int, p_clean: float = 0.2) -> None:
        self.patch = patch
        self.p_clean = p_clean
        self.images: list[tuple[np.ndarray, float]] = []
        for f in files:
            a, s = load_raw(f)
            if a.shape[0] < patch or a.shape[1] < patch:
                raise DataError(f"image {f} is {a.shape[1]}x{a.shape[0]}, smaller than the {patch}x{patch} patch")
            self.images.append((a, s))
        if not self.images:
            raise DataError("no images to sample from")

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        p = self.patch
        clean = np.empty((n, 3, p, p), np.float32)
        dam = np.empty((n, 3, p, p), np.float32)
        mask = np.empty((n, 1, p, p), np.float32)
        pos = np.empty((n, 2), np.float32)
        for i in range(n):
            a, s = self.images[int(rng.integers(0, len(self.images)))]
            h, w = a.shape[:2]
            y, x = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
            src = Source(a, s, y, x)
            c = src.crop(y, x, p, p)
            d, m = damage(c, rng, src, self.p_clean)
            clean[i] = c.transpose(2, 0, 1)
            dam[i] = d.transpose(2, 0, 1)
            mask[i, 0] = m
            pos[i] = ((x + p / 2) / w, (y + p / 2) / h)
        return Batch(clean, dam, mask, pos)
