"""Exported files follow docs/model-contract.md; onnxruntime matches torch for unseen batch sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conftest import repo_root, tiny_config
from hisir_train.contract import check_file
from hisir_train.errors import ModelError
from hisir_train.export import MAX_BYTES, REQUIRED_KEYS, export_model, ort_session, parity, read_metadata
from hisir_train.model import build_model


def _parse(md: dict[str, str]) -> dict[str, object]:
    """What the Go engine's ParseMetadata reads, parsed the same strict way."""
    return {
        "version": int(md["hisir.contract_version"]),
        "patch": int(md["hisir.patch_size"]),
        "stride": int(md["hisir.stride"]),
        "t_diff": float(md["hisir.t_diff"]),
        "backbone": md["hisir.backbone"],
        "gate": {"true": True, "false": False}[md["hisir.gate"]],
        "pe": {"true": True, "false": False}[md["hisir.positional_encoding"]],
        "name": md["hisir.name"],
        "card": json.loads(md["hisir.card"]) if "hisir.card" in md else None,
    }


@pytest.mark.parametrize("backbone", ["swin", "resnet"])
@pytest.mark.parametrize("gate,pe", [(True, True), (False, False), (True, False)])
def test_export_follows_contract(tmp_path: Path, backbone: str, gate: bool, pe: bool) -> None:
    torch.manual_seed(0)
    cfg = tiny_config(backbone, gate, pe)
    model = build_model(cfg).eval()
    out = tmp_path / "m.onnx"
    rep = export_model(model, cfg, out, "tiny", card={"steps": 0})
    md = check_file(out)
    got = _parse(md)
    assert got == {"version": 1, "patch": 32, "stride": 16, "t_diff": 0.1, "backbone": backbone, "gate": gate, "pe": pe, "name": "tiny", "card": {"steps": 0}}
    m = onnx.load(str(out))
    assert m.ir_version <= 10 and max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) == 17
    assert [i.name for i in m.graph.input] == ["image", "position"]
    assert [o.name for o in m.graph.output] == ["reconstruction", "gate"]
    assert out.stat().st_size == rep["bytes"] <= MAX_BYTES
    # parity at batch sizes never used at export (the dummy batch is 2)
    assert parity(model, out, (1, 5, 7)) <= 1e-4
    sess = ort_session(out)
    x = np.random.default_rng(1).random((3, 3, 32, 32), dtype=np.float32)
    pos = np.full((3, 2), 0.5, np.float32)
    r, g = sess.run(None, {"image": x, "position": pos})
    assert r.shape == (3, 3, 32, 32) and g.shape == (3, 1, 32, 32)
    if not gate:
        assert np.array_equal(g, np.ones_like(g))
    # rows do not depend on the batch composition
    r1, _ = sess.run(None, {"image": x[1:2], "position": pos[1:2]})
    assert np.abs(r1 - r[1:2]).max() <= 1e-5


def test_bad_name_refused(tmp_path: Path) -> None:
    cfg = tiny_config()
    with pytest.raises(ModelError, match="name"):
        export_model(build_model(cfg), cfg, tmp_path / "m.onnx", "two words")


@pytest.mark.parametrize(
    "fixture,problem",
    [
        ("tiny.onnx", None),
        ("tiny_uncalibrated.onnx", None),
        ("patch128.onnx", None),
        ("fixed_batch.onnx", "fixed batch axis"),
        ("no_metadata.onnx", "missing metadata key"),
        ("not_onnx.onnx", "not a readable ONNX file"),
        ("wrong_names.onnx", "inputs"),
        ("wrong_shape.onnx", "want \\[N,3,32,32\\]"),
        ("wrong_version.onnx", "contract version 2"),
    ],
)
def test_checker_agrees_with_engine_fixtures(fixture: str, problem: str | None) -> None:
    """The engine's test models (testdata/models) are judged the same way here."""
    path = repo_root() / "testdata" / "models" / fixture
    if problem is None:
        md = check_file(path)
        assert set(REQUIRED_KEYS) <= set(md)
    else:
        with pytest.raises(ModelError, match=problem) as e:
            check_file(path)
        assert fixture in str(e.value)


def test_shipped_models_follow_contract() -> None:
    """Every model in assets/models is a calibrated contract file with a card and a loss curve."""
    models = sorted((repo_root() / "assets" / "models").glob("*.onnx"))
    for path in models:
        md = check_file(path)
        info = _parse(md)
        assert info["name"] == path.stem and info["patch"] == 128
        cal = json.loads(md["hisir.calibration"])
        assert cal["version"] == 1 and cal["q999"] > cal["q50"] >= 0 and cal["max"] >= cal["q999"]
        assert (path.parent / f"{path.stem}.md").is_file() and (path.parent / f"{path.stem}_loss.png").is_file()
        sess = ort_session(path)
        x = np.random.default_rng(0).random((2, 3, 128, 128), dtype=np.float32)
        r, g = sess.run(None, {"image": x, "position": np.full((2, 2), 0.5, np.float32)})
        assert r.shape == x.shape and float(r.min()) >= 0 and float(r.max()) <= 1
        assert read_metadata(onnx.load(str(path), load_external_data=False))["hisir.name"] == path.stem
