"""Model shapes, the SIR-Gate formula, the positional encoding and batch independence."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from conftest import tiny_config
from hisir_train.model import PE_SCALE, build_model, default_config, gate_output, sincos_pe


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
@pytest.mark.parametrize("gate,pe", [(True, True), (False, True), (True, False), (False, False)])
def test_output_shapes(backbone: str, gate: bool, pe: bool) -> None:
    torch.manual_seed(0)
    m = build_model(tiny_config(backbone, gate, pe)).eval()
    x, p = torch.rand(3, 3, 32, 32), torch.rand(3, 2)
    with torch.no_grad():
        out, g = m(x, p)
    assert out.shape == (3, 3, 32, 32) and g.shape == (3, 1, 32, 32)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert float(g.min()) >= 0 and float(g.max()) <= 1
    if not gate:
        assert torch.equal(g, torch.ones_like(g))


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
def test_default_config_shapes(backbone: str) -> None:
    m = build_model(default_config(backbone)).eval()
    with torch.no_grad():
        out, g = m(torch.rand(1, 3, 128, 128), torch.rand(1, 2))
    assert out.shape == (1, 3, 128, 128) and g.shape == (1, 1, 128, 128)


class _Const(nn.Module):
    def __init__(self, v: float) -> None:
        super().__init__()
        self.v = v

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        f = feats[0]
        return torch.full((f.shape[0], 1, 32, 32), self.v)


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
@pytest.mark.parametrize("mval", [0.0, 0.3, 1.0])
def test_gate_formula(backbone: str, mval: float) -> None:
    torch.manual_seed(1)
    m = build_model(tiny_config(backbone)).eval()
    x, p = torch.rand(2, 3, 32, 32), torch.rand(2, 2)
    m.mask_dec = _Const(mval)  # type: ignore[assignment]
    with torch.no_grad():
        out, g, recon = m.forward_train(x, p)
    assert torch.allclose(g, torch.full_like(g, mval))
    assert torch.allclose(out, mval * recon + (1 - mval) * x, atol=1e-6)
    if mval == 0.0:
        assert torch.equal(out, x)


def test_gate_output_values() -> None:
    r = torch.tensor([[[[1.0, 0.0]]]])
    x = torch.tensor([[[[0.0, 1.0]]]])
    m = torch.tensor([[[[0.25, 0.5]]]])
    assert torch.allclose(gate_output(r, m, x), torch.tensor([[[[0.25, 0.5]]]]))


def test_pe_hand_computed() -> None:
    pos = torch.tensor([[0.5, 0.25]])
    got = sincos_pe(pos, 8)
    px, py = 0.5 * PE_SCALE, 0.25 * PE_SCALE
    w = [1.0, 1.0 / 100.0]  # 10000**(-i/2), i = 0, 1
    want = [math.sin(px * w[0]), math.sin(px * w[1]), math.cos(px * w[0]), math.cos(px * w[1]),
            math.sin(py * w[0]), math.sin(py * w[1]), math.cos(py * w[0]), math.cos(py * w[1])]
    assert torch.allclose(got, torch.tensor([want]), atol=1e-5)
    with pytest.raises(ValueError):
        sincos_pe(pos, 6)


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
def test_pe_changes_output_and_no_pe_ignores_position(backbone: str) -> None:
    torch.manual_seed(2)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        m = build_model(tiny_config(backbone, pe=True)).eval()
        assert not torch.allclose(m(x, torch.tensor([[0.1, 0.1]]))[0], m(x, torch.tensor([[0.9, 0.7]]))[0])
        m = build_model(tiny_config(backbone, pe=False)).eval()
        assert torch.equal(m(x, torch.tensor([[0.1, 0.1]]))[0], m(x, torch.tensor([[0.9, 0.7]]))[0])


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
def test_rows_independent_of_batch(backbone: str) -> None:
    torch.manual_seed(3)
    m = build_model(tiny_config(backbone)).eval()
    x, p = torch.rand(4, 3, 32, 32), torch.rand(4, 2)
    with torch.no_grad():
        full = m(x, p)[0]
        one = m(x[2:3], p[2:3])[0]
    assert torch.allclose(full[2:3], one, atol=1e-5)


def test_unknown_backbone() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model(tiny_config("vgg"))
