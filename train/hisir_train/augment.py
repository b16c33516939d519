"""Damage augmentations for self-supervised training.

Every augmentation takes a clean patch (``float32 [P,P,3]`` in [0,1]), a random generator and a
:class:`Source` (the full image the patch was cut from) and returns ``(damaged, mask)`` where
``mask`` (``bool [P,P]``) is the pseudo ground truth: exactly the pixels whose value changed in
any channel. Work happens only inside a local region, on whole arrays (no per-pixel loops).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Rng = np.random.Generator


@dataclass
class Source:
    """The full image a patch was cut from (for pasting crops taken elsewhere in it)."""

    pixels: np.ndarray  # [H,W] or [H,W,C], uint8 or uint16 or float
    scale: float  # divide by this to get [0,1]
    y0: int = 0  # where the patch sits in the image
    x0: int = 0

    def crop(self, y: int, x: int, h: int, w: int) -> np.ndarray:
        a = self.pixels[y : y + h, x : x + w]
        a = a.astype(np.float32) / self.scale
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        return a[..., :3]


def changed(orig: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Pixels whose value differs in any channel."""
    return np.any(out != orig, axis=-1)


def _finish(orig: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out, changed(orig, out)


def _rect(rng: Rng, p: int, lo: int, hi: int, margin: int = 0) -> tuple[int, int, int, int]:
    """Random rectangle ``(y, x, h, w)`` inside a ``p``x``p`` patch, sides in ``[lo, hi]``."""
    h = int(rng.integers(lo, hi + 1))
    w = int(rng.integers(lo, hi + 1))
    h, w = min(h, p - 2 * margin), min(w, p - 2 * margin)
    y = int(rng.integers(margin, p - margin - h + 1))
    x = int(rng.integers(margin, p - margin - w + 1))
    return y, x, h, w


def random_masking(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One to three rectangles filled with a flat random colour or uniform noise."""
    p = crop.shape[0]
    out = crop.copy()
    for _ in range(int(rng.integers(1, 4))):
        y, x, h, w = _rect(rng, p, 8, 40)
        if rng.random() < 0.5:
            out[y : y + h, x : x + w] = rng.random(3, dtype=np.float32)
        else:
            out[y : y + h, x : x + w] = rng.random((h, w, 3), dtype=np.float32)
    return _finish(crop, out)


def geometric_region(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A square region flipped, rotated, transposed or replaced by a shifted copy of the patch."""
    p = crop.shape[0]
    s = min(int(rng.integers(16, 49)), p)
    y, x, _, _ = _rect(rng, p, s, s)
    region = crop[y : y + s, x : x + s]
    kind = int(rng.integers(0, 5))
    if kind == 0:
        new = region[:, ::-1]
    elif kind == 1:
        new = region[::-1, :]
    elif kind == 2:
        new = np.rot90(region, k=int(rng.integers(1, 4)))
    elif kind == 3:
        new = region.transpose(1, 0, 2)
    else:
        yy, xx, _, _ = _rect(rng, p, s, s)
        new = crop[yy : yy + s, xx : xx + s]
    out = crop.copy()
    out[y : y + s, x : x + s] = new
    return _finish(crop, out)


def pixel_drop(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Selective pixel drops: a random share of the pixels of a region set to black."""
    p = crop.shape[0]
    y, x, h, w = _rect(rng, p, 16, p)
    rate = float(rng.uniform(0.05, 0.5))
    drop = rng.random((h, w)) < rate
    out = crop.copy()
    out[y : y + h, x : x + w][drop] = 0.0
    return _finish(crop, out)


def paste_component(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A crop taken elsewhere in the same image pasted into the patch (a misplaced/extra part)."""
    p = crop.shape[0]
    y, x, h, w = _rect(rng, p, 12, 40)
    if src is None or src.pixels.shape[0] < h or src.pixels.shape[1] < w:
        piece = crop[::-1, ::-1][y : y + h, x : x + w]
    else:
        sh, sw = src.pixels.shape[:2]
        piece = src.crop(int(rng.integers(0, sh - h + 1)), int(rng.integers(0, sw - w + 1)), h, w)
    if rng.random() < 0.5:
        piece = piece[::-1]
    out = crop.copy()
    out[y : y + h, x : x + w] = piece
    return _finish(crop, out)


def _grid(p: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:p, 0:p]
    return yy.astype(np.float32), xx.astype(np.float32)


def solder_blob(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shiny solder-like blobs (ellipses) or a bridge (thick segment) in metallic grey."""
    p = crop.shape[0]
    yy, xx = _grid(p)
    shape = np.zeros((p, p), dtype=bool)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(8, p - 8, size=2)
            ry, rx = rng.uniform(3, 14, size=2)
            shape |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    else:
        a = rng.uniform(10, p - 10, size=2)
        b = a + rng.uniform(-40, 40, size=2)
        b = np.clip(b, 4, p - 4)
        width = float(rng.uniform(1.5, 4.0))
        shape = _segment_dist(yy, xx, a, b) <= width
    base = float(rng.uniform(0.55, 0.9))
    shade = base * (0.85 + 0.3 * (1.0 - (yy + xx) / (2.0 * p)))  # light from the top left
    colour = np.clip(shade[..., None] * np.array([1.0, 0.98, 0.93], dtype=np.float32), 0.0, 1.0)
    out = crop.copy()
    out[shape] = colour[shape]
    return _finish(crop, out)


def _segment_dist(yy: np.ndarray, xx: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    n = float(d @ d) or 1.0
    t = np.clip(((yy - a[0]) * d[0] + (xx - a[1]) * d[1]) / n, 0.0, 1.0)
    return np.hypot(yy - (a[0] + t * d[0]), xx - (a[1] + t * d[1]))


def debris_fibre(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A thin fibre (random polyline) or a few specks of debris, dark or light."""
    p = crop.shape[0]
    yy, xx = _grid(p)
    shape = np.zeros((p, p), dtype=bool)
    if rng.random() < 0.6:
        pt = rng.uniform(0, p, size=2)
        width = float(rng.uniform(0.6, 1.6))
        for _ in range(int(rng.integers(2, 6))):
            nxt = np.clip(pt + rng.uniform(-30, 30, size=2), 0, p - 1)
            shape |= _segment_dist(yy, xx, pt, nxt) <= width
            pt = nxt
    else:
        for _ in range(int(rng.integers(2, 8))):
            cy, cx = rng.uniform(0, p, size=2)
            r = float(rng.uniform(1.0, 3.5))
            shape |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    colour = rng.uniform(0.0, 0.2, size=3) if rng.random() < 0.5 else rng.uniform(0.75, 1.0, size=3)
    out = crop.copy()
    out[shape] = colour.astype(np.float32)
    return _finish(crop, out)


def removed_part(crop: np.ndarray, rng: Rng, src: Source | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A region filled from its surroundings (a missing part): Coons-style blend of its borders."""
    p = crop.shape[0]
    y, x, h, w = _rect(rng, p, 10, 40, margin=1)
    top, bot = crop[y - 1, x : x + w], crop[y + h, x : x + w]  # [w,3]
    left, right = crop[y : y + h, x - 1], crop[y : y + h, x + w]  # [h,3]
    t = ((np.arange(h, dtype=np.float32) + 1) / (h + 1))[:, None, None]
    u = ((np.arange(w, dtype=np.float32) + 1) / (w + 1))[None, :, None]
    vert = top[None] * (1 - t) + bot[None] * t
    horz = left[:, None] * (1 - u) + right[:, None] * u
    fill = 0.5 * (vert + horz) + rng.normal(0, 0.01, size=(h, w, 3)).astype(np.float32)
    out = crop.copy()
    out[y : y + h, x : x + w] = fill
    return _finish(crop, out)


Augmentation = Callable[[np.ndarray, Rng, "Source | None"], tuple[np.ndarray, np.ndarray]]

AUGMENTATIONS: dict[str, Augmentation] = {
    "random_masking": random_masking,
    "geometric_region": geometric_region,
    "pixel_drop": pixel_drop,
    "paste_component": paste_component,
    "solder_blob": solder_blob,
    "debris_fibre": debris_fibre,
    "removed_part": removed_part,
}


def damage(crop: np.ndarray, rng: Rng, src: Source | None = None, p_clean: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Applies none (share ``p_clean``), one or two random augmentations; mask = changed pixels."""
    if rng.random() < p_clean:
        return crop.copy(), np.zeros(crop.shape[:2], dtype=bool)
    names = list(AUGMENTATIONS)
    out = crop
    for _ in range(1 if rng.random() < 0.7 else 2):
        out, _ = AUGMENTATIONS[names[int(rng.integers(0, len(names)))]](out, rng, src)
    return out, changed(crop, out)
