"""Every augmentation's mask is exactly its changed pixels; undamaged share; source pasting."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import textured
from hisir_train.augment import AUGMENTATIONS, Source, changed, damage

LOCAL = {"geometric_region", "paste_component", "removed_part", "solder_blob"}


def _crop(seed: int, p: int = 128) -> tuple[np.ndarray, Source]:
    full = textured(400, 300, seed)
    src = Source(full, 255.0, 50, 70)
    return src.crop(50, 70, p, p), src


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_mask_is_exactly_changed_pixels(name: str) -> None:
    fn = AUGMENTATIONS[name]
    rng = np.random.default_rng(7)
    nonempty = 0
    for k in range(25):
        crop, src = _crop(k % 5)
        before = crop.copy()
        out, mask = fn(crop, rng, src)
        assert np.array_equal(crop, before), "augmentation modified its input"
        assert out.shape == crop.shape and out.dtype == np.float32 and mask.shape == crop.shape[:2] and mask.dtype == bool
        assert out.min() >= 0 and out.max() <= 1
        diff = np.any(out != crop, axis=-1)
        assert np.array_equal(mask, diff)
        assert np.array_equal(out[~mask], crop[~mask])
        nonempty += int(mask.any())
        if name in LOCAL and mask.any():
            ys, xs = np.nonzero(mask)
            assert (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) < crop.shape[0] * crop.shape[1]
    assert nonempty >= 20, f"{name} changed nothing in {25 - nonempty} of 25 textured patches"


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_small_patches(name: str) -> None:
    rng = np.random.default_rng(3)
    for k in range(10):
        crop, src = _crop(k, 32)
        out, mask = AUGMENTATIONS[name](crop, rng, src)
        assert np.array_equal(mask, changed(crop, out))


@pytest.mark.parametrize("p_clean,expect_empty", [(1.0, True), (0.0, False)])
def test_damage_share(p_clean: float, expect_empty: bool) -> None:
    rng = np.random.default_rng(0)
    empties = 0
    for k in range(20):
        crop, src = _crop(k % 3)
        out, mask = damage(crop, rng, src, p_clean)
        assert np.array_equal(mask, changed(crop, out))
        empties += int(not mask.any())
    assert (empties == 20) if expect_empty else (empties <= 2)


def test_damage_is_seeded() -> None:
    crop, src = _crop(1)
    a = damage(crop, np.random.default_rng(42), src, 0.2)
    b = damage(crop, np.random.default_rng(42), src, 0.2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_paste_comes_from_source() -> None:
    # a flat patch cut from a textured source: the pasted pixels must be source pixels
    full = textured(300, 200, 4)
    full[0:128, 0:128] = 100
    src = Source(full, 255.0, 0, 0)
    crop = src.crop(0, 0, 128, 128)
    rng = np.random.default_rng(5)
    out, mask = AUGMENTATIONS["paste_component"](crop, rng, src)
    vals = set(np.unique((out[mask] * 255).round().astype(int)).tolist())
    assert mask.any() and vals <= set(np.unique(full).tolist())
