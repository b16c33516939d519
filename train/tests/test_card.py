"""Model cards and loss curves; the command line's help and errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config
from hisir_train.calibrate import calibrate
from hisir_train.card import plot_losses, read_losses, write_card
from hisir_train.cli import main
from hisir_train.errors import DataError
from hisir_train.export import export_model
from hisir_train.model import build_model
from hisir_train.train import CSV_FIELDS, CSV_NAME


def _csv(d: Path, rows: list[dict[str, float]]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    with open(d / CSV_NAME, "w", newline="") as fh:
        w = csv.DictWriter(fh, CSV_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow(r)


def test_card_and_curve(tmp_path: Path, image_dir: Path) -> None:
    torch.manual_seed(0)
    cfg = tiny_config("resnet")
    model_path = tmp_path / "tinycard.onnx"
    card = {"steps": 20, "batch": 2, "lr": 0.001, "seed": 42, "train_images": 3, "val_images": 2, "data": ["/x"], "wall_time_s": 90.0,
            "machine": "test cpu", "final": {"step": 20, "train_loss": 0.2, "val_loss": 0.1, "val_mse": 0.01, "val_ssim": 0.05, "val_dice": 0.5}}
    export_model(build_model(cfg), cfg, model_path, "tinycard", card=card)
    calibrate(model_path, [str(image_dir)], progress=False)
    ck = tmp_path / "ck"
    _csv(ck, [{"step": s, "lr": 0.001, "train_loss": 1.0 / s, "val_loss": 0.5 / s} for s in (10, 20)])
    md, png = write_card(model_path, ck, tmp_path / "out", "echo train")
    text = md.read_text()
    assert md.name == "tinycard.md" and png.name == "tinycard_loss.png"
    for want in ("# Model card: tinycard", "eval: see docs/evaluation.md", "Calibration (5 held-out images", "20 steps", "1.5 min on test cpu",
                 "validation 0.10000", "![loss curve](tinycard_loss.png)", "echo train"):
        assert want in text, want
    im = np.asarray(Image.open(png).convert("RGB"))
    assert im.shape == (400, 640, 3)
    red = (im[..., 0] > 180) & (im[..., 1] < 80) & (im[..., 2] < 80)
    blue = (im[..., 2] > 150) & (im[..., 0] < 80)
    assert red.sum() > 20 and blue.sum() > 20  # both curves drawn


def test_read_losses_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read loss log"):
        read_losses(tmp_path / "missing.csv")
    _csv(tmp_path, [])
    with pytest.raises(DataError, match="no rows"):
        read_losses(tmp_path / CSV_NAME)


def test_plot_flat_losses(tmp_path: Path) -> None:
    plot_losses([{"step": 1, "train_loss": 0.1, "val_loss": 0.1}], tmp_path / "p.png", "flat")
    assert Image.open(tmp_path / "p.png").size == (640, 400)


@pytest.mark.parametrize("cmd", ["train", "export", "calibrate", "card"])
def test_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0 and "usage:" in capsys.readouterr().out


def test_missing_required_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["export", "--ckpt", "x"])
    assert e.value.code == 2 and "--out" in capsys.readouterr().err
