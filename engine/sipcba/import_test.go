package sipcba

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
)

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// boxMask is a 0/255 mask with the given rectangles set.
func boxMask(w, h int, rs ...geom.Rect) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for _, r := range rs {
		for y := r.Y0; y < r.Y1; y++ {
			for x := r.X0; x < r.X1; x++ {
				m.Pix[y*w+x] = 255
			}
		}
	}
	return m
}

// checkImported validates a fresh import and compares its counts and classes.
func checkImported(t *testing.T, d *Dataset, want Counts, classes ...Class) {
	t.Helper()
	if probs := Validate(d.Dir); len(probs) > 0 {
		t.Fatalf("imported dataset has problems: %v", probs)
	}
	got := d.Manifest.Counts
	got.PerClass = nil
	want.PerClass = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	for _, c := range classes {
		if d.Manifest.ClassID(c) == 0 {
			t.Errorf("class %q not declared: %+v", c, d.Manifest.Classes)
		}
	}
}

func TestImportMVTec(t *testing.T) {
	src := t.TempDir()
	writePNG(t, filepath.Join(src, "train/good/000.png"), board(20, 16, 0))
	writePNG(t, filepath.Join(src, "train/good/001.png"), board(20, 16, 1))
	writePNG(t, filepath.Join(src, "test/good/000.png"), board(20, 16, 2))
	writePNG(t, filepath.Join(src, "test/Bent Lead/000.png"), board(20, 16, 3))
	srcMask := boxMask(20, 16, geom.Rect{X0: 1, Y0: 1, X1: 4, Y1: 3}, geom.Rect{X0: 10, Y0: 8, X1: 15, Y1: 14})
	writePNG(t, filepath.Join(src, "ground_truth/Bent Lead/000_mask.png"), srcMask)
	writePNG(t, filepath.Join(src, "test/solder_bridge/007.png"), board(20, 16, 4))
	writePNG(t, filepath.Join(src, "ground_truth/solder_bridge/007_mask.png"), boxMask(20, 16, geom.Rect{X0: 5, Y0: 5, X1: 6, Y1: 6}))

	out := filepath.Join(t.TempDir(), "ds")
	var calls int
	d, err := ImportMVTec(src, out, ImportOptions{Progress: func(done, total int, name string) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	checkImported(t, d, Counts{Train: 2, TestGood: 1, TestDefective: 2, Defects: 3}, "bent_lead")
	if calls != 5 {
		t.Errorf("progress called %d times, want 5", calls)
	}
	if d.Manifest.TwinsComplete {
		t.Error("twins_complete for a source without twins")
	}
	for _, it := range d.Items(Test) {
		if it.Name != "Bent_Lead_000" {
			continue
		}
		if it.Class != "bent_lead" || len(it.Defects) != 2 {
			t.Fatalf("item %+v", it)
		}
		m, err := d.LoadMask(it)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Pix, srcMask.Pix) {
			t.Error("imported mask differs from the source mask")
		}
	}
	if d.Items(Test)[2].Class != SolderBridge {
		t.Errorf("solder_bridge folder maps to %q", d.Items(Test)[2].Class)
	}

	// A missing mask is named and nothing is written.
	os.Remove(filepath.Join(src, "ground_truth/solder_bridge/007_mask.png"))
	out2 := filepath.Join(t.TempDir(), "ds")
	if _, err := ImportMVTec(src, out2, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "007_mask.png") {
		t.Errorf("missing mask: %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Error("failed import left a folder")
	}
}

func TestImportVisA(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want Counts
		err  error
		msg  string
	}{
		{"ok", "object,split,label,image,mask\n" +
			"pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,\n" +
			"pcb1,test,normal,pcb1/Data/Images/Normal/0001.JPG,\n" +
			"pcb1,test,anomaly,pcb1/Data/Images/Anomaly/0000.JPG,pcb1/Data/Masks/Anomaly/0000.png\n",
			Counts{Train: 1, TestGood: 1, TestDefective: 1, Defects: 1}, nil, ""},
		{"traversal", "object,split,label,image,mask\npcb1,train,normal,../../secret.png,\n", Counts{}, ErrUnsafePath, "line 2"},
		{"absolute", "object,split,label,image,mask\npcb1,train,normal,/etc/passwd,\n", Counts{}, ErrUnsafePath, "line 2"},
		{"bad label", "object,split,label,image,mask\npcb1,train,odd,pcb1/Data/Images/Normal/0000.JPG,\n", Counts{}, ErrSource, "line 2"},
		{"bad header", "object,split,image\n", Counts{}, ErrSource, `no "label" column`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writePNG(t, filepath.Join(src, "pcb1/Data/Images/Normal/0000.JPG"), board(12, 10, 0))
			writePNG(t, filepath.Join(src, "pcb1/Data/Images/Normal/0001.JPG"), board(12, 10, 1))
			writePNG(t, filepath.Join(src, "pcb1/Data/Images/Anomaly/0000.JPG"), board(12, 10, 2))
			m := boxMask(12, 10, geom.Rect{X0: 2, Y0: 2, X1: 5, Y1: 4})
			for i := range m.Pix {
				m.Pix[i] /= 255 // VisA masks may hold small label values
			}
			writePNG(t, filepath.Join(src, "pcb1/Data/Masks/Anomaly/0000.png"), m)
			writeFile(t, filepath.Join(src, "split_csv/1cls.csv"), tc.csv)
			out := filepath.Join(t.TempDir(), "ds")
			d, err := ImportVisA(src, out, ImportOptions{})
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "1cls.csv") {
					t.Fatalf("err %v, want %v mentioning %q and the CSV", err, tc.err, tc.msg)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Error("failed import left a folder")
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

func pngBase64(t *testing.T, img image.Image) string {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestImportLabelMe(t *testing.T) {
	const a = `{"shapes": [
	  {"label": "Solder Bridge", "points": [[1,1],[8,1],[8,5]], "group_id": 3, "shape_type": "polygon"},
	  {"label": "Solder Bridge", "points": [[10,6],[14,9]], "group_id": 3, "shape_type": "rectangle"},
	  {"label": "scratch", "points": [[2,8],[6,8],[6,12],[2,12]], "group_id": null, "shape_type": "polygon"}],
	  "imagePath": "../img/a.png", "imageData": null}`
	const empty = `{"shapes": [], "imagePath": "b.png"}`
	tests := []struct {
		name  string
		files map[string]string
		want  Counts
		err   error
		msg   string
	}{
		{"ok", map[string]string{"json/a.json": a, "b.json": empty, "c.json": `{"shapes": [], "imageData": "DATA"}`},
			Counts{TestGood: 2, TestDefective: 1, Defects: 2}, nil, ""},
		{"traversal", map[string]string{"a.json": `{"shapes": [], "imagePath": "../../etc/x.png"}`}, Counts{}, ErrUnsafePath, "a.json"},
		{"absolute", map[string]string{"a.json": `{"shapes": [], "imagePath": "/etc/x.png"}`}, Counts{}, ErrUnsafePath, "a.json"},
		{"broken JSON", map[string]string{"a.json": `{"shapes": [`}, Counts{}, ErrSource, "a.json"},
		{"corrupt image", map[string]string{"a.json": `{"shapes": [], "imagePath": "bad.png"}`, "bad.png": "not a png"}, Counts{}, nil, "bad.png"},
		{"circle", map[string]string{"a.json": `{"shapes": [{"label": "x", "points": [[1,1],[2,2]], "shape_type": "circle"}], "imagePath": "b.png"}`}, Counts{}, ErrSource, "circle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writePNG(t, filepath.Join(src, "img/a.png"), board(16, 14, 0))
			writePNG(t, filepath.Join(src, "b.png"), board(16, 14, 1))
			for p, c := range tc.files {
				writeFile(t, filepath.Join(src, p), strings.Replace(c, "DATA", pngBase64(t, board(16, 14, 2)), 1))
			}
			out := filepath.Join(t.TempDir(), "ds")
			d, err := ImportLabelMe(src, out, ImportOptions{})
			if tc.msg != "" {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err %v, want %v mentioning %q", err, tc.err, tc.msg)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Error("failed import left a folder")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkImported(t, d, tc.want, "scratch", SolderBridge)
			it := d.Items(Test)[2]
			if it.Name != "json_a" || it.Class != Defective || len(it.Defects) != 3 || it.Defects[0].ID != it.Defects[1].ID {
				t.Errorf("item %+v", it)
			}
		})
	}
}

func TestImportCOCO(t *testing.T) {
	const head = `{"categories": [{"id": 7, "name": "missing_component"}, {"id": 9, "name": "dent"}], "images": [`
	tests := []struct {
		name string
		json string
		want Counts
		err  error
		msg  string
	}{
		{"ok", head + `{"id": 1, "file_name": "a.png", "width": 16, "height": 14}, {"id": 2, "file_name": "b.png", "width": 16, "height": 14}],
		  "annotations": [{"id": 5, "image_id": 1, "category_id": 7, "segmentation": [[1,1,9,1,9,6],[10,8,14,8,14,12]]},
		                  {"id": 6, "image_id": 1, "category_id": 9, "segmentation": [[2,8,6,8,6,12,2,12]]}]}`,
			Counts{TestGood: 1, TestDefective: 1, Defects: 2}, nil, ""},
		{"RLE", head + `{"id": 1, "file_name": "a.png"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 7, "segmentation": {"counts": [1], "size": [14, 16]}}]}`,
			Counts{}, ErrSource, "RLE"},
		{"traversal", head + `{"id": 1, "file_name": "../a.png"}], "annotations": []}`, Counts{}, ErrUnsafePath, "images[0]"},
		{"unknown category", head + `{"id": 1, "file_name": "a.png"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 8, "segmentation": []}]}`,
			Counts{}, ErrSource, "category_id 8"},
		{"size mismatch", head + `{"id": 1, "file_name": "a.png", "width": 10, "height": 10}], "annotations": []}`, Counts{}, nil, "the COCO file says"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writePNG(t, filepath.Join(src, "images/a.png"), board(16, 14, 0))
			writePNG(t, filepath.Join(src, "b.png"), board(16, 14, 1))
			writeFile(t, filepath.Join(src, "coco.json"), tc.json)
			out := filepath.Join(t.TempDir(), "ds")
			d, err := ImportCOCO(filepath.Join(src, "coco.json"), out, ImportOptions{})
			if tc.msg != "" {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "coco.json") {
					t.Fatalf("err %v, want %v mentioning %q and the file", err, tc.err, tc.msg)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Error("failed import left a folder")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkImported(t, d, tc.want, "dent")
		})
	}
}

// sharedData finds ../shared/data relative to the repository root.
func sharedData(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test folder")
		}
		dir = parent
	}
}

func TestImportDeepPCBReal(t *testing.T) {
	src := filepath.Join(sharedData(t), "deeppcb")
	keep := map[string]Split{"12000001": Test, "77000000": Train, "90100034": DefectFree, "90100000": Test}
	out := filepath.Join(t.TempDir(), "ds")
	d, err := ImportDeepPCB(src, out, ImportOptions{Select: func(n string) bool { _, ok := keep[n]; return ok }})
	if err != nil {
		t.Fatal(err)
	}
	checkImported(t, d, Counts{Train: 1, TestDefective: 2, DefectFree: 1, Twins: 2, Defects: d.Manifest.Counts.Defects}, DeepPCBClasses...)
	for _, sp := range Splits {
		for _, it := range d.Items(sp) {
			if keep[it.Name] != sp {
				t.Errorf("%s in %s, want %s", it.Name, sp, keep[it.Name])
			}
		}
	}
	for _, it := range d.Items(Test) {
		raw, err := os.ReadFile(filepath.Join(src, "PCBData", "group"+it.Name[:5], it.Name[:5]+"_not", it.Name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(strings.TrimSpace(string(raw)), "\n") + 1
		if len(it.Defects) != lines {
			t.Errorf("%s: %d defects, annotation has %d boxes", it.Name, len(it.Defects), lines)
		}
		if !d.Manifest.TwinsComplete || it.Twin == "" || it.Width != 640 || it.Height != 640 {
			t.Errorf("%s: twin %q size %dx%d", it.Name, it.Twin, it.Width, it.Height)
		}
		m, err := d.LoadMask(it)
		if err != nil {
			t.Fatal(err)
		}
		var on int
		for _, v := range m.Pix {
			if v == 255 {
				on++
			}
		}
		// Difference masks are far smaller than their boxes and never empty.
		var boxArea float64
		for _, df := range it.Defects {
			boxArea += float64(df.Polygon.Bounds().Area())
		}
		if on == 0 || float64(on) > boxArea {
			t.Errorf("%s: mask has %d pixels for boxes of %.0f", it.Name, on, boxArea)
		}
	}
}

func TestImportCancelled(t *testing.T) {
	src := t.TempDir()
	for i := 0; i < 4; i++ {
		writePNG(t, filepath.Join(src, fmt.Sprintf("train/good/%03d.png", i)), board(8, 8, uint8(i)))
	}
	os.MkdirAll(filepath.Join(src, "test"), 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	parent := t.TempDir()
	_, err := ImportMVTec(src, filepath.Join(parent, "ds"), ImportOptions{Context: ctx})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("cancelled import left %v", ents)
	}
}

func TestImportLabelMeOfASIPCBADataset(t *testing.T) {
	src := writeSmall(t)
	d, err := ImportLabelMe(src, filepath.Join(t.TempDir(), "again"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := Open(src)
	want := orig.Manifest.Counts
	want.Twins = 0 // LabelMe files do not carry twins
	checkImported(t, d, want, "scratch")
	for _, sp := range Splits {
		a, b := orig.Items(sp), d.Items(sp)
		for i := range a {
			if a[i].Name != b[i].Name || fmt.Sprint(a[i].Defects) != fmt.Sprint(b[i].Defects) {
				t.Errorf("%s[%d]: %s %v, re-imported %s %v", sp, i, a[i].Name, a[i].Defects, b[i].Name, b[i].Defects)
			}
			ma, _ := orig.LoadMask(a[i])
			mb, _ := d.LoadMask(b[i])
			if !bytes.Equal(ma.Pix, mb.Pix) {
				t.Errorf("%s: masks differ after the round trip", a[i].Name)
			}
		}
	}
}
