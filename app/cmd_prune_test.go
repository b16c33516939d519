package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hisirdesk/hisir/store"
)

// TestPrune removes one of two images with score maps from a real project, then checks
// that prune keeps it while it is younger than --older-than, deletes it and its score map
// file with --older-than 0, and leaves the other image and its map alone.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	proj := filepath.Join(dir, "p.hisir")
	st, err := store.Open(proj)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	paths := []string{guiBoardImage(t, dir, "one.png", 3), guiBoardImage(t, dir, "two.png", 2)}
	if _, _, err := st.ImportImages(ctx, paths, nil); err != nil {
		t.Fatal(err)
	}
	ims, _ := st.Images(ctx, store.ImageFilter{})
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), []byte("model bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := st.AddModel(ctx, filepath.Join(dir, "m.onnx"), "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	runID, err := st.StartRun(ctx, m.ID, nil, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	for k, im := range ims {
		if err := st.PutMap(ctx, runID, im.ID, "score", bytes.Repeat([]byte{byte(k + 1)}, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RemoveImages(ctx, "tester", ims[0].ID); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Age the blob files: prune leaves files younger than a minute to concurrent writers.
	old := time.Now().Add(-time.Hour)
	filepath.Walk(strings.TrimSuffix(proj, ".hisir")+".blobs", func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})

	prune := func(args ...string) pruneResult {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"prune", "--project", proj, "--json"}, args...), &out, &errOut); code != 0 {
			t.Fatalf("prune %v: exit %d: %s", args, code, errOut.String())
		}
		var r pruneResult
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("prune output %q: %v", out.String(), err)
		}
		return r
	}
	if r := prune(); r.Purged != 0 || r.BlobFiles != 0 || r.StillListed != 1 {
		t.Fatalf("default age purged a fresh removal: %+v", r)
	}
	r := prune("--older-than", "0s")
	if r.Purged != 1 || r.BlobFiles != 1 || r.BytesFreed <= 0 || r.StillListed != 1 {
		t.Fatalf("--older-than 0s: %+v, want 1 image and its one score-map file", r)
	}
	st, err = store.Open(proj)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Map(ctx, runID, ims[1].ID, "score"); err != nil {
		t.Fatalf("the kept image lost its score map: %v", err)
	}
	if gone, _ := st.Images(ctx, store.ImageFilter{Removed: true}); len(gone) != 0 {
		t.Fatalf("%d removed images left after the purge", len(gone))
	}

	// Bad input: a missing project is an error and creates nothing; a negative age is refused.
	var out, errOut bytes.Buffer
	missing := filepath.Join(dir, "none.hisir")
	if code := run([]string{"prune", "--project", missing}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no such file") {
		t.Errorf("missing project: exit %d, %q", code, errOut.String())
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("prune created the missing project")
	}
	errOut.Reset()
	if code := run([]string{"prune", "--project", proj, "--older-than", "-1h"}, &out, &errOut); code != 1 {
		t.Errorf("negative age: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"prune"}, &out, &errOut); code != 2 {
		t.Errorf("no project: exit %d, want 2", code)
	}
}
