package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/sipcba"
	"github.com/hisirdesk/hisir/store"
)

// exportProjectFixture builds a project of six 64×48 images:
// a: one accepted and one rejected detection (class "solder bridge"); b: only rejected;
// c: processed, no detection; d: a drawn label, never run; e: a pending detection (unreviewed);
// f: never run, no label, in the train split.
func exportProjectFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var paths []string
	for i, name := range []string{"a", "b", "c", "d", "e", "f"} {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for k := range img.Pix {
			img.Pix[k] = uint8(k*(i+3)) | 3
		}
		p := filepath.Join(dir, name+".png")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths = append(paths, p)
	}
	project := filepath.Join(dir, "boards.hisir")
	s, err := store.Open(project)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.ImportImages(ctx, paths, nil); err != nil {
		t.Fatal(err)
	}
	ims, _ := s.Images(ctx, store.ImageFilter{})
	model := filepath.Join(dir, "m.onnx")
	os.WriteFile(model, []byte("model"), 0o644)
	m, err := s.AddModel(ctx, model, "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	run, _ := s.StartRun(ctx, m.ID, nil, "CPU")
	box := func(x, y float64) geom.Polygon {
		return geom.Polygon{{X: x, Y: y}, {X: x + 10, Y: y}, {X: x + 10, Y: y + 8}, {X: x, Y: y + 8}}
	}
	da, _ := s.AddDetections(ctx, run, ims[0].ID, []store.Detection{{Polygon: box(5, 5), Class: "solder bridge"}, {Polygon: box(30, 20)}})
	db, _ := s.AddDetections(ctx, run, ims[1].ID, []store.Detection{{Polygon: box(5, 5)}})
	s.AddDetections(ctx, run, ims[2].ID, nil)
	s.AddDetections(ctx, run, ims[4].ID, []store.Detection{{Polygon: box(1, 1)}})
	if err := s.SetStatus(ctx, "ana", store.Accepted, da[0]); err != nil {
		t.Fatal(err)
	}
	s.SetStatus(ctx, "ana", store.Rejected, da[1], db[0])
	if _, err := s.AddLabel(ctx, "ana", ims[3].ID, box(20, 10), "missing_component"); err != nil {
		t.Fatal(err)
	}
	s.SetSplit(ctx, "train", ims[5].ID)
	return project
}

func TestExportFormats(t *testing.T) {
	project := exportProjectFixture(t)
	tests := []struct {
		format string
		files  []string // must exist
		absent []string // must not
	}{
		{"sipcba", []string{"dataset.json", "test/solder_bridge/a.png", "ground_truth/missing_component/d_mask.png",
			"test/good/b.png", "test/good/c.png", "train/good/f.png", "annotations/coco_test.json", "annotations/labelme/test/a.json"},
			[]string{"test/good/e.png", "test/defective/e.png"}},
		{"mvtec", []string{"train/good/f.png", "test/solder_bridge/a.png", "ground_truth/solder_bridge/a_mask.png", "test/good/c.png"},
			[]string{"dataset.json", "annotations", "twins"}},
		{"coco", []string{"annotations/coco_test.json", "test/solder_bridge/a.png"},
			[]string{"dataset.json", "ground_truth", "annotations/labelme"}},
		{"labelme", []string{"annotations/labelme/test/a.json", "annotations/labelme/train/f.json", "test/solder_bridge/a.png"},
			[]string{"dataset.json", "ground_truth", "annotations/coco_test.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "export")
			var stdout, stderr bytes.Buffer
			code := run([]string{"export", "--project", project, "--format", tc.format, "--out", out, "--json"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var res exportResult
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("summary is not JSON: %v\n%s", err, stdout.String())
			}
			want := exportResult{Out: out, Format: tc.format, Project: project, Images: 5, Train: 1, TestGood: 2,
				Defective: 2, Defects: 2, PerClass: map[string]int{"solder_bridge": 1, "missing_component": 1}, SkippedUnreviewed: 1}
			if res.Images != want.Images || res.Train != want.Train || res.TestGood != want.TestGood || res.Defective != want.Defective ||
				res.Defects != want.Defects || res.SkippedUnreviewed != want.SkippedUnreviewed || len(res.PerClass) != 2 ||
				res.PerClass["solder_bridge"] != 1 || res.PerClass["missing_component"] != 1 {
				t.Fatalf("summary %+v, want %+v", res, want)
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("missing %s", f)
				}
			}
			for _, f := range tc.absent {
				if _, err := os.Stat(filepath.Join(out, f)); err == nil {
					t.Errorf("%s should not be there", f)
				}
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary folders left: %v", leftovers)
			}
			switch tc.format {
			case "sipcba":
				if probs := sipcba.Validate(out); len(probs) != 0 {
					t.Fatalf("dataset does not validate: %v", probs)
				}
				ds, err := sipcba.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, it := range ds.Manifest.Images {
					for _, d := range it.Defects {
						got = append(got, it.Name+":"+string(d.Class))
					}
				}
				sort.Strings(got)
				if strings.Join(got, ",") != "a:solder_bridge,d:missing_component" {
					t.Fatalf("defects %v: want only the accepted detection and the label", got)
				}
				// The exported mask is the polygon's fill: 10×8 pixels.
				for _, it := range ds.Items(sipcba.Test) {
					if it.Name != "a" {
						continue
					}
					m, err := ds.LoadMask(it)
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					for _, v := range m.Pix {
						if v == 255 {
							n++
						}
					}
					if n != 80 {
						t.Fatalf("mask of a has %d pixels, want 80", n)
					}
				}
			case "coco":
				var coco struct {
					Annotations []struct {
						Bbox []float64 `json:"bbox"`
					} `json:"annotations"`
				}
				b, _ := os.ReadFile(filepath.Join(out, "annotations/coco_test.json"))
				if err := json.Unmarshal(b, &coco); err != nil || len(coco.Annotations) != 2 {
					t.Fatalf("coco_test.json: %d annotations, %v", len(coco.Annotations), err)
				}
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	project := exportProjectFixture(t)
	exists := t.TempDir()
	notProject := filepath.Join(t.TempDir(), "notes.hisir")
	missing := filepath.Join(t.TempDir(), "nope.hisir")
	os.WriteFile(notProject, []byte("just some notes, not a project"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no project", []string{"--format", "sipcba", "--out", "x"}, 2, "--project is required"},
		{"no out", []string{"--project", project}, 2, "--out is required"},
		{"bad format", []string{"--project", project, "--format", "yolo", "--out", filepath.Join(t.TempDir(), "o")}, 2, "unknown --format"},
		{"missing project", []string{"--project", missing, "--out", filepath.Join(t.TempDir(), "o")}, 1, "no such file"},
		{"not a project", []string{"--project", notProject, "--out", filepath.Join(t.TempDir(), "o")}, 1, "not an SQLite database"},
		{"existing out", []string{"--project", project, "--out", exists}, 1, "already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"export"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.msg)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("export created a project")
	}
	// An image changed after import is named, and nothing is left at the destination.
	ims := filepath.Join(filepath.Dir(project), "a.png")
	os.WriteFile(ims, []byte("overwritten"), 0o644)
	out := filepath.Join(t.TempDir(), "o")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"export", "--project", project, "--out", out}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), ims) || !strings.Contains(stderr.String(), "changed since it was imported") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a failed export left its folder")
	}
}

// exportSharedData returns the repository's ../shared/data folder, found by walking up to go.mod.
func exportSharedData(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = filepath.Dir(dir)
	}
}

// TestExportRealBoards imports real DeepPCB photos, reviews them and exports a dataset that
// passes sipcba.Validate.
func TestExportRealBoards(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(exportSharedData(t), "deeppcb", "PCBData", "group12300", "12300")
	paths := []string{
		filepath.Join(src, "12300060_test.jpg"), filepath.Join(src, "12300061_test.jpg"),
		filepath.Join(src, "12300060_temp.jpg"),
	}
	project := filepath.Join(t.TempDir(), "deeppcb.hisir")
	s, err := store.Open(project)
	if err != nil {
		t.Fatal(err)
	}
	added, _, err := s.ImportImages(ctx, paths, nil)
	if err != nil || added != 3 {
		t.Fatalf("imported %d, %v", added, err)
	}
	ims, _ := s.Images(ctx, store.ImageFilter{})
	poly := geom.Polygon{{X: 100.5, Y: 200}, {X: 160, Y: 190.25}, {X: 170, Y: 260}, {X: 95, Y: 250}}
	if _, err := s.AddLabel(ctx, "ana", ims[0].ID, poly, "short"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLabel(ctx, "ana", ims[1].ID, poly.Translate(200, 100), ""); err != nil {
		t.Fatal(err)
	}
	s.SetSplit(ctx, "train", ims[2].ID)
	s.Close()

	out := filepath.Join(t.TempDir(), "ds")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"export", "--project", project, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "exported 3 images") || !strings.Contains(stderr.String(), "3/3") {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if probs := sipcba.Validate(out); len(probs) != 0 {
		t.Fatalf("dataset does not validate: %v", probs)
	}
	ds, err := sipcba.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	c := ds.Manifest.Counts
	if c.Train != 1 || c.TestDefective != 2 || c.Defects != 2 || c.PerClass["short"] != 1 || c.PerClass["anomaly"] != 1 {
		t.Fatalf("counts %+v", c)
	}
	for _, it := range ds.Items(sipcba.Test) {
		if it.Width != 640 || it.Height != 640 {
			t.Fatalf("%s is %d×%d", it.Name, it.Width, it.Height)
		}
	}
}
