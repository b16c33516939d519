#!/usr/bin/env bash
# Reproduces every number and figure of docs/evaluation.md.
#
#   bash scripts/eval.sh                 # every stage, in order
#   bash scripts/eval.sh synth deeppcb   # only these stages
#
# Stages: build data synth deeppcb inject real panel merge ablate figures table
#   build    builds the hisir binary into $EVAL_DIR/bin
#   data     makes every dataset (generated panels, DeepPCB held-out pairs, injected and real
#            lookout photos) under $EVAL_DIR/data; a dataset that exists is kept
#   synth    Table A: synth4k model vs golden template on the 4K SIPCBA-like set
#   deeppcb  Table B: deeppcb model vs golden template (twin) on held-out DeepPCB pairs
#   inject   Table C: circuitboard model vs golden template on injected held-out lookout photos
#   real     Table D: image AUROC on real anomalous lookout photos (image labels only)
#   panel    Table E: board-level calls on composed 2x2 panels of real photos
#   merge    Table F: merge rops/average/none and cell statistic max/mean (synth4k model)
#   ablate   Table G: small models trained with one reduced budget (full, no-gate, no-pe,
#            resnet) + the plain autoencoder; trained OUTSIDE the repo under $EVAL_DIR/ablate
#   figures  docs/figures/*.png: threshold curves, precision-recall, 4K overlay crop (the panel
#            stage writes panel_overlay.png)
#   table    prints every result as markdown rows (what docs/evaluation.md quotes)
#
# Needs `make test`'s setup (scripts/setup.sh: ORT library, Python venv), the shipped models in
# assets/models/ and the shared data at ../shared/data (override with HISIR_DATA). Everything it
# writes goes to $EVAL_DIR (default $HISIR_CACHE/eval), except docs/figures/*.png.
# Sizes are small on purpose (2 shared CPU cores); see docs/evaluation.md for what each set holds.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

EVAL_DIR="${HISIR_EVAL_DIR:-$HISIR_CACHE/eval}"
DATA="${HISIR_DATA:-$(cd "$REPO_ROOT/.." && pwd)/shared/data}"
MODELS="${HISIR_MODELS:-$REPO_ROOT/assets/models}"
THREADS="${HISIR_EVAL_THREADS:-2}"
ABLATE_STEPS="${HISIR_ABLATE_STEPS:-400}"   # the one training budget of every Table G model
ABLATE_THREADS="${HISIR_ABLATE_THREADS:-1}"
HISIR="$EVAL_DIR/bin/hisir"
DS="$EVAL_DIR/data"
RES="$EVAL_DIR/results"
FIG="$REPO_ROOT/docs/figures"
PY="$HISIR_PYTHON"
export PYTHONPATH="$REPO_ROOT/train${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$DS" "$RES" "$EVAL_DIR/bin"

say() { printf '\033[1meval:\033[0m %s\n' "$*" >&2; }
need() { [ -e "$1" ] || { echo "eval: missing $1 ($2)" >&2; exit 1; }; }

# ev NAME ARGS...: one `hisir eval --json` run, kept as $RES/NAME.json (and its command line).
# A result that exists is kept (rerun with HISIR_EVAL_FORCE=1, or delete it).
ev() {
  local name="$1"; shift
  if [ -s "$RES/$name.json" ] && [ -z "${HISIR_EVAL_FORCE:-}" ]; then say "eval $name: kept"; return; fi
  say "eval $name: hisir eval $*"
  local t0=$SECONDS
  "$HISIR" eval --json --threads "$THREADS" "$@" >"$RES/$name.json.tmp"
  mv "$RES/$name.json.tmp" "$RES/$name.json"
  printf 'hisir eval --json --threads %s %s\n' "$THREADS" "$*" >"$RES/$name.cmd"
  say "eval $name: $((SECONDS - t0)) s"
}

# heldout PATTERN VALSPLIT DIR...: the validation files of a training run, recomputed with the
# trainer's own deterministic split (seed 42), one path a line. The shipped models were trained
# with these arguments (docs/training.md); the images they list were never trained on.
heldout() {
  local pattern="$1" val="$2"; shift 2
  "$PY" - "$pattern" "$val" "$@" <<'EOF'
import sys
from hisir_train import data
pattern, val, dirs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
_, held = data.split(data.list_images(dirs, pattern), val, 42)
print("\n".join(str(p) for p in held))
EOF
}

stage_build() {
  say "building hisir"
  go build -o "$HISIR" ./app
}

data_synth() {
  # Same generator seed (42) and panel geometry as synth4k's training panels: the same board
  # design, different panels (split-specific panel indices), as SIPCBA's train/test split.
  [ -d "$DS/synth4k" ] || "$HISIR" synth --preset sipcba --seed 42 --train 1 --defective 8 \
    --defect-free 6 --workers 1 --out "$DS/synth4k"
  # Half-scale panels (same seed, so the same design at half the pixels) for the trained ablations.
  [ -d "$DS/synth-half" ] || "$HISIR" synth --preset sipcba --seed 42 --width 1920 --height 1080 \
    --train 20 --defective 4 --defect-free 3 --workers 1 --out "$DS/synth-half"
}

data_deeppcb() {
  # The DeepPCB pairs whose templates the deeppcb model held out (val split of its training run),
  # arranged as a PCBData tree of symlinks; no trainval.txt, so every pair is a test pair.
  [ -d "$DS/deeppcb" ] && return
  local src="$EVAL_DIR/src/deeppcb" root="$DATA/deeppcb/PCBData"
  rm -rf "$src"; mkdir -p "$src/PCBData"
  heldout '*_temp.jpg' 0.1 "$root" | while read -r t; do
    local id dir grp test ann
    id=$(basename "$t" _temp.jpg); dir=$(basename "$(dirname "$t")"); grp=$(basename "$(dirname "$(dirname "$t")")")
    test="$(dirname "$t")/${id}_test.jpg"; ann="$root/$grp/${dir}_not/$id.txt"
    [ -e "$test" ] || continue
    mkdir -p "$src/PCBData/$grp/$dir" "$src/PCBData/$grp/${dir}_not"
    ln -s "$t" "$src/PCBData/$grp/$dir/"; ln -s "$test" "$src/PCBData/$grp/$dir/"; ln -s "$ann" "$src/PCBData/$grp/${dir}_not/"
  done
  "$HISIR" import --from deeppcb "$src" --out "$DS/deeppcb" --name deeppcb-heldout
}

data_lookout() {
  local lk="$DATA/lookout-circuitboard/mini_data"
  # The normal photos the circuitboard model held out (its val split; also its calibration set).
  heldout '*-normal_*' 0.17 "$lk" >"$EVAL_DIR/lookout-heldout.txt"
  if [ ! -d "$DS/lookout-inject" ]; then
    local src="$EVAL_DIR/src/lookout-normal"
    rm -rf "$src"; mkdir -p "$src"
    while read -r p; do cp "$p" "$src/"; done <"$EVAL_DIR/lookout-heldout.txt"  # the importers list regular files only
    "$HISIR" import --from inject "$src" --per-image 2 --defects 1 --seed 42 --out "$DS/lookout-inject"
  fi
  # A lookout-real built before image-level labels (whole-image placeholder masks under
  # ground_truth/) is rebuilt.
  if [ -d "$DS/lookout-real/ground_truth" ]; then rm -rf "$DS/lookout-real"; fi
  if [ ! -d "$DS/lookout-real" ]; then
    # MVTec-style folder: train/good = one training photo (the golden board), test/good = the
    # held-out normals, test/anomaly = the 10 extra_images anomalies. They have image labels only
    # (no ground_truth masks): --image-labels keeps them as image-level labels ("labels": "image"
    # in dataset.json), so eval reports their image AUROC and no pixel or defect metrics.
    local src="$EVAL_DIR/src/lookout-mvtec"
    rm -rf "$src"; mkdir -p "$src/train/good" "$src/test/good" "$src/test/anomaly"
    cp "$lk/train/normal/train-normal_1.jpg" "$src/train/good/"
    while read -r p; do cp "$p" "$src/test/good/"; done <"$EVAL_DIR/lookout-heldout.txt"
    for p in "$lk"/extra_images/extra_images-anomaly_*.jpg; do cp "$p" "$src/test/anomaly/"; done
    "$HISIR" import --from mvtec --image-labels "$src" --out "$DS/lookout-real" --name lookout-real
  fi
}

stage_data() { data_synth; data_deeppcb; data_lookout; }

stage_synth() {
  need "$MODELS/synth4k.onnx" "trained by train/ (docs/training.md)"
  ev A_synth_hisir --model "$MODELS/synth4k.onnx" --method hisir --plots "$EVAL_DIR/plots/A" "$DS/synth4k"
  ev A_synth_golden_board --method golden --golden-ref train --plots "$EVAL_DIR/plots/A" "$DS/synth4k"
  ev A_synth_golden_twin --method golden --golden-ref twin --plots "$EVAL_DIR/plots/A" "$DS/synth4k"
}

stage_deeppcb() {
  need "$MODELS/deeppcb.onnx" "trained by train/ (docs/training.md)"
  ev B_deeppcb_hisir --model "$MODELS/deeppcb.onnx" --method hisir --plots "$EVAL_DIR/plots/B" "$DS/deeppcb"
  ev B_deeppcb_golden_twin --method golden --golden-ref twin --plots "$EVAL_DIR/plots/B" "$DS/deeppcb"
}

stage_inject() {
  need "$MODELS/circuitboard.onnx" "trained by train/ (docs/training.md)"
  ev C_inject_hisir --model "$MODELS/circuitboard.onnx" --method hisir --plots "$EVAL_DIR/plots/C" "$DS/lookout-inject"
  ev C_inject_golden_twin --method golden --golden-ref twin "$DS/lookout-inject"
}

stage_real() {
  need "$MODELS/circuitboard.onnx" "trained by train/ (docs/training.md)"
  ev D_real_hisir --model "$MODELS/circuitboard.onnx" --method hisir "$DS/lookout-real"
  ev D_real_golden_board --method golden --golden-ref train "$DS/lookout-real"
}

stage_panel() {
  # Composed multi-board panels of real photos at full resolution (2x2 photos of 2000x1334 =
  # 4000x2668, a 4K-class panel): panel k holds anomaly k at board position k (0 top-left,
  # 1 top-right, 2 bottom-left, 3 bottom-right) and three held-out normals. Per board: the peak
  # calibrated score and the mean of its top 1%; a board is flagged when its peak reaches the
  # default threshold (1.0 = the 99.9th percentile of normal pixels); the panel's call is the
  # board with the largest top-1% mean.
  need "$MODELS/circuitboard.onnx" "trained by train/ (docs/training.md)"
  local lk="$DATA/lookout-circuitboard/mini_data" pd="$EVAL_DIR/panel" n="${HISIR_PANELS:-4}"
  rm -rf "$pd"; mkdir -p "$pd/in" "$pd/out"
  local anomalies=()
  for k in $(seq 1 "$n"); do anomalies+=("$lk/extra_images/extra_images-anomaly_$k.jpg"); done
  "$PY" - "$pd/in" "$EVAL_DIR/lookout-heldout.txt" "${anomalies[@]}" <<'EOF'
import sys, pathlib
from PIL import Image
out, normals, anomalies = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text().split(), sys.argv[3:]
for k, a in enumerate(anomalies):
    boards = normals[k % len(normals):] + normals[:k % len(normals)]
    boards = boards[:3]
    boards.insert(k % 4, a)
    ims = [Image.open(b).convert("RGB") for b in boards]
    W, H = ims[0].size
    pan = Image.new("RGB", (2 * W, 2 * H))
    for i, im in enumerate(ims):
        pan.paste(im, ((i % 2) * W, (i // 2) * H))
    pan.save(out / f"panel{k}_anomaly_at_{k % 4}.png", compress_level=1)
EOF
  # --threshold 1 (the calibration's 99.9th percentile of normal pixels): the flags and the
  # overlay's scale stay comparable across models (the default threshold is model-dependent).
  "$HISIR" infer --model "$MODELS/circuitboard.onnx" --threshold 1 --threads "$THREADS" --json --out "$pd/out" "$pd"/in/*.png >"$pd/infer.json"
  "$PY" - "$pd" >"$RES/E_panel.json" <<'EOF'
import json, sys, pathlib
import numpy as np
from PIL import Image
pd = pathlib.Path(sys.argv[1])
rows = []
for rep in sorted((pd / "out").glob("*_defects.json")):
    r = json.loads(rep.read_text())
    stem = rep.name[: -len("_defects.json")]
    truth = int(stem.rsplit("_", 1)[1])
    m = np.asarray(Image.open(pd / "out" / f"{stem}_map.png"), dtype=np.float64) / 65535 * r["settings"]["map_scale"]
    H, W = m.shape
    boards = []
    for i in range(4):
        q = m[(i // 2) * H // 2:(i // 2 + 1) * H // 2, (i % 2) * W // 2:(i % 2 + 1) * W // 2].ravel()
        top = np.sort(q)[-max(1, q.size // 100):]
        boards.append({"board": i, "peak": float(q.max()), "top1pct_mean": float(top.mean()),
                       "flagged": bool(q.max() >= r["settings"]["threshold"])})
    call = max(boards, key=lambda b: b["top1pct_mean"])["board"]
    rows.append({"panel": stem, "anomalous_board": truth, "called_board": call, "correct": call == truth,
                 "flagged": [b["board"] for b in boards if b["flagged"]], "boards": boards,
                 "seconds": r["timings_ms"]["total"] / 1000})
print(json.dumps({"panels": rows, "correct": sum(r["correct"] for r in rows), "of": len(rows)}, indent=1))
EOF
  mkdir -p "$FIG"
  convert "$pd/out/panel1_anomaly_at_1_overlay.png" -resize 1000x "$FIG/panel_overlay.png"
  say "panel calls in $RES/E_panel.json (maps in $pd/out)"
}

stage_merge() {
  need "$MODELS/synth4k.onnx" "trained by train/ (docs/training.md)"
  local n="${HISIR_MERGE_LIMIT:-3}"   # 3 defective + 3 defect-free 4K panels per variant
  for m in rops average none; do
    ev "F_merge_$m" --model "$MODELS/synth4k.onnx" --merge "$m" --cell-stat max --limit "$n" "$DS/synth4k"
  done
  ev F_cellstat_mean --model "$MODELS/synth4k.onnx" --merge rops --cell-stat mean --limit "$n" "$DS/synth4k"
}

stage_ablate() {
  # Every model: same data (the 20 half-scale train panels; 2 held out for calibration), same
  # seed, batch 8, $ABLATE_STEPS steps, $ABLATE_THREADS torch thread(s). Wall time is in each model's losses.csv.
  local ab="$EVAL_DIR/ablate"
  mkdir -p "$ab"
  local spec
  for spec in "full:swin:" "nogate:swin:--no-gate" "nope:swin:--no-pe" "resnet:resnet:" "ae:swin:--no-gate --no-pe"; do
    local name="${spec%%:*}" rest="${spec#*:}"; local bb="${rest%%:*}" flags="${rest#*:}"
    if [ ! -f "$ab/$name.onnx" ]; then
      say "ablate: training $name ($bb $flags, $ABLATE_STEPS steps)"
      # shellcheck disable=SC2086
      (cd train && "$PY" -m hisir_train train --data "$DS/synth-half" --out "$ab/ckpt-$name" --backbone "$bb" $flags \
        --steps "$ABLATE_STEPS" --batch 8 --seed 42 --threads "$ABLATE_THREADS" --val-every "$ABLATE_STEPS" 2>&1 | tr '\r' '\n' | tail -n 3)
      (cd train && "$PY" -m hisir_train export --ckpt "$ab/ckpt-$name" --out "$ab/$name.tmp.onnx" --name "ablate-$name" &&
        "$PY" -m hisir_train calibrate --model "$ab/$name.tmp.onnx" --files-from "$ab/ckpt-$name/split.json" --threads 2)
      mv "$ab/$name.tmp.onnx" "$ab/$name.onnx"
    fi
    local merge=rops
    [ "$name" = ae ] && merge=average
    ev "G_ablate_$name" --model "$ab/$name.onnx" --merge "$merge" "$DS/synth-half"
  done
  ev G_ablate_golden_board --method golden --golden-ref train "$DS/synth-half"
}

stage_figures() {
  mkdir -p "$FIG"
  # Threshold curves (precision, recall, F1, FP per defect-free image vs the global threshold).
  local f
  for f in "$EVAL_DIR"/plots/A/*.png; do [ -e "$f" ] && cp "$f" "$FIG/synth4k_$(basename "$f")"; done
  for f in "$EVAL_DIR"/plots/B/*.png; do [ -e "$f" ] && cp "$f" "$FIG/deeppcb_$(basename "$f")"; done
  for f in "$EVAL_DIR"/plots/C/*.png; do [ -e "$f" ] && cp "$f" "$FIG/inject_$(basename "$f")"; done
  # Precision-recall over the swept global thresholds (one point per threshold), Table A methods.
  "$PY" - "$FIG/synth4k_pr.png" "$RES"/A_synth_hisir.json "$RES"/A_synth_golden_board.json "$RES"/A_synth_golden_twin.json <<'EOF'
import json, sys
from PIL import Image, ImageDraw
out, files = sys.argv[1], sys.argv[2:]
W, H, L, R, T, B = 640, 480, 60, 20, 30, 50
im = Image.new("RGB", (W, H), "white")
d = ImageDraw.Draw(im)
px = lambda r: L + r * (W - L - R)
py = lambda p: H - B - p * (H - T - B)
for k in range(5):
    v = k / 4
    d.line([px(v), py(0), px(v), py(1)], fill=(225, 225, 225)); d.line([px(0), py(v), px(1), py(v)], fill=(225, 225, 225))
    d.text((px(v) - 8, py(0) + 6), f"{v:.2f}", fill="black"); d.text((8, py(v) - 6), f"{v:.2f}", fill="black")
d.rectangle([px(0), py(1), px(1), py(0)], outline="black")
d.text((px(0.5) - 20, H - 22), "recall", fill="black"); d.text((8, 8), "precision (defects, IoU > 0.5; one global threshold swept)", fill="black")
colors = [(31, 119, 180), (214, 39, 40), (44, 160, 44)]
for i, (f, c) in enumerate(zip(files, colors)):
    r = json.load(open(f))
    pts = []
    for x in r["curve"]:
        tp, fp, fn = x["tp"], x["fp"], x["fn"]  # as engine/evaluate: FP on the test images
        p = tp / (tp + fp) if tp + fp else 1.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        pts.append((px(rc), py(p)))
    d.line(pts, fill=c, width=2)
    for q in pts:
        d.ellipse([q[0] - 2, q[1] - 2, q[0] + 2, q[1] + 2], fill=c)
    d.line([px(0.55), py(0.95) + 16 * i, px(0.62), py(0.95) + 16 * i], fill=c, width=3)
    d.text((px(0.64), py(0.95) + 16 * i - 6), r["method"], fill="black")
im.save(out)
EOF
  # Heatmap overlay on the first defective 4K panel (test_0000), cropped to 960x540 around its
  # first defect, beside the same crop of the input.
  need "$MODELS/synth4k.onnx" "trained by train/ (docs/training.md)"
  local ov="$EVAL_DIR/overlay" img crop
  img=$(ls "$DS"/synth4k/test/*/test_0000.png)
  rm -rf "$ov"; mkdir -p "$ov"
  "$HISIR" infer --model "$MODELS/synth4k.onnx" --threshold 1 --threads "$THREADS" --json --out "$ov" "$img" >"$ov/infer.json"
  crop=$("$PY" - "$DS/synth4k" "$img" <<'EOF'
import json, sys, pathlib
ds, img = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
coco = json.loads((ds / "annotations" / "coco_test.json").read_text())
ids = {i["id"] for i in coco["images"] if pathlib.Path(i["file_name"]).stem == img.stem}
x, y, w, h = next(a["bbox"] for a in coco["annotations"] if a["image_id"] in ids)
W, H = 960, 540
cx, cy = x + w / 2, y + h / 2
print(f"{W}x{H}+{int(max(0, min(3840 - W, cx - W / 2)))}+{int(max(0, min(2160 - H, cy - H / 2)))}")
EOF
)
  convert "$img" -crop "$crop" +repage "$ov/input_crop.png"
  convert "$ov/test_0000_overlay.png" -crop "$crop" +repage "$ov/overlay_crop.png"
  convert "$ov/input_crop.png" "$ov/overlay_crop.png" +append -resize 1400x "$FIG/synth4k_overlay_crop.png"
  say "figures in $FIG (crop $crop)"
}

stage_table() {
  say "results in $RES"
  "$PY" - "$RES" <<'EOF'
import json, sys, pathlib
res = pathlib.Path(sys.argv[1])
f = lambda v: "–" if v is None else f"{v:.4f}"
print("| result | method | images | pixel AUROC | AUPRO | defect P | defect R | FP/defect-free img | image AUROC | s/image | threshold |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for p in sorted(res.glob("*.json")):
    if p.name.startswith("E_panel"):
        e = json.loads(p.read_text())
        print(f"| {p.stem} | board calls on composed panels: {e['correct']} of {e['of']} right |")
        continue
    rs = json.loads(p.read_text())
    for r in rs if isinstance(rs, list) else [rs]:
        print(f"| {p.stem} | {r['method']} | {r['images']} | {f(r['pixel_auroc'])} | {f(r['aupro'])} | "
              f"{f(r['defect_precision'])} | {f(r['defect_recall'])} | {f(r['fp_per_defect_free_image'])} | "
              f"{f(r['image_auroc'])} | {r['seconds_per_image']:.2f} | "
              f"{'–' if not r.get('threshold_rule') else format(r['threshold'], '.3g') + ' (' + r['threshold_rule'] + ')'} |")
EOF
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build data synth deeppcb inject real panel merge ablate figures table)
[ -x "$HISIR" ] || [ "${stages[0]}" = build ] || stage_build
for s in "${stages[@]}"; do
  case "$s" in
    build | data | synth | deeppcb | inject | real | panel | merge | ablate | figures | table) "stage_$s" ;;
    *) echo "eval: unknown stage $s" >&2; exit 2 ;;
  esac
done
