"""Training loss of HiSIR-Net: MSE + 0.1*(1-SSIM) + gamma*Dice(gate, pseudo mask)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

SSIM_WEIGHT = 0.1
BCE_WEIGHT = 0.1
"""Weight of the per-pixel BCE(gate, pseudo mask) added to the paper's Dice term (see hisir_loss)."""


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Normalised 1D Gaussian of ``size`` taps."""
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, size: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM of two ``[N,C,H,W]`` batches (11x11 Gaussian, sigma 1.5, valid windows only)."""
    c = x.shape[1]
    g = gaussian_window(size, sigma).to(x.device, x.dtype)
    kh = g.reshape(1, 1, 1, size).repeat(c, 1, 1, 1)
    kv = g.reshape(1, 1, size, 1).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, kh, groups=c), kv, groups=c)

    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean()


def dice_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft Dice loss ``1 - (2*sum(p*t)+eps)/(sum(p)+sum(t)+eps)`` per sample, averaged.

    ``eps`` = 1 pixel keeps an empty target with an empty prediction at 0.
    """
    p = pred.flatten(1)
    t = target.flatten(1)
    inter = (p * t).sum(1)
    return (1.0 - (2.0 * inter + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


@dataclass
class LossParts:
    """The total loss and its terms (detached floats for logging)."""

    total: torch.Tensor
    mse: float
    ssim: float
    dice: float
    bce: float = 0.0


def image_loss(out: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(MSE + 0.1*(1-SSIM), MSE, 1-SSIM)``."""
    mse = F.mse_loss(out, target)
    s = 1.0 - ssim(out, target)
    return mse + SSIM_WEIGHT * s, mse, s


def hisir_loss(out: torch.Tensor, target: torch.Tensor, gate: torch.Tensor, mask: torch.Tensor, gamma: float, use_gate: bool = True, recon: torch.Tensor | None = None) -> LossParts:
    """MSE + 0.1*(1-SSIM) on the (gated) output against the clean patch, plus gamma*Dice.

    ``mask`` is the pseudo ground truth ``[N,1,P,P]`` of changed pixels; without a gate the Dice
    term is left out. With a gate, two terms keep the gate from collapsing (both observed on
    the circuitboard photos within 150 steps):

    - ``recon`` (the plain reconstruction R) gets the same image loss: otherwise R only learns
      through M, and M goes to 0 everywhere (copying the input) before R is any good;
    - ``BCE_WEIGHT * BCE(gate, mask)``: Dice alone drives a soft gate to 1 everywhere on sparse
      masks, and its gradient vanishes once the sigmoid saturates; BCE's does not.

    ``mse``/``ssim`` report the gated output's terms.
    """
    total, mse, s = image_loss(out, target)
    d = torch.zeros((), device=out.device)
    bce = torch.zeros((), device=out.device)
    if use_gate:
        if recon is not None:
            total = total + image_loss(recon, target)[0]
        d = dice_loss(gate, mask)
        bce = F.binary_cross_entropy(gate.clamp(1e-6, 1 - 1e-6), mask)
        total = total + gamma * d + BCE_WEIGHT * bce
    return LossParts(total=total, mse=float(mse.detach()), ssim=float(s.detach()), dice=float(d.detach()), bce=float(bce.detach()))
