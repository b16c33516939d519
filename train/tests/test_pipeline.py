"""The numpy pipeline reproduces the shared contract vectors (testdata/contract/pipeline.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from conftest import repo_root
from hisir_train import pipeline as pl

TOL = 1e-5


@lru_cache(maxsize=1)
def vectors() -> dict[str, Any]:
    return json.loads((repo_root() / "testdata" / "contract" / "pipeline.json").read_text())


def _setup() -> tuple[np.ndarray, np.ndarray, pl.Grid, dict[str, Any]]:
    d = vectors()
    w, h, p = d["width"], d["height"], d["patch"]
    img = np.array(d["image"], np.float32).reshape(3, h, w)
    rec = np.array(d["reconstructions"], np.float32).reshape(-1, 3, p, p)
    return img, rec, pl.Grid(w, h, p), d


def _lookup(rec: np.ndarray, g: pl.Grid, calls: list[int]) -> pl.ReconFn:
    """A fake model that returns the vectors' reconstruction of the patch at each position."""

    def fn(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
        cx = np.rint(pos[:, 0].astype(np.float64) * g.w).astype(int)
        cy = np.rint(pos[:, 1].astype(np.float64) * g.h).astype(int)
        j = (cx - g.p // 2 + g.s) // g.s
        i = (cy - g.p // 2 + g.s) // g.s
        calls.append(len(x))
        return rec[i * g.cols + j]

    return fn


def test_tiling_and_positions_match() -> None:
    img, rec, g, d = _setup()
    pos = np.array(d["positions"], np.float32)
    assert g.rows * g.cols == len(rec)
    for i, x, ps in pl.iter_patches(img, g.p):
        assert np.array_equal(ps, pos[i * g.cols : (i + 1) * g.cols])
        assert x.shape == (g.cols, 3, g.p, g.p)
        # patch (i, 1)'s top-left pixel is image pixel (0, i*S - S) reflected
        y = int(pl.reflect(np.array([i * g.s - g.s]), g.h)[0])
        assert np.array_equal(x[1, :, 0, 0], img[:, y, 0])


@pytest.mark.parametrize("k", range(14))
def test_case_reproduced(k: int) -> None:
    img, rec, g, d = _setup()
    c = d["cases"][k]
    st = pl.Settings(c["merge"], c["cell_stat"], c["reduce"], float(c["blur_sigma"]), d["t_diff"])
    calls: list[int] = []
    raw = pl.run(img, _lookup(rec, g, calls), g.p, st, batch=5)
    want = np.array(c["raw"], np.float32).reshape(g.h, g.w)
    assert raw.shape == want.shape
    assert float(np.abs(raw - want).max()) <= TOL, f"case {k} {c}"
    assert max(calls) <= 5
    expected_patches = g.rows * g.cols if c["merge"] != "none" else len(range(1, g.rows, 2)) * len(range(1, g.cols, 2))
    assert sum(calls) == expected_patches


def test_calibrated_score_reproduced() -> None:
    d = vectors()
    cal = d["calibration"]
    raw = np.array(d["cases"][cal["case"]]["raw"], np.float32)
    got = pl.calibrated(raw, cal["q50"], cal["q999"])
    assert float(np.abs(got - np.array(cal["score"], np.float32)).max()) <= TOL


def test_rops_differs_from_average() -> None:
    d = vectors()
    kinds = {c["merge"]: np.array(c["raw"]) for c in d["cases"] if c["cell_stat"] == "max" and c["reduce"] == "mean" and c["blur_sigma"] == 0}
    assert np.abs(kinds["rops"] - kinds["average"]).max() > 1e-3


@pytest.mark.parametrize(
    "i,n,want",
    [(-1, 5, 1), (-2, 5, 2), (5, 5, 3), (8, 5, 0), (9, 5, 1), (-7, 3, 1), (3, 1, 0), (-4, 2, 0), (2, 2, 0), (3, 2, 1)],
)
def test_reflect(i: int, n: int, want: int) -> None:
    assert int(pl.reflect(np.array([i]), n)[0]) == want


@pytest.mark.parametrize(
    "w,h,p,wp,hp",
    [(37, 23, 8, 48, 32), (128, 128, 128, 256, 256), (1, 1, 8, 12, 12), (3840, 2160, 128, 3968, 2304)],
)
def test_grid(w: int, h: int, p: int, wp: int, hp: int) -> None:
    g = pl.Grid(w, h, p)
    assert (g.wp, g.hp) == (wp, hp)
    assert g.wp % g.s == 0 and g.wp - w - g.s >= g.s
    assert g.cols == (wp - p) // (p // 2) + 1


def test_tiny_image_and_identity_model() -> None:
    # a 1x1 and a 3x2 image through an identity model: the raw map is all zeros
    for w, h in [(1, 1), (3, 2), (20, 9)]:
        img = np.random.default_rng(0).random((3, h, w), dtype=np.float32)
        raw = pl.run(img, lambda x, pos: x, 8, pl.Settings(blur_sigma=2.0))
        assert raw.shape == (h, w) and float(np.abs(raw).max()) == 0.0


def test_gaussian_kernel() -> None:
    k = pl.gaussian_kernel(2.0)
    assert len(k) == 13 and abs(float(k.sum()) - 1) < 1e-6 and int(np.argmax(k)) == 6
    assert len(pl.gaussian_kernel(0.4)) == 3


def test_blur_preserves_constant_and_mass_centre() -> None:
    m = np.full((9, 11), 0.25, np.float32)
    assert np.allclose(pl.blur(m, 1.5), 0.25, atol=1e-6)
    d = np.zeros((21, 21), np.float32)
    d[10, 10] = 1
    b = pl.blur(d, 2.0)
    assert np.unravel_index(np.argmax(b), b.shape) == (10, 10) and abs(float(b.sum()) - 1) < 1e-5
