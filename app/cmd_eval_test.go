package main

import (
	"bytes"
	"encoding/json"
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
