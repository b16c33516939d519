"""HiSIR-Net models: SwinUNet and ResNet encoder-decoders with the SIR-Gate and a 2D sin-cos PE.

Every model maps ``(image [N,3,P,P], position [N,2])`` to ``(reconstruction, gate)`` as the model
contract (docs/model-contract.md) requires: ``reconstruction = M*R + (1-M)*image``. The graph is
written to export cleanly with the TorchScript ONNX exporter: spatial sizes are Python constants
fixed by the patch size, the batch axis is always ``-1`` in reshapes, and the shifted-window
attention masks are registered buffers computed once for the fixed patch size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

PE_SCALE = 100.0
"""Positions (fractions of the image size) are multiplied by this before the sin-cos encoding."""


@dataclass
class ModelConfig:
    """Architecture switches; stored in checkpoints so a model can be rebuilt for export."""

    backbone: str = "swin"  # "swin" or "resnet"
    patch_size: int = 128
    gate: bool = True
    pe: bool = True
    embed_dim: int = 32
    depths: tuple[int, ...] = (2, 2, 2)
    heads: tuple[int, ...] = (2, 4, 8)
    window: int = 8
    patch_embed: int = 4
    mlp_ratio: float = 2.0
    resnet_widths: tuple[int, ...] = (32, 64, 128)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["depths"] = list(self.depths)
        d["heads"] = list(self.heads)
        d["resnet_widths"] = list(self.resnet_widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        d = dict(d)
        for k in ("depths", "heads", "resnet_widths"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


def sincos_pe(position: torch.Tensor, dim: int, scale: float = PE_SCALE) -> torch.Tensor:
    """MAE-style 2D sin-cos encoding of patch positions.

    ``position`` is ``[N,2]`` = ``(cx/W, cy/H)``. The result is ``[N,dim]``: the first half encodes
    x, the second y; each half is ``[sin(p*w_0..w_{k-1}), cos(p*w_0..w_{k-1})]`` with
    ``p = scale*coord``, ``k = dim/4`` and ``w_i = 10000**(-i/k)``.
    """
    if dim % 4 != 0:
        raise ValueError(f"positional encoding dim {dim} must be a multiple of 4")
    k = dim // 4
    omega = torch.arange(k, dtype=torch.float32, device=position.device) / k
    omega = 1.0 / (10000.0**omega)  # [k]
    p = position.float() * scale  # [N,2]
    out = p.unsqueeze(-1) * omega  # [N,2,k]
    emb = torch.cat([torch.sin(out), torch.cos(out)], dim=-1)  # [N,2,2k]
    return emb.reshape(-1, dim)


def gate_output(recon: torch.Tensor, mask: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """SIR-Gate: ``M*R + (1-M)*image``."""
    return mask * recon + (1.0 - mask) * image


# ----------------------------------------------------------------------------- Swin


def window_partition(x: torch.Tensor, h: int, w: int, ws: int) -> torch.Tensor:
    """``[N,h,w,C]`` -> ``[N*nW, ws*ws, C]`` (batch axis kept symbolic)."""
    c = x.shape[-1]
    x = x.reshape(-1, h // ws, ws, w // ws, ws, c)
    x = x.permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_reverse(x: torch.Tensor, h: int, w: int, ws: int) -> torch.Tensor:
    """``[N*nW, ws*ws, C]`` -> ``[N,h,w,C]``."""
    c = x.shape[-1]
    x = x.reshape(-1, h // ws, w // ws, ws, ws, c)
    x = x.permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def shift_mask(h: int, w: int, ws: int, shift: int) -> torch.Tensor:
    """Attention mask ``[nW, L, L]`` (0 or -100) for a cyclic shift of ``shift`` pixels."""
    img = torch.zeros(1, h, w, 1)
    cnt = 0
    for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            img[:, hs, wsl, :] = cnt
            cnt += 1
    win = window_partition(img, h, w, ws).squeeze(-1)  # [nW, L]
    m = win.unsqueeze(1) - win.unsqueeze(2)
    return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)


class WindowAttention(nn.Module):
    """Multi-head self-attention in windows with a relative position bias."""

    def __init__(self, dim: int, heads: int, ws: int) -> None:
        super().__init__()
        self.heads = heads
        self.ws = ws
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
        self.register_buffer("bias_index", (rel[..., 0] * (2 * ws - 1) + rel[..., 1]).flatten(), persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        L = self.ws * self.ws
        c = x.shape[-1]
        hd = c // self.heads
        qkv = self.qkv(x).reshape(-1, L, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [B, heads, L, L]
        bias = self.bias_table[self.bias_index].reshape(L, L, self.heads).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.reshape(-1, nw, self.heads, L, L) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.reshape(-1, self.heads, L, L)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(-1, L, c)
        return self.proj(out)


class SwinBlock(nn.Module):
    """One (shifted-)window transformer block working on ``[N,h,w,C]``."""

    def __init__(self, dim: int, heads: int, res: int, ws: int, shift: bool, mlp_ratio: float) -> None:
        super().__init__()
        ws = min(ws, res)
        self.res, self.ws = res, ws
        self.shift = ws // 2 if (shift and res > ws) else 0
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, ws)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        if self.shift:
            self.register_buffer("mask", shift_mask(res, res, ws, self.shift), persistent=False)
        else:
            self.mask = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r, ws, s = self.res, self.ws, self.shift
        h = self.norm1(x)
        if s:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))
        h = window_reverse(self.attn(window_partition(h, r, r, ws), self.mask), r, r, ws)
        if s:
            h = torch.roll(h, shifts=(s, s), dims=(1, 2))
        x = x + h
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """``[N,r,r,C]`` -> ``[N,r/2,r/2,2C]``."""

    def __init__(self, dim: int, res: int) -> None:
        super().__init__()
        self.res = res
        self.norm = nn.LayerNorm(4 * dim)
        self.reduce = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.res
        c = x.shape[-1]
        x = x.reshape(-1, r // 2, 2, r // 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(-1, r // 2, r // 2, 4 * c)
        return self.reduce(self.norm(x))


class PatchExpanding(nn.Module):
    """``[N,r,r,C]`` -> ``[N,f*r,f*r,C_out]`` by a linear layer and a pixel shuffle."""

    def __init__(self, dim: int, out_dim: int, res: int, factor: int) -> None:
        super().__init__()
        self.res, self.factor, self.out_dim = res, factor, out_dim
        self.expand = nn.Linear(dim, out_dim * factor * factor, bias=False)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r, f, c = self.res, self.factor, self.out_dim
        x = self.expand(x).reshape(-1, r, r, f, f, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, r * f, r * f, c)
        return self.norm(x)


def _stage(dim: int, heads: int, res: int, depth: int, ws: int, mlp: float) -> nn.Sequential:
    return nn.Sequential(*[SwinBlock(dim, heads, res, ws, i % 2 == 1, mlp) for i in range(depth)])


class ConvMaskDecoder(nn.Module):
    """Small convolutional decoder for the SIR-Gate mask, fed by the encoder's skip features."""

    def __init__(self, chans: list[int], out_factor: int) -> None:
        super().__init__()
        # chans: channels from the shallowest to the deepest feature map, each half the resolution
        self.ups = nn.ModuleList()
        for deep, shallow in zip(chans[:0:-1], chans[-2::-1]):
            self.ups.append(nn.Conv2d(deep + shallow, shallow, 3, padding=1))
        c0 = chans[0]
        self.deepest = nn.Conv2d(chans[-1], chans[-1], 3, padding=1)
        self.head = nn.Sequential(
            nn.Upsample(scale_factor=out_factor, mode="bilinear", align_corners=False),
            nn.Conv2d(c0, 16, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(16, 1, 3, padding=1),
        )

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = F.gelu(self.deepest(feats[-1]))
        for conv, skip in zip(self.ups, feats[-2::-1]):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = F.gelu(conv(torch.cat([x, skip], dim=1)))
        return torch.sigmoid(self.head(x))


class SwinUNet(nn.Module):
    """Swin-UNet reconstruction network with an optional SIR-Gate and positional encoding."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        p, pe_, d = cfg.patch_size, cfg.patch_embed, cfg.embed_dim
        n = len(cfg.depths)
        res0 = p // pe_
        if res0 % (2 ** (n - 1)) != 0:
            raise ValueError(f"patch size {p} does not fit {n} stages with patch embedding {pe_}")
        self.embed = nn.Conv2d(3, d, pe_, stride=pe_)
        self.embed_norm = nn.LayerNorm(d)
        dims = [d * 2**i for i in range(n)]
        ress = [res0 // 2**i for i in range(n)]
        self.dims, self.ress = dims, ress
        self.enc = nn.ModuleList([_stage(dims[i], cfg.heads[i], ress[i], cfg.depths[i], cfg.window, cfg.mlp_ratio) for i in range(n)])
        self.merge = nn.ModuleList([PatchMerging(dims[i], ress[i]) for i in range(n - 1)])
        self.up = nn.ModuleList([PatchExpanding(dims[i + 1], dims[i], ress[i + 1], 2) for i in range(n - 1)])
        self.fuse = nn.ModuleList([nn.Linear(2 * dims[i], dims[i]) for i in range(n - 1)])
        self.dec = nn.ModuleList([_stage(dims[i], cfg.heads[i], ress[i], cfg.depths[i], cfg.window, cfg.mlp_ratio) for i in range(n - 1)])
        self.final_up = PatchExpanding(d, 16, res0, pe_)
        self.head = nn.Conv2d(16, 3, 3, padding=1)
        self.mask_dec = ConvMaskDecoder(dims, pe_) if cfg.gate else None

    def forward(self, image: torch.Tensor, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, gate, _ = self.forward_train(image, position)
        return out, gate

    def forward_train(self, image: torch.Tensor, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(gated output, gate, plain reconstruction R)``."""
        x = self.embed(image).permute(0, 2, 3, 1)  # [N,r,r,d]
        x = self.embed_norm(x)
        skips: list[torch.Tensor] = []
        n = len(self.enc)
        for i in range(n):
            x = self.enc[i](x)
            if i < n - 1:
                skips.append(x)
                x = self.merge[i](x)
        if self.cfg.pe:
            x = x + sincos_pe(position, self.dims[-1]).reshape(-1, 1, 1, self.dims[-1])
        bottleneck = x
        for i in range(n - 2, -1, -1):
            x = self.up[i](x)
            x = self.fuse[i](torch.cat([x, skips[i]], dim=-1))
            x = self.dec[i](x)
        x = self.final_up(x).permute(0, 3, 1, 2)
        recon = torch.sigmoid(self.head(x))
        if self.mask_dec is None:
            return recon, torch.ones_like(image[:, :1]), recon
        feats = [s.permute(0, 3, 1, 2) for s in skips] + [bottleneck.permute(0, 3, 1, 2)]
        m = self.mask_dec(feats)
        return gate_output(recon, m, image), m, recon


# ----------------------------------------------------------------------------- ResNet


class ResBlock(nn.Module):
    """Pre-activation residual block with optional stride-2 downsampling."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.n1 = nn.GroupNorm(min(8, cin), cin)
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.n2 = nn.GroupNorm(min(8, cout), cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1, stride=stride) if (stride != 1 or cin != cout) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.gelu(self.n1(x)))
        h = self.c2(F.gelu(self.n2(h)))
        return self.skip(x) + h


class ResNetAE(nn.Module):
    """ResNet encoder-decoder (U-Net skips) with an optional SIR-Gate and positional encoding."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = list(cfg.resnet_widths)
        self.stem = nn.Conv2d(3, w[0], 3, stride=2, padding=1)  # P/2
        self.down = nn.ModuleList()
        cin = w[0]
        chans = [w[0]]
        for i, c in enumerate(w):
            self.down.append(nn.Sequential(ResBlock(cin, c, 1 if i == 0 else 2), ResBlock(c, c, 1)))
            cin = c
            if i > 0:
                chans.append(c)
        self.chans = chans
        self.upb = nn.ModuleList()
        for i in range(len(w) - 1, 0, -1):
            self.upb.append(ResBlock(w[i] + w[i - 1], w[i - 1], 1))
        self.head = nn.Sequential(
            nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False),
            nn.Conv2d(w[0], 16, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(16, 3, 3, padding=1),
        )
        self.mask_dec = ConvMaskDecoder(chans, 2) if cfg.gate else None

    def forward(self, image: torch.Tensor, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, gate, _ = self.forward_train(image, position)
        return out, gate

    def forward_train(self, image: torch.Tensor, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(gated output, gate, plain reconstruction R)``."""
        x = self.stem(image)
        feats: list[torch.Tensor] = []
        for blk in self.down:
            x = blk(x)
            feats.append(x)
        if self.cfg.pe:
            c = self.chans[-1]
            x = x + sincos_pe(position, c).reshape(-1, c, 1, 1)
            feats[-1] = x
        for j, blk in enumerate(self.upb):
            skip = feats[-2 - j]
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = blk(torch.cat([x, skip], dim=1))
        recon = torch.sigmoid(self.head(x))
        if self.mask_dec is None:
            return recon, torch.ones_like(image[:, :1]), recon
        m = self.mask_dec(feats)
        return gate_output(recon, m, image), m, recon


def build_model(cfg: ModelConfig) -> nn.Module:
    """Builds the network named by ``cfg.backbone``."""
    if cfg.backbone == "swin":
        return SwinUNet(cfg)
    if cfg.backbone == "resnet":
        return ResNetAE(cfg)
    raise ValueError(f"unknown backbone {cfg.backbone!r} (want swin or resnet)")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def default_config(backbone: str, patch_size: int = 128, gate: bool = True, pe: bool = True) -> ModelConfig:
    """The compact default that trains on 2 CPU cores."""
    return ModelConfig(backbone=backbone, patch_size=patch_size, gate=gate, pe=pe)


def gamma_for(backbone: str) -> float:
    """Dice weight of the loss: 0.1 for Swin, 0.001 for ResNet (the paper's settings)."""
    return 0.1 if backbone == "swin" else 0.001


