"""Training: CSV log, seeded reproducibility, resume, and clear errors for bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY_OVERRIDES
from hisir_train.cli import main
from hisir_train.data import list_images, split
from hisir_train.errors import CheckpointError, DataError
from hisir_train.train import CKPT_NAME, CSV_NAME, TrainOptions, load_checkpoint, train


def _opts(data: Path, out: Path, **kw: object) -> TrainOptions:
    base = dict(data=[str(data)], out=str(out), steps=4, batch=2, val_every=2, val_samples=4, patch=32, config=dict(TINY_OVERRIDES), progress=False, val_split=0.4)
    base.update(kw)
    return TrainOptions(**base)  # type: ignore[arg-type]


def _losses(out: Path) -> list[dict[str, str]]:
    with open(out / CSV_NAME) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
def test_train_logs_and_checkpoints(image_dir: Path, tmp_path: Path, backbone: str) -> None:
    out = tmp_path / "run"
    st = train(_opts(image_dir, out, backbone=backbone))
    rows = _losses(out)
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(float(r["val_loss"]) > 0 and float(r["train_loss"]) > 0 for r in rows)
    ck = load_checkpoint(out)
    assert ck["step"] == 4 and ck["config"]["backbone"] == backbone and ck["config"]["patch_size"] == 32
    assert len(ck["val_files"]) == 2 and len(ck["train_files"]) == 3
    assert st["step"] == 4


def test_seed_reproducible(image_dir: Path, tmp_path: Path) -> None:
    a = _losses(train(_opts(image_dir, tmp_path / "a")) and tmp_path / "a")
    b = _losses(train(_opts(image_dir, tmp_path / "b")) and tmp_path / "b")
    c = _losses(train(_opts(image_dir, tmp_path / "c", seed=7)) and tmp_path / "c")
    key = ["train_loss", "val_loss"]
    assert [[r[k] for k in key] for r in a] == [[r[k] for k in key] for r in b]
    assert [[r[k] for k in key] for r in a] != [[r[k] for k in key] for r in c]


def test_resume_continues_exactly(image_dir: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    train(_opts(image_dir, full))
    part = tmp_path / "part"
    train(_opts(image_dir, part, stop_at=2))
    assert load_checkpoint(part)["step"] == 2
    train(_opts(image_dir, part, resume=True))
    a, b = load_checkpoint(full)["model"], load_checkpoint(part)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["val_loss"] for r in _losses(full)] == [r["val_loss"] for r in _losses(part)]


def test_corrupt_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / CKPT_NAME
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match=str(bad)):
        load_checkpoint(tmp_path)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a hisir_train checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_resume_without_checkpoint(image_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        train(_opts(image_dir, tmp_path / "none", resume=True))


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=f"no images .* found in {empty}"):
        list_images([str(empty)])
    rc = main(["train", "--data", str(empty), "--out", str(tmp_path / "o"), "--steps", "1"])
    assert rc == 1
    assert f"error: no images (png/jpg/tif) found in {empty}" in capsys.readouterr().err


def test_corrupt_image_named(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="broken.png"):
        train(_opts(d, tmp_path / "o", val_split=0))


def test_cli_corrupt_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / CKPT_NAME).write_bytes(b"\x00garbage")
    rc = main(["export", "--ckpt", str(tmp_path), "--out", str(tmp_path / "m.onnx"), "--name", "x"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "error: checkpoint" in err and "corrupt" in err and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("n,val_split,want_val", [(30, 0.17, 5), (10, 0.1, 1), (1, 0.5, 0), (5, 0.0, 0), (2, 0.9, 1)])
def test_split(n: int, val_split: float, want_val: int) -> None:
    files = [Path(f"f{k:02d}.png") for k in range(n)]
    tr, va = split(files, val_split, 42)
    assert len(va) == want_val and len(tr) == n - want_val and not set(tr) & set(va)
    assert split(files, val_split, 42) == (tr, va)


def test_list_images_recursive_and_pattern(image_dir: Path) -> None:
    assert [p.name for p in list_images([str(image_dir)])] == ["grey.jpg", "n0.png", "n2.png", "n1.png", "n3.png"]
    assert [p.name for p in list_images([str(image_dir)], "n*.png")] == ["n0.png", "n2.png", "n1.png", "n3.png"]


def test_sipcba_folder_uses_train_good(tmp_path: Path, image_dir: Path) -> None:
    good = tmp_path / "ds" / "train" / "good"
    good.mkdir(parents=True)
    (good / "a.png").write_bytes((image_dir / "n0.png").read_bytes())
    (tmp_path / "ds" / "test").mkdir()
    (tmp_path / "ds" / "test" / "b.png").write_bytes((image_dir / "sub" / "n1.png").read_bytes())
    assert [p.name for p in list_images([str(tmp_path / "ds")])] == ["a.png"]


@pytest.mark.parametrize("orientation,shape", [(1, (20, 32, 3)), (3, (20, 32, 3)), (6, (32, 20, 3)), (8, (32, 20, 3))])
def test_exif_orientation_applied(tmp_path: Path, orientation: int, shape: tuple[int, int, int]) -> None:
    """A JPEG's EXIF orientation is applied on load, as engine.Decode does in Go."""
    from PIL import Image

    from hisir_train.data import load_image

    a = np.zeros((20, 32, 3), dtype=np.uint8)
    a[:10, :16] = (250, 0, 0)  # red top-left block of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    Image.fromarray(a).save(path, exif=exif, quality=95)
    got = load_image(path)
    assert got.shape == shape
    # Where the stored top-left block lands after the transform.
    corner = {1: got[2, 2], 3: got[-3, -3], 6: got[2, -3], 8: got[-3, 2]}[orientation]
    assert corner[0] > 0.8 and corner[1] < 0.2
