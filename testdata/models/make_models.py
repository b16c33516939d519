"""Writes the small ONNX test models of HiSIR Desk (committed beside this script).

Run from anywhere with the project venv:  $HISIR_PYTHON testdata/models/make_models.py

Uses only the ``onnx`` helper API (no torch), so the files are tiny and deterministic.
The conformant models follow docs/model-contract.md: inputs ``image`` [N,3,P,P] and
``position`` [N,2], outputs ``reconstruction`` [N,3,P,P] and ``gate`` [N,1,P,P], N dynamic.
Their "reconstruction" is a 3x3 box blur of each channel (depthwise Conv, zero padding, so
patch borders and sharp details differ from the input) and their gate is all ones.
The broken models each violate exactly one rule of the contract.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 10

CALIBRATION = {
    "version": 1,
    "images": 2,
    "pixels": 131072,
    "merge": "rops",
    "cell_stat": "max",
    "reduce": "mean",
    "blur_sigma": 2.0,
    "q50": 0.004,
    "q99": 0.02,
    "q999": 0.05,
    "max": 0.09,
}


def metadata(p: int, name: str, calibrated: bool, version: int = 1) -> dict[str, str]:
    """Contract metadata for a test model of patch size p."""
    md = {
        "hisir.contract_version": str(version),
        "hisir.patch_size": str(p),
        "hisir.stride": str(p // 2),
        "hisir.t_diff": "0.1",
        "hisir.backbone": "identity",
        "hisir.gate": "true",
        "hisir.positional_encoding": "false",
        "hisir.name": name,
        "hisir.card": json.dumps({"kind": "test model", "recon": "3x3 box blur", "gate": "ones"}),
    }
    if calibrated:
        md["hisir.calibration"] = json.dumps(CALIBRATION)
    return md


def blur_model(
    p: int,
    md: dict[str, str] | None,
    *,
    names: tuple[str, str, str, str] = ("image", "position", "reconstruction", "gate"),
    batch: str | int = "N",
    declared_p: int | None = None,
) -> onnx.ModelProto:
    """A model whose reconstruction is a 3x3 box blur and whose gate is ones.

    declared_p lets the graph declare another fixed P than the one its weights handle
    (only shapes are declared; Conv works on any size).
    """
    img, pos, rec, gate = names
    dp = declared_p or p
    kernel = numpy_helper.from_array(np.full((3, 1, 3, 3), 1.0 / 9.0, dtype=np.float32), "box_kernel")
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")
    nodes = [
        helper.make_node("Conv", [img, "box_kernel"], [rec], group=3, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        # gate = 0 * mean_c(image) + 1: ones of shape [N,1,P,P] that follow the batch size.
        helper.make_node("ReduceMean", [img], ["chan_mean"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["chan_mean", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "one"], [gate]),
    ]
    graph = helper.make_graph(
        nodes,
        "box_blur",
        inputs=[
            helper.make_tensor_value_info(img, TensorProto.FLOAT, [batch, 3, dp, dp]),
            helper.make_tensor_value_info(pos, TensorProto.FLOAT, [batch, 2]),
        ],
        outputs=[
            helper.make_tensor_value_info(rec, TensorProto.FLOAT, [batch, 3, dp, dp]),
            helper.make_tensor_value_info(gate, TensorProto.FLOAT, [batch, 1, dp, dp]),
        ],
        initializer=[kernel, zero, one],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="hisir-testdata",
    )
    model.ir_version = IR_VERSION
    if md is not None:
        helper.set_model_props(model, md)
    onnx.checker.check_model(model)
    return model


def build_all() -> dict[str, onnx.ModelProto | bytes]:
    """Every test file, by name."""
    return {
        "tiny.onnx": blur_model(16, metadata(16, "tiny", True)),
        "tiny_uncalibrated.onnx": blur_model(16, metadata(16, "tiny-uncalibrated", False)),
        "patch128.onnx": blur_model(128, metadata(128, "patch128", True)),
        "wrong_names.onnx": blur_model(
            16, metadata(16, "wrong-names", True), names=("input", "position", "output", "gate")
        ),
        # Declares P=16 in the graph while the metadata says 32.
        "wrong_shape.onnx": blur_model(16, metadata(32, "wrong-shape", True)),
        # A fixed batch of 4 instead of the dynamic N.
        "fixed_batch.onnx": blur_model(16, metadata(16, "fixed-batch", True), batch=4),
        "no_metadata.onnx": blur_model(16, None),
        "wrong_version.onnx": blur_model(16, metadata(16, "wrong-version", True, version=2)),
        "not_onnx.onnx": b"this is not an ONNX file\x00\x01\x02\xff garbage\n",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, m in build_all().items():
        data = m if isinstance(m, bytes) else m.SerializeToString()
        (args.out / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
