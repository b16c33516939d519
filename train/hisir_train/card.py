"""Model cards: ``<name>.md`` and a loss curve ``<name>_loss.png`` drawn with PIL."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .calibrate import load_onnx
from .errors import DataError
from .export import KEY_CALIBRATION, KEY_CARD, read_metadata
from .train import CSV_NAME

COLOURS = {"train_loss": (31, 119, 180), "val_loss": (214, 39, 40)}


def read_losses(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Rows of a ``losses.csv`` as floats."""
    p = Path(path)
    try:
        with open(p, newline="") as fh:
            rows = [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(fh)]
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read loss log {p}: {e}") from e
    if not rows:
        raise DataError(f"loss log {p} has no rows")
    return rows


def plot_losses(rows: list[dict[str, float]], out: str | os.PathLike[str], title: str, size: tuple[int, int] = (640, 400)) -> None:
    """Train and validation loss against step, log-scaled y axis, as a PNG."""
    w, h = size
    ml, mr, mt, mb = 70, 20, 30, 40
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    steps = [r["step"] for r in rows]
    vals = [r[k] for r in rows for k in COLOURS if r.get(k, 0) > 0]
    lo, hi = math.log10(min(vals)), math.log10(max(vals))
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    s0, s1 = 0.0, max(steps)

    def xy(step: float, v: float) -> tuple[float, float]:
        x = ml + (step - s0) / (s1 - s0 or 1) * (w - ml - mr)
        y = mt + (hi - math.log10(v)) / (hi - lo) * (h - mt - mb)
        return x, y

    d.rectangle([ml, mt, w - mr, h - mb], outline=(0, 0, 0))
    for e in range(math.floor(lo), math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**e
            if lo <= math.log10(v) <= hi:
                _, y = xy(0, v)
                d.line([ml, y, w - mr, y], fill=(225, 225, 225))
                d.text((4, y - 6), f"{v:.0e}" if m == 1 else f"{v:.2g}", fill=(0, 0, 0))
    for k in range(5):
        st = s0 + k * (s1 - s0) / 4
        x, _ = xy(st, 10**lo)
        d.text((x - 12, h - mb + 6), f"{int(st)}", fill=(0, 0, 0))
    d.text((w // 2 - 20, h - 16), "step", fill=(0, 0, 0))
    d.text((ml, 8), title, fill=(0, 0, 0))
    for i, (key, col) in enumerate(COLOURS.items()):
        pts = [xy(r["step"], r[key]) for r in rows if r.get(key, 0) > 0]
        if len(pts) > 1:
            d.line(pts, fill=col, width=2)
        for x, y in pts:
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=col)
        d.line([w - mr - 120, mt + 12 + 14 * i, w - mr - 100, mt + 12 + 14 * i], fill=col, width=2)
        d.text((w - mr - 95, mt + 6 + 14 * i), key, fill=(0, 0, 0))
    im.save(out)


def write_card(model: str | os.PathLike[str], ckpt_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], commands: str = "") -> tuple[Path, Path]:
    """Writes ``<name>.md`` and ``<name>_loss.png`` for an exported, calibrated model."""
    m = load_onnx(model)
    md = read_metadata(m)
    name = md["hisir.name"]
    card: dict[str, Any] = json.loads(md.get(KEY_CARD) or "{}")
    cal = json.loads(md[KEY_CALIBRATION]) if md.get(KEY_CALIBRATION) else None
    rows = read_losses(Path(ckpt_dir) / CSV_NAME)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{name}_loss.png"
    plot_losses(rows, png, f"{name}: total training loss (docs/training.md)")
    size = Path(model).stat().st_size
    cfg = card.get("config", {})
    fin = card.get("final", {})
    lines = [
        f"# Model card: {name}",
        "",
        f"- File: `{Path(model).name}` ({size / 1e6:.2f} MB), contract version {md['hisir.contract_version']}, "
        f"patch {md['hisir.patch_size']}, stride {md['hisir.stride']}, t_diff {md['hisir.t_diff']}",
        f"- Backbone: {md['hisir.backbone']}, SIR-Gate {md['hisir.gate']}, positional encoding {md['hisir.positional_encoding']}; "
        f"embed dim {cfg.get('embed_dim')}, depths {cfg.get('depths')}, heads {cfg.get('heads')}, window {cfg.get('window')}, "
        f"{card.get('params', '?')} parameters",
        f"- Data: {', '.join(card.get('data', []))}" + (f" (files matching `{card['pattern']}`)" if card.get("pattern") else ""),
        f"- Images: {card.get('train_images', '?')} for training, {card.get('val_images', '?')} held out (validation loss and calibration)",
        f"- Training: {fin.get('step', card.get('steps', '?'))} steps, batch {card.get('batch')}, AdamW lr {card.get('lr')} (warm-up + cosine), seed {card.get('seed')}, "
        f"device {card.get('device')} with {card.get('threads')} threads",
        f"- Wall time: {card.get('wall_time_s', 0) / 60:.1f} min on {' '.join(str(card.get('machine', '?')).split())} (shared machine, torch {card.get('torch', '?')})",
        f"- Final losses (step {fin.get('step', '?')}): train {fin.get('train_loss', float('nan')):.5f}, validation {fin.get('val_loss', float('nan')):.5f} "
        f"(MSE {fin.get('val_mse', float('nan')):.5f}, 1-SSIM {fin.get('val_ssim', float('nan')):.4f}, Dice {fin.get('val_dice', float('nan')):.4f})",
    ]
    if cal:
        lines.append(
            f"- Calibration ({cal['images']} held-out images, {cal['pixels']} pixels, {cal['merge']}/{cal['cell_stat']}/{cal['reduce']}, "
            f"blur {cal['blur_sigma']}): q50 {cal['q50']:.5f}, q99 {cal['q99']:.5f}, q999 {cal['q999']:.5f}, max {cal['max']:.5f}"
        )
    else:
        lines.append("- Calibration: none (per-image min-max normalisation only)")
    lines += [
        "- eval: see docs/evaluation.md",
        "",
        f"![loss curve]({png.name})",
        "",
    ]
    if commands:
        lines += ["## Reproduce", "", "```sh", commands.strip(), "```", ""]
    lines += ["Training process: docs/training.md.", ""]
    mdp = out / f"{name}.md"
    mdp.write_text("\n".join(lines))
    return mdp, png
