package sipcba

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
)

// board is a small deterministic test image.
func board(w, h int, seed uint8) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(x*7)+seed, uint8(y*5), 40+seed, 255
		}
	}
	return m
}

func rect(x0, y0, x1, y1 float64) geom.Polygon {
	return geom.Polygon{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// writeSmall writes a small dataset with every kind of image and returns its folder.
func writeSmall(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	w, err := Create(dir, Info{Name: "small", Provenance: "test", Classes: []Class{"scratch"}})
	if err != nil {
		t.Fatal(err)
	}
	samples := []Sample{
		{Split: Train, Name: "tr0", Image: board(32, 24, 0)},
		{Split: Train, Name: "tr1", Image: board(32, 24, 1)},
		{Split: Test, Name: "good0", Image: board(32, 24, 2)},
		{Split: Test, Name: "bridge0", Image: board(32, 24, 3), Twin: board(32, 24, 2),
			Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: rect(2, 2, 10, 6)}}},
		{Split: Test, Name: "mixed0", Image: board(32, 24, 4), Twin: board(32, 24, 2),
			Defects: []Defect{{ID: 1, Class: MissingComponent, Polygon: rect(2, 2, 10, 6)},
				{ID: 2, Class: "scratch", Polygon: geom.Polygon{{X: 20, Y: 10}, {X: 30, Y: 12}, {X: 22, Y: 20}}}}},
		{Split: DefectFree, Name: "df0", Image: image.NewGray(image.Rect(0, 0, 16, 16))},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(samples))
	for i, s := range samples {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w.Add(s) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRoundTrip(t *testing.T) {
	dir := writeSmall(t)
	if probs := Validate(dir); len(probs) > 0 {
		t.Fatalf("fresh dataset has problems: %v", probs)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := d.Manifest
	if m.FormatVersion != 1 || m.Name != "small" || !m.TwinsComplete {
		t.Errorf("manifest header %+v", m)
	}
	wantCounts := Counts{Train: 2, TestGood: 1, TestDefective: 2, DefectFree: 1, Twins: 2, Defects: 3,
		PerClass: map[Class]int{SolderBridge: 1, MissingComponent: 1, "scratch": 1}}
	if fmt.Sprint(m.Counts) != fmt.Sprint(wantCounts) {
		t.Errorf("counts %+v, want %+v", m.Counts, wantCounts)
	}
	if m.ClassID("scratch") != 6 || m.ClassID(SolderBridge) != 2 {
		t.Errorf("class ids %+v", m.Classes)
	}
	tests := []struct {
		split Split
		names []string
		class []Class
	}{
		{Train, []string{"tr0", "tr1"}, []Class{"", ""}},
		{Test, []string{"bridge0", "good0", "mixed0"}, []Class{SolderBridge, "", Defective}},
		{DefectFree, []string{"df0"}, []Class{""}},
	}
	for _, tc := range tests {
		items := d.Items(tc.split)
		if len(items) != len(tc.names) {
			t.Fatalf("%s: %d items, want %d", tc.split, len(items), len(tc.names))
		}
		for i, it := range items {
			if it.Name != tc.names[i] || it.Class != tc.class[i] {
				t.Errorf("%s[%d] = %s/%q, want %s/%q", tc.split, i, it.Name, it.Class, tc.names[i], tc.class[i])
			}
			if _, err := os.Stat(it.Image); err != nil {
				t.Error(err)
			}
			if (it.Mask != "") != (it.Class != "") || (it.Twin != "") != (it.Class != "") {
				t.Errorf("%s: mask %q twin %q for class %q", it.Name, it.Mask, it.Twin, it.Class)
			}
		}
	}
	// The mask is exactly the polygon fill.
	it := d.Items(Test)[0]
	mask, err := d.LoadMask(it)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for y := 0; y < 24; y++ {
		for x := 0; x < 32; x++ {
			in := x >= 2 && x < 10 && y >= 2 && y < 6
			if (mask.GrayAt(x, y).Y == 255) != in {
				t.Fatalf("mask(%d,%d) = %d", x, y, mask.GrayAt(x, y).Y)
			}
			if in {
				n++
			}
		}
	}
	if n != 32 {
		t.Errorf("mask has %d pixels, want 32", n)
	}
	// Toolkit layout.
	for _, p := range []string{"train/good/tr0.png", "test/good/good0.png", "test/solder_bridge/bridge0.png",
		"ground_truth/solder_bridge/bridge0_mask.png", "test/defective/mixed0.png", "ground_truth/defective/mixed0_mask.png",
		"twins/bridge0.png", "defect_free/df0.png", "annotations/labelme/test/mixed0.json", "annotations/coco_test.json",
		"annotations/coco_train.json", "annotations/coco_defect_free.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	// No temporary folder left beside it.
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the dataset", len(ents))
	}
}

func TestAllOrNothing(t *testing.T) {
	tests := []struct {
		name string
		run  func(w *Writer, dir string) error
	}{
		{"abort after a failed add", func(w *Writer, dir string) error {
			if err := w.Add(Sample{Split: Train, Name: "a", Image: board(8, 8, 0)}); err != nil {
				return err
			}
			err := w.Add(Sample{Split: Test, Name: "b", Image: board(8, 8, 0),
				Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: rect(0, 0, 4, 4)}}})
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("add without twin: %v, want ErrInvalid", err)
			}
			return w.Abort()
		}},
		{"destination appears before commit", func(w *Writer, dir string) error {
			if err := w.Add(Sample{Split: Train, Name: "a", Image: board(8, 8, 0)}); err != nil {
				return err
			}
			os.Mkdir(dir, 0o755)
			err := w.Commit()
			if !errors.Is(err, ErrExists) {
				t.Errorf("commit over existing folder: %v, want ErrExists", err)
			}
			os.Remove(dir)
			return nil
		}},
		{"commit fails at the last step", func(w *Writer, dir string) error {
			if err := w.Add(Sample{Split: Train, Name: "a", Image: board(8, 8, 0)}); err != nil {
				return err
			}
			testHookBeforeRename = func() error { return errors.New("disk full") }
			defer func() { testHookBeforeRename = func() error { return nil } }()
			if err := w.Commit(); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("commit: %v, want disk full", err)
			}
			return nil
		}},
		{"write error poisons the writer", func(w *Writer, dir string) error {
			if err := w.Add(Sample{Split: Train, Name: "a", Image: board(8, 8, 0)}); err != nil {
				return err
			}
			os.RemoveAll(w.tmp) // the disk goes away under the writer
			if err := w.Add(Sample{Split: Train, Name: "b", Image: board(8, 8, 0)}); err == nil {
				t.Error("add into a vanished folder succeeded")
			}
			if err := w.Commit(); err == nil {
				t.Error("commit after a failed write succeeded")
			}
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "ds")
			w, err := Create(dir, Info{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.run(w, dir); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(parent)
			if len(ents) != 0 {
				t.Errorf("left behind: %v", ents)
			}
			if err := w.Add(Sample{Split: Train, Name: "late", Image: board(8, 8, 0)}); err == nil {
				t.Error("add after close succeeded")
			}
		})
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, Info{}); !errors.Is(err, ErrExists) {
		t.Fatalf("create over existing: %v, want ErrExists", err)
	}
}

func TestAddRejects(t *testing.T) {
	good := board(8, 8, 0)
	sq := rect(1, 1, 5, 5)
	tests := []struct {
		name string
		s    Sample
		want error
	}{
		{"unknown split", Sample{Split: "val", Name: "a", Image: good}, ErrInvalid},
		{"bad name", Sample{Split: Train, Name: "../a", Image: good}, ErrInvalid},
		{"mask suffix", Sample{Split: Train, Name: "a_mask", Image: good}, ErrInvalid},
		{"no image", Sample{Split: Train, Name: "a"}, ErrInvalid},
		{"defects in train", Sample{Split: Train, Name: "a", Image: good, Twin: good, Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: sq}}}, ErrInvalid},
		{"unknown class", Sample{Split: Test, Name: "a", Image: good, Twin: good, Defects: []Defect{{ID: 1, Class: "dent", Polygon: sq}}}, ErrUnknownClass},
		{"short polygon", Sample{Split: Test, Name: "a", Image: good, Twin: good, Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: sq[:2]}}}, ErrInvalid},
		{"twin size", Sample{Split: Test, Name: "a", Image: good, Twin: board(9, 8, 0), Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: sq}}}, ErrInvalid},
		{"polygon off image", Sample{Split: Test, Name: "a", Image: good, Twin: good, Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: rect(20, 20, 30, 30)}}}, ErrInvalid},
		{"mask outside polygon", Sample{Split: Test, Name: "a", Image: good, Twin: good, Mask: func() *image.Gray {
			g := image.NewGray(image.Rect(0, 0, 8, 8))
			g.SetGray(7, 7, color.Gray{255})
			return g
		}(), Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: sq}}}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Create(filepath.Join(t.TempDir(), "ds"), Info{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			err = w.Add(tc.s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("add: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), string(tc.s.Split)+"/"+tc.s.Name) {
				t.Errorf("error %q does not name the sample", err)
			}
			// An invalid sample is not fatal: the writer still commits.
			if err := w.Add(Sample{Split: Train, Name: "ok", Image: good}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSharedTwinIsWrittenOnceAndCopied(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	w, err := Create(dir, Info{})
	if err != nil {
		t.Fatal(err)
	}
	twin := board(40, 30, 5)
	for i := 0; i < 3; i++ {
		s := Sample{Split: Test, Name: fmt.Sprintf("c%d", i), Image: board(40, 30, uint8(i)), Twin: twin,
			Defects: []Defect{{ID: 1, Class: ForeignObject, Polygon: rect(1, 1, 5, 5)}}}
		if err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if probs := Validate(dir); len(probs) > 0 {
		t.Fatal(probs)
	}
	d, _ := Open(dir)
	sums := map[string]bool{}
	for _, it := range d.Items(Test) {
		rel := "twins/" + it.Name + ".png"
		sums[d.Manifest.Files[rel]] = true
	}
	if len(sums) != 1 {
		t.Errorf("shared twin written as %d different files", len(sums))
	}
}
