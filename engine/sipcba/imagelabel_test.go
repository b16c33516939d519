package sipcba

import (
	"encoding/json"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
)

// writeImageLabels writes a dataset with a good, a masked and two image-level anomalous test
// images (one with a twin, one without) and returns its folder.
func writeImageLabels(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "il")
	w, err := Create(dir, Info{Name: "il", Classes: []Class{"anomaly"}, TwinsOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Sample{
		{Split: Train, Name: "tr0", Image: board(32, 24, 0)},
		{Split: Test, Name: "good0", Image: board(32, 24, 2)},
		{Split: Test, Name: "bridge0", Image: board(32, 24, 3), Twin: board(32, 24, 2),
			Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: rect(2, 2, 10, 6)}}},
		{Split: Test, Name: "bad0", Image: board(32, 24, 5), ImageClass: "anomaly"},
		{Split: Test, Name: "bad1", Image: board(32, 24, 6), Twin: board(32, 24, 2), ImageClass: Defective},
	} {
		if err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImageLabelRoundTrip(t *testing.T) {
	dir := writeImageLabels(t)
	if probs := Validate(dir); len(probs) > 0 {
		t.Fatalf("validate: %v", probs)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := d.Manifest
	if m.FormatVersion != 1 || m.TwinsComplete {
		t.Errorf("format_version %d, twins_complete %v; want 1, false", m.FormatVersion, m.TwinsComplete)
	}
	if c := m.Counts; c.TestDefective != 3 || c.ImageLabels != 2 || c.Defects != 1 || c.TestGood != 1 || c.Twins != 2 {
		t.Errorf("counts %+v", c)
	}
	want := map[string]Entry{
		"bad0": {Category: "anomaly", File: "test/anomaly/bad0.png", Labels: LabelsImage},
		"bad1": {Category: "defective", File: "test/defective/bad1.png", Twin: "twins/bad1.png", Labels: LabelsImage},
		"bridge0": {Category: "solder_bridge", File: "test/solder_bridge/bridge0.png",
			Mask: "ground_truth/solder_bridge/bridge0_mask.png", Twin: "twins/bridge0.png"},
	}
	for _, e := range m.Images {
		w, ok := want[e.Name]
		if !ok {
			continue
		}
		if e.Category != w.Category || e.File != w.File || e.Mask != w.Mask || e.Twin != w.Twin || e.Labels != w.Labels {
			t.Errorf("%s: %+v, want %+v", e.Name, e, w)
		}
		delete(want, e.Name)
	}
	if len(want) > 0 {
		t.Errorf("missing entries %v", want)
	}
	if _, err := os.Stat(filepath.Join(dir, "ground_truth/anomaly")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("image-level labels got a ground_truth folder: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), `"labels": "image"`); n != 2 {
		t.Errorf("manifest has %d \"labels\": \"image\", want 2", n)
	}
	// COCO lists the images without annotations; LabelMe files have no shapes.
	var coco cocoFile
	raw, _ = os.ReadFile(filepath.Join(dir, "annotations/coco_test.json"))
	if err := json.Unmarshal(raw, &coco); err != nil {
		t.Fatal(err)
	}
	if len(coco.Images) != 4 || len(coco.Annotations) != 1 {
		t.Errorf("coco_test: %d images, %d annotations; want 4, 1", len(coco.Images), len(coco.Annotations))
	}
	items := map[string]Item{}
	for _, it := range d.Items(Test) {
		items[it.Name] = it
	}
	tests := []struct {
		name       string
		class      Class
		imageLabel bool
		hasMask    bool
	}{
		{"good0", "", false, false},
		{"bridge0", SolderBridge, false, true},
		{"bad0", "anomaly", true, false},
		{"bad1", Defective, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := items[tc.name]
			if it.Class != tc.class || it.ImageLabel != tc.imageLabel || (it.Mask != "") != tc.hasMask || len(it.Defects) > 0 && tc.imageLabel {
				t.Fatalf("item %+v", it)
			}
			g, err := d.LoadMask(it)
			if tc.imageLabel {
				if !errors.Is(err, ErrNoMask) || g != nil {
					t.Fatalf("load mask: %v, want ErrNoMask", err)
				}
				return
			}
			if err != nil || g.Bounds().Dx() != 32 {
				t.Fatalf("load mask: %v", err)
			}
		})
	}
}

func TestAddRejectsImageLabels(t *testing.T) {
	img := board(8, 8, 0)
	sq := rect(1, 1, 5, 5)
	tests := []struct {
		name     string
		optional bool // Info.TwinsOptional
		s        Sample
		want     error
	}{
		{"in train", true, Sample{Split: Train, Name: "a", Image: img, ImageClass: SolderBridge}, ErrInvalid},
		{"in defect_free", true, Sample{Split: DefectFree, Name: "a", Image: img, ImageClass: SolderBridge}, ErrInvalid},
		{"with defects", true, Sample{Split: Test, Name: "a", Image: img, ImageClass: SolderBridge,
			Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: sq}}}, ErrInvalid},
		{"with mask", true, Sample{Split: Test, Name: "a", Image: img, ImageClass: SolderBridge,
			Mask: image.NewGray(image.Rect(0, 0, 8, 8))}, ErrInvalid},
		{"unknown class", true, Sample{Split: Test, Name: "a", Image: img, ImageClass: "dent"}, ErrUnknownClass},
		{"reserved good", true, Sample{Split: Test, Name: "a", Image: img, ImageClass: Good}, ErrUnknownClass},
		{"no twin when twins are required", false, Sample{Split: Test, Name: "a", Image: img, ImageClass: SolderBridge}, ErrInvalid},
		{"twin size", true, Sample{Split: Test, Name: "a", Image: img, Twin: board(9, 8, 0), ImageClass: SolderBridge}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Create(filepath.Join(t.TempDir(), "ds"), Info{TwinsOptional: tc.optional})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Add(tc.s); !errors.Is(err, tc.want) {
				t.Fatalf("add: %v, want %v", err, tc.want)
			}
		})
	}
}

// entry returns a pointer to the manifest entry called name.
func entry(t *testing.T, m *Manifest, name string) *Entry {
	t.Helper()
	for i := range m.Images {
		if m.Images[i].Name == name {
			return &m.Images[i]
		}
	}
	t.Fatalf("no entry %s", name)
	return nil
}

func TestValidateImageLabels(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		file    string // the problem must name this file (prefix)
		msg     string // and say this
	}{
		{"mask listed with the marker", func(t *testing.T, dir string) {
			p := "ground_truth/anomaly/bad0_mask.png"
			writePNG(t, filepath.Join(dir, p), image.NewGray(image.Rect(0, 0, 32, 24)))
			sum, _ := sha256File(filepath.Join(dir, p))
			editManifest(t, dir, func(m *Manifest) {
				entry(t, m, "bad0").Mask = p
				m.Files[p] = sum
			})
		}, ManifestFile, "image-level label with a mask"},
		{"stray mask file for the marked image", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "ground_truth/anomaly/bad0_mask.png"), image.NewGray(image.Rect(0, 0, 32, 24)))
		}, "ground_truth/anomaly/bad0_mask.png", "extra mask"},
		{"polygons with the marker", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) {
				entry(t, m, "bad0").Defects = []Defect{{ID: 1, Class: "anomaly", Polygon: rect(1, 1, 5, 5)}}
			})
		}, ManifestFile, "image-level label with 1 defect polygons"},
		{"marker on a good test image", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { entry(t, m, "good0").Labels = LabelsImage })
		}, ManifestFile, "image-level label on a good image"},
		{"marker on a train image", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { entry(t, m, "tr0").Labels = LabelsImage })
		}, ManifestFile, "image-level label in the train split"},
		{"unknown labels value", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { entry(t, m, "bad0").Labels = "pixel" })
		}, ManifestFile, `labels "pixel"`},
		{"unknown class", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) {
				e := entry(t, m, "bad0")
				e.Category, e.File = "dent", "test/dent/bad0.png"
			})
		}, ManifestFile, `unknown class "dent"`},
		{"marker dropped", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { entry(t, m, "bad0").Labels = "" })
		}, ManifestFile, "do not follow the layout"},
		{"ordinary defective image without its mask", func(t *testing.T, dir string) {
			p := "ground_truth/solder_bridge/bridge0_mask.png"
			os.Remove(filepath.Join(dir, p))
			editManifest(t, dir, func(m *Manifest) {
				entry(t, m, "bridge0").Mask = ""
				delete(m.Files, p)
			})
		}, ManifestFile, "do not follow the layout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeImageLabels(t)
			tc.breakIt(t, dir)
			probs := Validate(dir)
			for _, p := range probs {
				if strings.HasPrefix(p.File, tc.file) && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("no problem naming %q with %q among %v", tc.file, tc.msg, probs)
		})
	}
}

func TestImportMVTecImageLabels(t *testing.T) {
	src := t.TempDir()
	writePNG(t, filepath.Join(src, "train/good/000.png"), board(20, 16, 0))
	writePNG(t, filepath.Join(src, "test/good/000.png"), board(20, 16, 2))
	writePNG(t, filepath.Join(src, "test/scratch/000.png"), board(20, 16, 3))
	writePNG(t, filepath.Join(src, "ground_truth/scratch/000_mask.png"), boxMask(20, 16, geom.Rect{X0: 1, Y0: 1, X1: 4, Y1: 3}))
	writePNG(t, filepath.Join(src, "test/scratch/001.png"), board(20, 16, 4)) // no mask
	tests := []struct {
		name        string
		imageLabels bool
		want        Counts
		msg         string
	}{
		{"missing mask is an error", false, Counts{}, "no mask"},
		{"image labels", true, Counts{Train: 1, TestGood: 1, TestDefective: 2, Defects: 1, ImageLabels: 1}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ds")
			d, err := ImportMVTec(src, out, ImportOptions{ImageLabels: tc.imageLabels})
			if tc.msg != "" {
				if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "001_mask.png") {
					t.Fatalf("err %v, want %v naming the mask", err, ErrSource)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkImported(t, d, tc.want, "scratch")
			for _, it := range d.Items(Test) {
				if it.Name == "scratch_001" && (!it.ImageLabel || it.Class != "scratch" || it.Mask != "") {
					t.Errorf("item %+v, want an image-level scratch label", it)
				}
			}
		})
	}
}

func TestImportVisAImageLabels(t *testing.T) {
	csv := "object,split,label,image,mask\n" +
		"pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,\n" +
		"pcb1,test,anomaly,pcb1/Data/Images/Anomaly/0000.JPG,pcb1/Data/Masks/Anomaly/0000.png\n" +
		"pcb1,test,anomaly,pcb1/Data/Images/Anomaly/0001.JPG,\n"
	tests := []struct {
		name        string
		imageLabels bool
		want        Counts
		msg         string
	}{
		{"anomaly without mask is an error", false, Counts{}, "line 4: anomaly without a mask"},
		{"image labels", true, Counts{Train: 1, TestDefective: 2, Defects: 1, ImageLabels: 1}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writePNG(t, filepath.Join(src, "pcb1/Data/Images/Normal/0000.JPG"), board(12, 10, 0))
			writePNG(t, filepath.Join(src, "pcb1/Data/Images/Anomaly/0000.JPG"), board(12, 10, 2))
			writePNG(t, filepath.Join(src, "pcb1/Data/Images/Anomaly/0001.JPG"), board(12, 10, 3))
			writePNG(t, filepath.Join(src, "pcb1/Data/Masks/Anomaly/0000.png"), boxMask(12, 10, geom.Rect{X0: 2, Y0: 2, X1: 5, Y1: 4}))
			writeFile(t, filepath.Join(src, "split_csv/1cls.csv"), csv)
			out := filepath.Join(t.TempDir(), "ds")
			d, err := ImportVisA(src, out, ImportOptions{ImageLabels: tc.imageLabels})
			if tc.msg != "" {
				if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err %v, want %v with %q", err, ErrSource, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkImported(t, d, tc.want, "anomaly")
		})
	}
}
