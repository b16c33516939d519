"""SSIM, Dice and the combined loss on inputs with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from hisir_train.losses import BCE_WEIGHT, SSIM_WEIGHT, dice_loss, gaussian_window, hisir_loss, ssim


def test_gaussian_window() -> None:
    g = gaussian_window(11, 1.5)
    assert g.shape == (11,)
    assert torch.isclose(g.sum(), torch.tensor(1.0))
    assert int(g.argmax()) == 5 and torch.allclose(g, g.flip(0))


@pytest.mark.parametrize(
    "a,b,want",
    [
        ("rand", "same", 1.0),
        ("const0", "const0", 1.0),
    ],
)
def test_ssim_identical(a: str, b: str, want: float) -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 24, 24) if a == "rand" else torch.zeros(2, 3, 24, 24)
    assert float(ssim(x, x.clone())) == pytest.approx(want, abs=1e-5)


def test_ssim_known_constant_images() -> None:
    # constant images: SSIM = (2ab + C1) / (a^2 + b^2 + C1) exactly (variances are 0)
    a, b, c1 = 0.2, 0.6, 0.01**2
    x, y = torch.full((1, 3, 16, 16), a), torch.full((1, 3, 16, 16), b)
    assert float(ssim(x, y)) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-4)


def test_ssim_drops_with_noise() -> None:
    torch.manual_seed(1)
    x = torch.rand(1, 3, 32, 32)
    s1 = float(ssim(x, (x + 0.05 * torch.randn_like(x)).clamp(0, 1)))
    s2 = float(ssim(x, (x + 0.3 * torch.randn_like(x)).clamp(0, 1)))
    assert 1.0 > s1 > s2


@pytest.mark.parametrize(
    "pred,target,want",
    [
        ([1, 1, 0, 0], [1, 1, 0, 0], 0.0),  # identical
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # both empty (eps keeps it 0)
        ([1, 1, 0, 0], [0, 0, 1, 1], 1 - 1 / 5),  # disjoint: 1 - eps/(2+2+eps)
        ([1, 0, 0, 0], [1, 1, 0, 0], 1 - 3 / 4),  # 1 - (2*1+1)/(1+2+1)
        ([0.5, 0.5, 0, 0], [1, 1, 0, 0], 1 - 3 / 4),  # soft: 1 - (2*1+1)/(1+2+1)
    ],
)
def test_dice(pred: list[float], target: list[float], want: float) -> None:
    p = torch.tensor(pred, dtype=torch.float32).reshape(1, 1, 2, 2)
    t = torch.tensor(target, dtype=torch.float32).reshape(1, 1, 2, 2)
    assert float(dice_loss(p, t)) == pytest.approx(want, abs=1e-6)


def test_loss_zero_when_perfect() -> None:
    torch.manual_seed(2)
    x = torch.rand(2, 3, 32, 32)
    mask = (torch.rand(2, 1, 32, 32) > 0.7).float()
    lp = hisir_loss(x, x, mask, mask, gamma=0.1, recon=x)
    assert float(lp.total) == pytest.approx(0.0, abs=1e-5)
    assert lp.mse == 0.0 and lp.dice == pytest.approx(0.0, abs=1e-6)


def test_loss_terms_add_up() -> None:
    torch.manual_seed(3)
    x = torch.rand(1, 3, 32, 32)
    y = (x + 0.1).clamp(0, 1)
    gate = torch.zeros(1, 1, 32, 32)
    mask = torch.ones(1, 1, 32, 32)
    gamma = 0.1
    lp = hisir_loss(y, x, gate, mask, gamma)
    mse = float(((y - x) ** 2).mean())
    d = 1 - 1 / (32 * 32 + 1)
    bce = -math.log(1e-6)  # the gate is clamped to [1e-6, 1-1e-6] inside the BCE
    assert lp.mse == pytest.approx(mse, rel=1e-5)
    assert lp.dice == pytest.approx(d, rel=1e-6)
    assert lp.bce == pytest.approx(bce, rel=1e-3)
    assert float(lp.total) == pytest.approx(mse + SSIM_WEIGHT * lp.ssim + gamma * d + BCE_WEIGHT * bce, rel=1e-4)
    # without the gate the Dice term is left out
    lp2 = hisir_loss(y, x, gate, mask, gamma, use_gate=False)
    assert lp2.dice == 0.0 and lp2.bce == 0.0 and float(lp2.total) == pytest.approx(mse + SSIM_WEIGHT * lp.ssim, rel=1e-5)


def test_recon_term_added_with_gate() -> None:
    torch.manual_seed(4)
    x = torch.rand(1, 3, 32, 32)
    r = (x + 0.2).clamp(0, 1)
    mask = torch.zeros(1, 1, 32, 32)
    gate = torch.full_like(mask, 1e-6)
    base = hisir_loss(x, x, gate, mask, 0.1)
    with_r = hisir_loss(x, x, gate, mask, 0.1, recon=r)
    r_mse = float(((r - x) ** 2).mean())
    assert float(with_r.total) - float(base.total) > r_mse  # MSE + 0.1*(1-SSIM) of R
