package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine/sipcba"
)

func importPNG(t *testing.T, p string, img image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// mvtecFixture writes a tiny MVTec-style category folder.
func mvtecFixture(t *testing.T) string {
	src := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 12, 10))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 3)
	}
	importPNG(t, filepath.Join(src, "train/good/000.png"), img)
	importPNG(t, filepath.Join(src, "test/good/000.png"), img)
	importPNG(t, filepath.Join(src, "test/scratch/000.png"), img)
	mask := image.NewGray(image.Rect(0, 0, 12, 10))
	mask.SetGray(3, 3, color.Gray{255})
	mask.SetGray(4, 3, color.Gray{255})
	importPNG(t, filepath.Join(src, "ground_truth/scratch/000_mask.png"), mask)
	return src
}

func repoDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = filepath.Dir(dir)
	}
}

func TestImportCommand(t *testing.T) {
	data := filepath.Join(repoDir(t), "..", "shared", "data")
	tests := []struct {
		name string
		args func(src string) []string
		src  func(t *testing.T) string
		want importResult
	}{
		{"mvtec, flags after SRC", func(src string) []string { return []string{"--from", "mvtec", src} }, mvtecFixture,
			importResult{Train: 1, TestGood: 1, TestDefective: 1, Defects: 1}},
		{"deeppcb, 3 real pairs", func(src string) []string { return []string{"--from", "deeppcb", "--limit", "3", src} },
			func(t *testing.T) string { return filepath.Join(data, "deeppcb") },
			importResult{TestDefective: 3, Twins: 3}},
		{"inject on a real photo", func(src string) []string {
			return []string{"--from", "inject", src, "--seed", "42", "--per-image", "2", "--limit", "1"}
		}, func(t *testing.T) string { return filepath.Join(data, "lookout-circuitboard/mini_data/train/normal") },
			importResult{TestDefective: 2, Twins: 2, Defects: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ds")
			var so, se bytes.Buffer
			args := append([]string{"import"}, tc.args(tc.src(t))...)
			args = append(args, "--out", out, "--json")
			if code := run(args, &so, &se); code != 0 {
				t.Fatalf("exit %d: %s", code, se.String())
			}
			var res importResult
			if err := json.Unmarshal(so.Bytes(), &res); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, so.String())
			}
			if res.Train != tc.want.Train || res.TestGood != tc.want.TestGood || res.TestDefective != tc.want.TestDefective ||
				res.Twins != tc.want.Twins || (tc.want.Defects > 0 && res.Defects != tc.want.Defects) || len(res.Problems) != 0 {
				t.Errorf("summary %+v, want %+v", res, tc.want)
			}
			if probs := sipcba.Validate(out); len(probs) != 0 {
				t.Errorf("dataset does not validate: %v", probs)
			}
			if !strings.Contains(se.String(), "import ") {
				t.Errorf("no progress on stderr: %q", se.String())
			}
		})
	}
}

func TestImportCommandErrors(t *testing.T) {
	src := mvtecFixture(t)
	exists := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"help", []string{"--help"}, 0, "usage: hisir import"},
		{"no from", []string{src, "--out", "x"}, 2, "--from is required"},
		{"bad from", []string{"--from", "yolo", src, "--out", "x"}, 2, `unknown --from "yolo"`},
		{"no out", []string{"--from", "mvtec", src}, 2, "--out is required"},
		{"two sources", []string{"--from", "mvtec", src, src, "--out", "x"}, 2, "exactly one SRC"},
		{"out exists", []string{"--from", "mvtec", src, "--out", exists}, 1, "already exists"},
		{"missing source", []string{"--from", "mvtec", filepath.Join(src, "nope"), "--out", filepath.Join(exists, "ds")}, 1, "nope"},
		{"not normals", []string{"--from", "inject", exists, "--out", filepath.Join(exists, "ds2")}, 1, "no .png or .jpg photos"},
		{"check a folder that is not a dataset", []string{"--check", exists}, 1, "not a sipcba dataset"},
		{"check a dataset", []string{"--check", validDataset(t)}, 0, "valid sipcba dataset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var so, se bytes.Buffer
			code := run(append([]string{"import"}, tc.args...), &so, &se)
			if code != tc.code || !strings.Contains(so.String()+se.String(), tc.msg) {
				t.Fatalf("exit %d (want %d), output %q, want %q", code, tc.code, so.String()+se.String(), tc.msg)
			}
		})
	}
}

func validDataset(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "ds")
	var so, se bytes.Buffer
	if code := run([]string{"import", "--from", "mvtec", mvtecFixture(t), "--out", out}, &so, &se); code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	return out
}

func TestImportImageLabelsFlag(t *testing.T) {
	src := mvtecFixture(t)
	img := image.NewGray(image.Rect(0, 0, 12, 10))
	importPNG(t, filepath.Join(src, "test/scratch/001.png"), img) // anomalous, no ground_truth mask
	tests := []struct {
		name   string
		args   []string
		code   int
		msg    string // in the output
		labels int    // image_labels of the JSON summary when code is 0
	}{
		{"missing mask without the flag", []string{"--from", "mvtec", src}, 1, "001_mask.png", 0},
		{"missing mask with the flag", []string{"--from", "mvtec", src, "--image-labels"}, 0, `"image_labels": 1`, 1},
		{"flag for a source without masks", []string{"--from", "coco", src, "--image-labels"}, 2, "--image-labels is for --from mvtec and visa", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ds")
			var so, se bytes.Buffer
			code := run(append(append([]string{"import"}, tc.args...), "--out", out, "--json"), &so, &se)
			if code != tc.code || !strings.Contains(so.String()+se.String(), tc.msg) {
				t.Fatalf("exit %d (want %d), output %q, want %q", code, tc.code, so.String()+se.String(), tc.msg)
			}
			if code != 0 {
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Error("failed import left a folder")
				}
				return
			}
			var res importResult
			if err := json.Unmarshal(so.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res.ImageLabels != tc.labels || res.TestDefective != 2 || res.Defects != 1 || len(res.Problems) != 0 {
				t.Errorf("summary %+v", res)
			}
			d, err := sipcba.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range d.Items(sipcba.Test) {
				if it.Name == "scratch_001" && (!it.ImageLabel || it.Mask != "" || it.Class != "scratch") {
					t.Errorf("item %+v, want an image-level scratch label", it)
				}
			}
		})
	}
}
