"""The contract's inference pipeline in vectorised numpy (docs/model-contract.md, steps 1-6).

It mirrors the Go engine (engine/pipeline.go) closely enough to reproduce the shared vectors in
testdata/contract/pipeline.json within 1e-5: reflect-101 padding, stride-S tiling, ROPS /
average / none merging, channel reduction, Gaussian blur. Patches are processed one patch row
at a time, so memory stays at two rows of reconstructions even for 4K images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

ReconFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``recon(images [n,3,P,P] float32, positions [n,2] float32) -> reconstructions [n,3,P,P]``."""

MERGES = ("rops", "average", "none")
CELL_STATS = ("max", "mean")
REDUCES = ("mean", "max")


@dataclass(frozen=True)
class Settings:
    """Pipeline variant (contract steps 4-5)."""

    merge: str = "rops"
    cell_stat: str = "max"
    reduce: str = "mean"
    blur_sigma: float = 2.0
    t_diff: float = 0.1

    def check(self) -> None:
        if self.merge not in MERGES or self.cell_stat not in CELL_STATS or self.reduce not in REDUCES:
            raise ValueError(f"unknown pipeline settings {self}")
        if not self.blur_sigma >= 0 or not self.t_diff >= 0:
            raise ValueError(f"blur sigma and t_diff must be non-negative: {self}")


def reflect(i: np.ndarray, n: int) -> np.ndarray:
    """Reflect-101 index mapping, repeated (period ``2(n-1)``); all zeros when ``n = 1``."""
    i = np.asarray(i)
    if n <= 1:
        return np.zeros_like(i)
    p = 2 * (n - 1)
    i = np.mod(i, p)
    return np.where(i >= n, p - i, i)


@dataclass(frozen=True)
class Grid:
    """Padding and tiling of a ``W``x``H`` image (contract steps 1-3)."""

    w: int
    h: int
    p: int

    @property
    def s(self) -> int:
        return self.p // 2

    def _pad(self, n: int) -> int:
        s = self.s
        return n + 2 * s + (s - n % s) % s

    @property
    def wp(self) -> int:
        return self._pad(self.w)

    @property
    def hp(self) -> int:
        return self._pad(self.h)

    @property
    def cols(self) -> int:
        return (self.wp - self.p) // self.s + 1

    @property
    def rows(self) -> int:
        return (self.hp - self.p) // self.s + 1

    @property
    def cells(self) -> tuple[int, int]:
        """Cell columns and rows holding image pixels (padded cells 1..cx, 1..cy)."""
        return -(-self.w // self.s), -(-self.h // self.s)

    def positions(self, i: int, js: np.ndarray) -> np.ndarray:
        """Contract positions of patches ``(i, j)`` for ``j`` in ``js``: ``[n,2]`` float32."""
        cx = js * self.s + self.p // 2 - self.s
        cy = i * self.s + self.p // 2 - self.s
        out = np.empty((len(js), 2), np.float32)
        out[:, 0] = (cx / self.w).astype(np.float32)
        out[:, 1] = np.float32(cy / self.h)
        return out


def patch_row(img: np.ndarray, g: Grid, i: int, js: np.ndarray) -> np.ndarray:
    """Patches ``(i, j)`` of the reflect-padded planar image ``[3,H,W]``: ``[n,3,P,P]``."""
    p, s = g.p, g.s
    ys = reflect(np.arange(i * s - s, i * s - s + p), g.h)
    xs = reflect(np.arange(g.wp) - s, g.w)
    band = img[:, ys][:, :, xs]  # [3,P,Wp]
    idx = js[:, None] * s + np.arange(p)[None, :]  # [n,P]
    return np.ascontiguousarray(band[:, :, idx].transpose(2, 0, 1, 3))  # [n,3,P,P]


def quarter_stats(inp: np.ndarray, out: np.ndarray, mean: bool) -> np.ndarray:
    """Cell statistic of ``|in-out|`` per quarter: ``[n,2,2]`` (quarter row, quarter column)."""
    n, _, p, _ = inp.shape
    s = p // 2
    d = np.abs(inp - out).reshape(n, 3, 2, s, 2, s)
    if mean:
        return d.astype(np.float64).mean(axis=(1, 3, 5)).astype(np.float32)
    return d.max(axis=(1, 3, 5))


def _batched(fn: ReconFn, x: np.ndarray, pos: np.ndarray, batch: int) -> np.ndarray:
    outs = [np.asarray(fn(x[k : k + batch], pos[k : k + batch]), dtype=np.float32) for k in range(0, len(x), batch)]
    return np.concatenate(outs, axis=0)


def _reduce(merged: np.ndarray, image: np.ndarray, how: str) -> np.ndarray:
    d = np.abs(merged - image)  # [3,h,w] float32
    if how == "max":
        return np.maximum(np.maximum(d[0], d[1]), d[2])
    return ((d[0] + d[1]) + d[2]) / np.float32(3)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """Taps of a Gaussian truncated at 3 sigma (radius ``floor(3*sigma+0.5)``), float32."""
    r = int(3 * sigma + 0.5)
    k = np.arange(-r, r + 1, dtype=np.float64)
    w = np.exp(-k * k / (2 * sigma * sigma))
    return (w / w.sum()).astype(np.float32)


def blur(m: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (rows, then columns), reflect-101 borders, float32 in tap order."""
    if sigma <= 0:
        return m.copy()
    w = gaussian_kernel(sigma)
    r = len(w) // 2
    h, wd = m.shape
    xs = reflect(np.arange(wd + 2 * r) - r, wd)
    src = m[:, xs]
    tmp = np.zeros((h, wd), np.float32)
    for k, wk in enumerate(w):
        tmp += wk * src[:, k : k + wd]
    ys = reflect(np.arange(h + 2 * r) - r, h)
    src = tmp[ys]
    out = w[0] * src[0:h]
    for k in range(1, len(w)):
        out += w[k] * src[k : k + h]
    return out


def run(image: np.ndarray, recon: ReconFn, p: int, st: Settings, batch: int = 32, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Raw anomaly map ``[H,W]`` float32 of a planar ``[3,H,W]`` float32 image (contract step 5)."""
    st.check()
    img = np.ascontiguousarray(image, dtype=np.float32)
    _, h, w = img.shape
    g = Grid(w, h, p)
    s = g.s
    raw = np.zeros((h, w), np.float32)
    if st.merge == "none":
        rows = list(range(1, g.rows, 2))
        js = np.arange(1, g.cols, 2)
    else:
        rows = list(range(g.rows))
        js = np.arange(g.cols)
    total, done = len(rows) * len(js), 0
    prev: tuple[np.ndarray, np.ndarray] | None = None
    ncx, _ = g.cells
    for i in rows:
        x = patch_row(img, g, i, js)
        out = _batched(recon, x, g.positions(i, js), batch)
        done += len(js)
        if progress is not None:
            progress(done, total)
        if st.merge == "none":
            # odd patches tile the image from its origin: patch row i covers image rows (i-1)S..(i+1)S
            strip = out.transpose(1, 2, 0, 3).reshape(3, p, len(js) * p)[:, :, :w]
            y0, y1 = (i - 1) * s, min((i + 1) * s, h)
            raw[y0:y1] = _reduce(strip[:, : y1 - y0], img[:, y0:y1], st.reduce)
            continue
        stats = quarter_stats(x, out, st.cell_stat == "mean") if st.merge == "rops" else None
        cur = (out, stats)
        if prev is not None:
            _finish_row(img, g, i, prev, cur, st, raw, ncx)
        prev = cur
    return blur(raw, st.blur_sigma)


def _finish_row(img: np.ndarray, g: Grid, r: int, prev: tuple[np.ndarray, np.ndarray | None], cur: tuple[np.ndarray, np.ndarray | None], st: Settings, raw: np.ndarray, ncx: int) -> None:
    """Merges cell row ``r`` (covered by patch rows r-1 and r) into ``raw``."""
    s, p, h, w = g.s, g.p, g.h, g.w
    y0, y1 = (r - 1) * s, min(r * s, h)
    if y0 >= y1:
        return
    pq = prev[0].reshape(-1, 3, 2, s, 2, s)
    cq = cur[0].reshape(-1, 3, 2, s, 2, s)
    # covering patches in row-major order: (r-1,c-1) BR, (r-1,c) BL, (r,c-1) TR, (r,c) TL
    cands = [pq[0:ncx, :, 1, :, 1], pq[1 : ncx + 1, :, 1, :, 0], cq[0:ncx, :, 0, :, 1], cq[1 : ncx + 1, :, 0, :, 0]]
    merged = ((cands[0] + cands[1]) + cands[2]) + cands[3]
    merged = merged * np.float32(0.25)  # [ncx,3,S,S]
    if st.merge == "rops":
        ps, cs = prev[1], cur[1]
        assert ps is not None and cs is not None
        d = np.stack([ps[0:ncx, 1, 1], ps[1 : ncx + 1, 1, 0], cs[0:ncx, 0, 1], cs[1 : ncx + 1, 0, 0]])  # [4,ncx]
        best = np.argmax(d, axis=0)
        use = d[best, np.arange(ncx)] >= np.float32(st.t_diff)
        stacked = np.stack(cands)  # [4,ncx,3,S,S]
        chosen = stacked[best, np.arange(ncx)]
        merged = np.where(use[:, None, None, None], chosen, merged)
    band = merged.transpose(1, 2, 0, 3).reshape(3, s, ncx * s)[:, : y1 - y0, :w]
    raw[y0:y1] = _reduce(band, img[:, y0:y1], st.reduce)


def calibrated(raw: np.ndarray, q50: float, q999: float) -> np.ndarray:
    """Calibrated score ``max(0, (raw-q50)/(q999-q50))`` (contract step 6)."""
    k = 1.0 / (q999 - q50)
    return np.maximum(0.0, (raw.astype(np.float64) - q50) * k).astype(np.float32)


def minmax(raw: np.ndarray) -> np.ndarray:
    """Per-image min-max normalisation; zeros when the map is flat."""
    lo, hi = float(raw.min()), float(raw.max())
    if not hi > lo:
        return np.zeros_like(raw)
    return ((raw.astype(np.float64) - lo) / (hi - lo)).astype(np.float32)


def iter_patches(img: np.ndarray, p: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """All stride-S patches row by row: ``(i, patches [cols,3,P,P], positions [cols,2])``."""
    g = Grid(img.shape[2], img.shape[1], p)
    js = np.arange(g.cols)
    for i in range(g.rows):
        yield i, patch_row(img, g, i, js), g.positions(i, js)
