"""Calibration: the score scale of a model on held-out normal images, written into the ONNX file."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from tqdm import tqdm

from . import pipeline
from .data import list_images, load_image
from .errors import DataError, ModelError
from .contract import check_file
from .export import KEY_CALIBRATION, KEY_CARD, KEY_PATCH_SIZE, KEY_T_DIFF, ort_session, read_metadata, save_atomic, set_metadata

DEFAULT_SETTINGS = pipeline.Settings(merge="rops", cell_stat="max", reduce="mean", blur_sigma=2.0)


def load_onnx(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """Loads a contract model, naming the file in every error."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model {p} does not exist")
    try:
        m = onnx.load(str(p))
    except Exception as e:
        raise ModelError(f"model {p} is not a readable ONNX file: {e}") from e
    check_file(p)
    return m


def files_for(data: list[str], pattern: str | None, files_from: str | None) -> list[Path]:
    """Images named by folders/files, and/or by a split.json ('val' list) or a list file."""
    files: list[Path] = []
    if files_from:
        fp = Path(files_from)
        try:
            text = fp.read_text()
        except OSError as e:
            raise DataError(f"cannot read file list {fp}: {e}") from e
        if fp.suffix == ".json":
            try:
                files += [Path(f) for f in json.loads(text)["val"]]
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(f"{fp} is not a split.json with a 'val' list: {e}") from e
        else:
            files += [Path(line.strip()) for line in text.splitlines() if line.strip()]
    if data:
        files += list_images(data, pattern)
    if not files:
        raise DataError("no held-out images given (use --data and/or --files-from)")
    return sorted(set(files))


def onnx_recon(sess: Any) -> pipeline.ReconFn:
    def fn(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return sess.run(["reconstruction"], {"image": x, "position": pos})[0]

    return fn


def raw_maps(model_path: str | os.PathLike[str], files: list[Path], settings: pipeline.Settings | None = None, batch: int = 32, threads: int = 2, progress: bool = True) -> list[np.ndarray]:
    """Raw anomaly maps of images through an ONNX model with onnxruntime."""
    m = load_onnx(model_path)
    md = read_metadata(m)
    p = int(md[KEY_PATCH_SIZE])
    st = settings or pipeline.Settings(DEFAULT_SETTINGS.merge, DEFAULT_SETTINGS.cell_stat, DEFAULT_SETTINGS.reduce, DEFAULT_SETTINGS.blur_sigma, float(md[KEY_T_DIFF]))
    sess = ort_session(model_path, threads)
    fn = onnx_recon(sess)
    maps = []
    bar = tqdm(files, desc="calibrate", unit="img", disable=not progress)
    for f in bar:
        img = load_image(f).transpose(2, 0, 1)
        bar.set_postfix_str(f.name)
        maps.append(pipeline.run(img, fn, p, st, batch))
    return maps


def calibration_of(maps: list[np.ndarray], st: pipeline.Settings) -> dict[str, Any]:
    """The contract's hisir.calibration object for raw maps."""
    allv = np.concatenate([m.ravel() for m in maps]).astype(np.float64)
    q50, q99, q999 = (float(v) for v in np.quantile(allv, [0.5, 0.99, 0.999]))
    return {
        "version": 1,
        "images": len(maps),
        "pixels": int(allv.size),
        "merge": st.merge,
        "cell_stat": st.cell_stat,
        "reduce": st.reduce,
        "blur_sigma": float(st.blur_sigma),
        "q50": q50,
        "q99": q99,
        "q999": q999,
        "max": float(allv.max()),
    }


def calibrate(model: str | os.PathLike[str], data: list[str], pattern: str | None = None, files_from: str | None = None, batch: int = 32, threads: int = 2, progress: bool = True) -> dict[str, Any]:
    """``calibrate`` command: computes the calibration and writes it (and the card) in place."""
    files = files_for(data, pattern, files_from)
    m = load_onnx(model)
    md = read_metadata(m)
    st = pipeline.Settings(DEFAULT_SETTINGS.merge, DEFAULT_SETTINGS.cell_stat, DEFAULT_SETTINGS.reduce, DEFAULT_SETTINGS.blur_sigma, float(md[KEY_T_DIFF]))
    maps = raw_maps(model, files, st, batch, threads, progress)
    cal = calibration_of(maps, st)
    if not cal["q999"] > cal["q50"]:
        raise ModelError(f"{model}: calibration is degenerate (q999 {cal['q999']:g} <= q50 {cal['q50']:g}); the model reproduces its input exactly")
    try:
        card = json.loads(md.get(KEY_CARD, "") or "{}")
    except ValueError:
        card = {}
    card["calibration_images"] = [str(f) for f in files]
    card["calibrated_utc"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    set_metadata(m, {KEY_CALIBRATION: json.dumps(cal), KEY_CARD: json.dumps(card, sort_keys=True)})
    save_atomic(m, model)
    return cal
