package main

import (
	"bytes"
	"encoding/json"
	"image"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalJSONKeys generates a small dataset and checks that hisir eval --json reports every
// key of the paper's table with values in range, for the model and the golden baseline.
func TestEvalJSONKeys(t *testing.T) {
	ds := filepath.Join(t.TempDir(), "ds")
	var out, errb bytes.Buffer
	if code := run([]string{"synth", "--preset", "small", "--train", "1", "--defective", "2", "--defect-free", "1",
		"--width", "320", "--height", "200", "--out", ds}, &out, &errb); code != 0 {
		t.Fatalf("synth exit %d: %s", code, errb.String())
	}
	requireORT(t)
	model := testModel(t, "tiny.onnx")
	out.Reset()
	errb.Reset()
	if code := run([]string{"eval", "--model", model, "--method", "all", "--json", "--plots", t.TempDir(), ds}, &out, &errb); code != 0 {
		t.Fatalf("eval exit %d: %s", code, errb.String())
	}
	var reports []map[string]any
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatalf("eval --json output is not a JSON array: %v\n%s", err, out.String())
	}
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2 (hisir and golden)", len(reports))
	}
	for _, r := range reports {
		for _, k := range []string{"pixel_auroc", "aupro", "defect_precision", "defect_recall", "fp_per_defect_free_image", "image_auroc"} {
			v, ok := r[k].(float64)
			if !ok || v < 0 || (k != "fp_per_defect_free_image" && v > 1) {
				t.Errorf("%v: %s = %v, want a number in range", r["method"], k, r[k])
			}
		}
		if s, _ := r["seconds_per_image"].(float64); s <= 0 {
			t.Errorf("%v: seconds_per_image = %v", r["method"], r["seconds_per_image"])
		}
	}
}

func TestEvalBadDataset(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"eval", t.TempDir()}, &out, &errb); code != 1 {
		t.Fatalf("eval of an empty folder: exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "hisir eval:") {
		t.Fatalf("no clear error: %q", errb.String())
	}
}

// TestEvalImageLabelsOnly evaluates a dataset whose anomalous images have no masks (imported
// with --image-labels): image AUROC is a number, every pixel and defect metric is null in the
// JSON (not NaN, not 0) and "–" in the table.
func TestEvalImageLabelsOnly(t *testing.T) {
	src := t.TempDir()
	plain := image.NewGray(image.Rect(0, 0, 24, 16))
	for i := range plain.Pix {
		plain.Pix[i] = uint8(60 + i%7)
	}
	bad := image.NewGray(plain.Rect)
	copy(bad.Pix, plain.Pix)
	for y := 4; y < 10; y++ {
		for x := 6; x < 14; x++ {
			bad.Pix[y*24+x] = 250
		}
	}
	importPNG(t, filepath.Join(src, "train/good/000.png"), plain)
	importPNG(t, filepath.Join(src, "test/good/000.png"), plain)
	importPNG(t, filepath.Join(src, "test/scratch/000.png"), bad)
	importPNG(t, filepath.Join(src, "test/scratch/001.png"), bad)
	ds := filepath.Join(t.TempDir(), "ds")
	var out, errb bytes.Buffer
	if code := run([]string{"import", "--from", "mvtec", "--image-labels", src, "--out", ds}, &out, &errb); code != 0 {
		t.Fatalf("import exit %d: %s", code, errb.String())
	}
	tests := []struct {
		name string
		args []string
	}{
		{"json", []string{"--json"}},
		{"table", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			errb.Reset()
			args := append(append([]string{"eval", "--method", "golden", "--golden-ref", "train"}, tc.args...), ds)
			if code := run(args, &out, &errb); code != 0 {
				t.Fatalf("eval exit %d: %s", code, errb.String())
			}
			if tc.args == nil {
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				if len(lines) != 2 || strings.Count(lines[1], "–") != 6 || strings.Contains(lines[1], "NaN") {
					t.Fatalf("table %q: want one row with 6 dashes (5 pixel/defect columns and the threshold)", out.String())
				}
				return
			}
			var r map[string]any
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out.String())
			}
			for _, k := range []string{"pixel_auroc", "aupro", "defect_precision", "defect_recall", "fp_per_defect_free_image"} {
				if v, ok := r[k]; !ok || v != nil {
					t.Errorf("%s = %v (present %v), want null", k, v, ok)
				}
			}
			if v, ok := r["image_auroc"].(float64); !ok || v != 1 {
				t.Errorf("image_auroc = %v, want 1 (the two bright images against the plain one)", r["image_auroc"])
			}
			if r["regions"] != 0.0 {
				t.Errorf("regions = %v, want 0", r["regions"])
			}
		})
	}
}
