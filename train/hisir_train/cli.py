"""Command line: ``python -m hisir_train train|export|calibrate``."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import HisirError


def _train(a: argparse.Namespace) -> int:
    from .train import TrainOptions, train

    cfg = json.loads(a.config) if a.config else {}
    st = train(
        TrainOptions(
            data=a.data, out=a.out, backbone=a.backbone, gate=not a.no_gate, pe=not a.no_pe, steps=a.steps,
            batch=a.batch, lr=a.lr, device=a.device, resume=a.resume, seed=a.seed, val_split=a.val_split,
            val_every=a.val_every, pattern=a.pattern, threads=a.threads, config=cfg, stop_at=a.stop_at,
            max_minutes=a.max_minutes,
        )
    )
    h = st.get("history", [])
    if h:
        print(f"trained {h[-1]['step']} steps: train loss {h[-1]['train_loss']:.5f}, val loss {h[-1]['val_loss']:.5f}; checkpoint in {a.out}")
    return 0


def _export(a: argparse.Namespace) -> int:
    from .export import export

    rep = export(a.ckpt, a.out, a.name, t_diff=a.t_diff)
    print(f"exported {a.out} ({rep['bytes'] / 1e6:.2f} MB); onnxruntime parity max abs diff {rep['max_abs_diff']:.2e}")
    return 0


def _calibrate(a: argparse.Namespace) -> int:
    from .calibrate import calibrate

    cal = calibrate(a.model, a.data, pattern=a.pattern, files_from=a.files_from, batch=a.batch, threads=a.threads)
    print(json.dumps(cal))
    return 0


def _card(a: argparse.Namespace) -> int:
    from .card import write_card

    cmds = open(a.commands).read() if a.commands else ""
    md, png = write_card(a.model, a.ckpt, a.out_dir, cmds)
    print(f"wrote {md} and {png}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hisir_train", description="HiSIR-Net training, ONNX export and calibration.")
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train a model on normal images")
    t.add_argument("--data", nargs="+", required=True, help="folders (recursive) or files of normal images; a SIPCBA folder means its train/good")
    t.add_argument("--pattern", help="only file names matching this shell pattern, e.g. '*_temp.jpg'")
    t.add_argument("--val-split", type=float, default=0.1, help="share of images held out for validation (default 0.1)")
    t.add_argument("--out", required=True, help="checkpoint folder (last.pt, losses.csv, split.json)")
    t.add_argument("--backbone", choices=["swin", "resnet"], default="swin")
    t.add_argument("--no-gate", action="store_true", help="ablation: no SIR-Gate")
    t.add_argument("--no-pe", action="store_true", help="ablation: no positional encoding")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--val-every", type=int, default=0, help="validate and checkpoint every N steps (default steps/10)")
    t.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    t.add_argument("--config", help='JSON overrides of the architecture, e.g. \'{"embed_dim": 48}\'')
    t.add_argument("--max-minutes", type=float, default=0.0, help="wall-clock guard: checkpoint and stop after this many minutes")
    t.add_argument("--stop-at", type=int, default=0, help=argparse.SUPPRESS)
    t.set_defaults(fn=_train)

    e = sub.add_parser("export", help="export a checkpoint to ONNX per docs/model-contract.md")
    e.add_argument("--ckpt", required=True, help="checkpoint file or folder")
    e.add_argument("--out", required=True, help="ONNX file to write")
    e.add_argument("--name", required=True, help="short model name (hisir.name)")
    e.add_argument("--t-diff", type=float, default=0.1, help="ROPS threshold written as hisir.t_diff")
    e.set_defaults(fn=_export)

    c = sub.add_parser("calibrate", help="write hisir.calibration from held-out normal images")
    c.add_argument("--model", required=True, help="ONNX model, updated in place")
    c.add_argument("--data", nargs="*", default=[], help="folders or files of held-out normal images")
    c.add_argument("--pattern", help="only file names matching this shell pattern")
    c.add_argument("--files-from", help="split.json of a training run (its 'val' list) or a text file of paths")
    c.add_argument("--batch", type=int, default=32)
    c.add_argument("--threads", type=int, default=2)
    c.set_defaults(fn=_calibrate)

    k = sub.add_parser("card", help="write <name>.md and <name>_loss.png for an exported model")
    k.add_argument("--model", required=True, help="exported (and calibrated) ONNX model")
    k.add_argument("--ckpt", required=True, help="checkpoint folder of the run (losses.csv)")
    k.add_argument("--out-dir", required=True, help="folder for the card and the loss curve")
    k.add_argument("--commands", help="text file with the commands that made the model")
    k.set_defaults(fn=_card)
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        return int(a.fn(a))
    except HisirError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
