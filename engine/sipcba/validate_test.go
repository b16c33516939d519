package sipcba

import (
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func editManifest(t *testing.T, dir string, fn func(m *Manifest)) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	fn(&m)
	raw, _ = json.Marshal(&m)
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writePNG(t *testing.T, p string, img image.Image) {
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

func TestValidateFindsProblems(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		file    string // the problem must name this file
		msg     string // and say this
		want    error  // and wrap this, when set
	}{
		{"missing mask", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "ground_truth/solder_bridge/bridge0_mask.png"))
		}, "ground_truth/solder_bridge/bridge0_mask.png", "missing", nil},
		{"extra mask", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "ground_truth/solder_bridge/stray_mask.png"), image.NewGray(image.Rect(0, 0, 32, 24)))
		}, "ground_truth/solder_bridge/stray_mask.png", "extra mask", nil},
		{"mask size mismatch", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "ground_truth/solder_bridge/bridge0_mask.png"), image.NewGray(image.Rect(0, 0, 16, 16)))
		}, "ground_truth/solder_bridge/bridge0_mask.png", "mask is 16x16", nil},
		{"twin size mismatch", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "twins/mixed0.png"), board(30, 24, 0))
		}, "twins/mixed0.png", "twin is 30x24", nil},
		{"image checksum", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "train/good/tr0.png"), board(32, 24, 9))
		}, "train/good/tr0.png", "sha256", nil},
		{"broken labelme JSON", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "annotations/labelme/test/mixed0.json"), []byte(`{"shapes": [`), 0o644)
		}, "annotations/labelme/test/mixed0.json", "broken JSON", nil},
		{"broken COCO JSON", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "annotations/coco_test.json"), []byte(`nope`), 0o644)
		}, "annotations/coco_test.json", "broken JSON", nil},
		{"broken manifest", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"format_version": 1,`), 0o644)
		}, ManifestFile, "unexpected EOF", ErrNotDataset},
		{"unknown class", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Images[2].Defects[0].Class = "dent" })
		}, ManifestFile, `unknown class "dent"`, ErrUnknownClass},
		{"unknown class in labelme", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "annotations/labelme/test/bridge0.json")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(raw), `"solder_bridge"`, `"dent"`, 1)), 0o644)
		}, "annotations/labelme/test/bridge0.json", `unknown class "dent"`, ErrUnknownClass},
		{"path traversal", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Images[0].File = "../../etc/passwd" })
		}, ManifestFile, "escapes", ErrUnsafePath},
		{"absolute path", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Files["/etc/passwd"] = "00" })
		}, ManifestFile, "escapes", ErrUnsafePath},
		{"symlink", func(t *testing.T, dir string) {
			os.Symlink("/etc/passwd", filepath.Join(dir, "train/good/link.png"))
		}, "train/good/link.png", "not a regular file", ErrUnsafePath},
		{"future version", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.FormatVersion = 2 })
		}, ManifestFile, "format_version 2", ErrVersion},
		{"counts edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Counts.Train = 7 })
		}, ManifestFile, "counts or image_sizes", nil},
		{"COCO misses an image", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "annotations/coco_train.json")
			raw, _ := os.ReadFile(p)
			var f cocoFile
			json.Unmarshal(raw, &f)
			f.Images = f.Images[:1]
			raw, _ = json.Marshal(f)
			os.WriteFile(p, raw, 0o644)
		}, "annotations/coco_train.json", "1 images and 0 annotations, the manifest has 2 and 0", nil},
		{"not a dataset", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ManifestFile))
		}, "", "not a sipcba dataset", ErrNotDataset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSmall(t)
			tc.breakIt(t, dir)
			probs := Validate(dir)
			found := false
			for _, p := range probs {
				file := tc.file
				if file == "" {
					file = dir
				}
				if strings.HasPrefix(p.File, file) && strings.Contains(p.Msg, tc.msg) && (tc.want == nil || errors.Is(p, tc.want)) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem naming %q with %q among %v", tc.file, tc.msg, probs)
			}
			if tc.want != nil && (tc.file == ManifestFile || tc.file == "") {
				// Open refuses a broken manifest with the same sentinel.
				if _, err := Open(dir); !errors.Is(err, tc.want) {
					t.Errorf("open: %v, want %v", err, tc.want)
				}
			}
		})
	}
}
