"""Calibration writes the contract's JSON into the model in place; bad inputs give clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conftest import tiny_config
from hisir_train import pipeline as pl
from hisir_train.calibrate import calibrate, raw_maps
from hisir_train.cli import main
from hisir_train.contract import check_file
from hisir_train.data import load_image
from hisir_train.errors import DataError, ModelError
from hisir_train.export import export_model, read_metadata
from hisir_train.model import build_model


@pytest.fixture
def tiny_onnx(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    cfg = tiny_config("resnet")
    model = build_model(cfg).eval()
    path = tmp_path / "tiny.onnx"
    export_model(model, cfg, path, "tiny", card={"steps": 3})
    return path, model


def test_calibrate_writes_contract_json(tiny_onnx: tuple[Path, torch.nn.Module], image_dir: Path) -> None:
    path, model = tiny_onnx
    cal = calibrate(path, [str(image_dir)], pattern="n*.png", progress=False)
    md = check_file(path)
    stored = json.loads(md["hisir.calibration"])
    assert stored == cal
    assert set(stored) == {"version", "images", "pixels", "merge", "cell_stat", "reduce", "blur_sigma", "q50", "q99", "q999", "max"}
    assert stored["version"] == 1 and stored["images"] == 4 and stored["pixels"] == 4 * 72 * 56
    assert (stored["merge"], stored["cell_stat"], stored["reduce"], stored["blur_sigma"]) == ("rops", "max", "mean", 2.0)
    assert 0 <= stored["q50"] <= stored["q99"] <= stored["q999"] <= stored["max"] and stored["q999"] > stored["q50"]
    card = json.loads(md["hisir.card"])
    assert card["steps"] == 3 and len(card["calibration_images"]) == 4
    # the quantiles are those of the pipeline run with torch directly
    def fn(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x), torch.from_numpy(pos))[0].numpy()

    files = sorted(image_dir.rglob("n*.png"))
    maps = [pl.run(load_image(f).transpose(2, 0, 1), fn, 32, pl.Settings()) for f in files]
    allv = np.concatenate([m.ravel() for m in maps])
    assert abs(float(np.quantile(allv, 0.999)) - stored["q999"]) < 1e-4
    assert abs(float(allv.max()) - stored["max"]) < 1e-4


def test_calibrate_from_split_json(tiny_onnx: tuple[Path, torch.nn.Module], image_dir: Path, tmp_path: Path) -> None:
    path, _ = tiny_onnx
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [], "val": [str(image_dir / "n0.png"), str(image_dir / "grey.jpg")]}))
    cal = calibrate(path, [], files_from=str(split), progress=False)
    assert cal["images"] == 2 and cal["pixels"] == 72 * 56 + 64 * 64


def test_raw_maps_shape(tiny_onnx: tuple[Path, torch.nn.Module], image_dir: Path) -> None:
    path, _ = tiny_onnx
    maps = raw_maps(path, [image_dir / "grey.jpg"], progress=False)
    assert maps[0].shape == (64, 64) and maps[0].dtype == np.float32


def test_corrupt_model_named_and_untouched(tmp_path: Path, image_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx at all")
    with pytest.raises(ModelError, match="bad.onnx"):
        calibrate(bad, [str(image_dir)], progress=False)
    assert bad.read_bytes() == b"not onnx at all"
    assert main(["calibrate", "--model", str(bad), "--data", str(image_dir)]) == 1
    assert "error:" in capsys.readouterr().err


def test_empty_folder_leaves_model_untouched(tiny_onnx: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    path, _ = tiny_onnx
    before = path.read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images"):
        calibrate(path, [str(empty)], progress=False)
    assert path.read_bytes() == before
    assert "hisir.calibration" not in read_metadata(onnx.load(str(path)))


def test_corrupt_image_named(tiny_onnx: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    path, _ = tiny_onnx
    d = tmp_path / "d"
    d.mkdir()
    (d / "torn.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DataError, match="torn.jpg"):
        calibrate(path, [str(d)], progress=False)
