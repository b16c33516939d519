package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/store"
)

// TestInferProjectIsResumable runs infer --project twice on the same images: the first call
// imports and runs them and stores detections for review; the second finds nothing to do.
func TestInferProjectIsResumable(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	imgs := []string{writeTestBoard(t, dir, "a.png"), writeTestBoard(t, dir, "b.png")}
	project := filepath.Join(dir, "line.hisir")
	call := func(extra ...string) inferProjectSummary {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"infer", "--model", testModel(t, "tiny.onnx"), "--project", project, "--json"}, extra...)
		if code := run(append(args, imgs...), &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var s inferProjectSummary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out.String())
		}
		return s
	}
	first := call("--threshold", "0.5")
	// a.png and b.png have the same bytes: the project keeps one image (content hash).
	if first.Imported != 1 || first.Run != 1 || first.Flagged != 1 || first.Model != "tiny" {
		t.Fatalf("first call: %+v", first)
	}
	second := call()
	if second.Imported != 0 || second.Run != 0 || second.Flagged != 1 {
		t.Fatalf("second call must find nothing new to run: %+v", second)
	}
	st, err := store.Open(project)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	ims, err := st.Images(ctx, store.ImageFilter{})
	if err != nil || len(ims) != 1 {
		t.Fatalf("%d images (%v)", len(ims), err)
	}
	dets, err := st.Detections(ctx, ims[0].ID, 0)
	if err != nil || len(dets) == 0 {
		t.Fatalf("no detections stored for review (%v)", err)
	}
	models, err := st.Models(ctx)
	if err != nil || len(models) != 1 {
		t.Fatalf("models %v (%v)", models, err)
	}
	if v, ok, err := st.Threshold(ctx, models[0].ID); err != nil || !ok || v != 0.5 {
		t.Fatalf("--threshold not saved as the project's threshold: %v %v %v", v, ok, err)
	}
}
