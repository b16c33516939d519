package store

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePNG writes a w×h PNG whose pixels depend on seed.
func writePNG(t *testing.T, dir, name string, w, h int, seed uint8) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i) ^ seed
	}
	img.Set(0, 0, color.RGBA{seed, seed, seed, 255})
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// sharedData returns the repository's ../shared/data folder, found from the test's working dir.
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
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func TestImportImagesIdempotent(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	a := writePNG(t, src, "a.png", 64, 48, 1)
	b := writePNG(t, src, "b.png", 32, 32, 2)
	dup := filepath.Join(src, "a-copy.png")
	data, _ := os.ReadFile(a)
	os.WriteFile(dup, data, 0o644)
	bad := filepath.Join(src, "broken.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	real := filepath.Join(sharedData(t), "deeppcb", "PCBData", "group12300", "12300", "12300246_test.jpg")
	missing := filepath.Join(src, "missing.png")

	s, err := Open(filepath.Join(t.TempDir(), "p.hisir"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name           string
		paths          []string
		added, skipped int
		errFiles       []string
	}{
		{"first import", []string{a, b, real}, 3, 0, nil},
		{"same files again", []string{a, b, real}, 0, 3, nil},
		{"copy under another name", []string{dup}, 0, 1, nil},
		{"bad files reported, good kept", []string{bad, writePNG(t, src, "c.png", 8, 8, 3), missing}, 1, 0, []string{bad, missing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []int
			added, skipped, err := s.ImportImages(ctx, tc.paths, func(done, total int) {
				if total != len(tc.paths) {
					t.Errorf("progress total %d, want %d", total, len(tc.paths))
				}
				calls = append(calls, done)
			})
			if added != tc.added || skipped != tc.skipped {
				t.Errorf("added %d skipped %d, want %d and %d", added, skipped, tc.added, tc.skipped)
			}
			if len(tc.errFiles) == 0 && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			for _, f := range tc.errFiles {
				if err == nil || !strings.Contains(err.Error(), f) {
					t.Errorf("error %v does not name %s", err, f)
				}
			}
			if len(calls) != len(tc.paths)-len(tc.errFiles) && len(tc.errFiles) == 0 {
				t.Errorf("progress called %d times", len(calls))
			}
		})
	}
	ims, err := s.Images(ctx, ImageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ims) != 4 {
		t.Fatalf("%d images in the project, want 4", len(ims))
	}
	if ims[0].Width != 64 || ims[0].Height != 48 || ims[0].Path != a {
		t.Errorf("first image %+v", ims[0])
	}
	if ims[2].Width != 640 || ims[2].Height != 640 {
		t.Errorf("deeppcb image is %d×%d, want 640×640", ims[2].Width, ims[2].Height)
	}
	byHash, err := s.ImageByHash(ctx, ims[1].Hash)
	if err != nil || byHash.ID != ims[1].ID {
		t.Errorf("ImageByHash = %+v, %v", byHash, err)
	}
	if err := s.SetSplit(ctx, "train", ims[0].ID, ims[1].ID); err != nil {
		t.Fatal(err)
	}
	train, _ := s.Images(ctx, ImageFilter{Split: "train"})
	if len(train) != 2 {
		t.Errorf("%d train images, want 2", len(train))
	}
	if err := s.SetSplit(ctx, "test", 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetSplit of a missing image: %v", err)
	}
	if err := s.SetLayout(ctx, ims[0].ID, []byte(`{"panels":[{"x":0,"y":0,"w":10,"h":10}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLayout(ctx, ims[0].ID, []byte(`{"panels":`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetLayout with broken JSON: %v", err)
	}
}
