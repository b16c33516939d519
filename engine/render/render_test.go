package render

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/")

// gradientMap is a w×h map running from −0.1 to 1.1 left to right, with a NaN in the
// top-left corner and a dark row at the bottom.
func gradientMap(w, h int) *engine.Map {
	m := engine.NewMap(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.V[y*w+x] = float32(-0.1 + 1.2*float64(x)/float64(w-1))
		}
	}
	for x := 0; x < w; x++ {
		m.V[(h-1)*w+x] = 0.1
	}
	m.V[0] = float32(math.NaN())
	return m
}

// checker is an opaque w×h image of 4×4 grey and teal squares.
func checker(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{90, 90, 90, 255}
			if (x/4+y/4)%2 == 0 {
				c = color.NRGBA{0, 128, 128, 255}
			}
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
		}
	}
	return img
}

// golden compares img with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, img image.Image) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := SavePNG(path, img); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/render -update once and review the images)", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if want.Bounds() != img.Bounds() {
		t.Fatalf("%s: bounds %v, golden %v", name, img.Bounds(), want.Bounds())
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, a1 := img.At(x, y).RGBA()
			r2, g2, b2, a2 := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				os.MkdirAll(filepath.Join("testdata", "failed"), 0o755)
				SavePNG(filepath.Join("testdata", "failed", name), img)
				t.Fatalf("%s differs from the golden image at (%d,%d); got written to testdata/failed/", name, x, y)
			}
		}
	}
}

func TestHeatmapGolden(t *testing.T) {
	m := gradientMap(64, 8)
	for _, cm := range Colormaps {
		t.Run(cm.Name(), func(t *testing.T) {
			golden(t, "heatmap_"+cm.Name()+".png", Heatmap(m, cm))
		})
	}
}

func TestColormapEnds(t *testing.T) {
	tests := []struct {
		cmap     *Colormap
		v        float32
		r, g, b  uint8
		tolerate uint8
	}{
		{Grey, 0, 0, 0, 0, 0},
		{Grey, 1, 255, 255, 255, 0},
		{Grey, 0.5, 128, 128, 128, 0},
		{Grey, float32(math.NaN()), 0, 0, 0, 0},
		{Grey, 7, 255, 255, 255, 0},
		{Grey, -3, 0, 0, 0, 0},
		{Jet, 0, 0, 0, 128, 3},
		{Jet, 0.5, 128, 255, 128, 3},
		{Jet, 1, 128, 0, 0, 3},
		// matplotlib inferno: 0 → (0,0,4), 0.5 → (188,55,84), 1 → (252,255,164)
		{Inferno, 0, 0, 0, 4, 5},
		{Inferno, 0.5, 188, 55, 84, 5},
		{Inferno, 1, 252, 255, 164, 5},
	}
	near := func(a, b, tol uint8) bool { return a-b <= tol || b-a <= tol }
	for _, tc := range tests {
		r, g, b := tc.cmap.At(tc.v)
		if !near(r, tc.r, tc.tolerate) || !near(g, tc.g, tc.tolerate) || !near(b, tc.b, tc.tolerate) {
			t.Errorf("%s.At(%v) = (%d,%d,%d), want (%d,%d,%d) ±%d", tc.cmap.Name(), tc.v, r, g, b, tc.r, tc.g, tc.b, tc.tolerate)
		}
	}
}

func TestColormapByName(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{{"inferno", "inferno", true}, {"JET", "jet", true}, {"gray", "grey", true}, {"grey", "grey", true}, {"viridis", "", false}}
	for _, tc := range tests {
		c, ok := ColormapByName(tc.in)
		if ok != tc.ok || (ok && c.Name() != tc.want) {
			t.Errorf("ColormapByName(%q) = %v, %v", tc.in, c, ok)
		}
	}
}

func TestHeatmapMatchesLUT(t *testing.T) {
	m := gradientMap(300, 70) // tall enough to split across goroutines
	h := Heatmap(m, Jet)
	for i, v := range m.V {
		r, g, b := Jet.At(v)
		p := h.Pix[4*i : 4*i+4]
		if p[0] != r || p[1] != g || p[2] != b || p[3] != 255 {
			t.Fatalf("pixel %d (v=%v) = %v, want %d,%d,%d,255", i, v, p, r, g, b)
		}
	}
}

func TestOverlay(t *testing.T) {
	base := checker(32, 16)
	heat := Heatmap(gradientMap(32, 16), Inferno)
	t.Run("golden half opacity", func(t *testing.T) {
		golden(t, "overlay_inferno_50.png", Overlay(base, heat, 0.5))
	})
	tests := []struct {
		name    string
		opacity float64
		want    *image.NRGBA
	}{
		{"opacity 0 keeps the base", 0, base},
		{"negative opacity keeps the base", -1, base},
		{"opacity 1 shows the heat", 1, heat},
		{"opacity above 1 clamps", 3, heat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Overlay(base, heat, tc.opacity)
			if !bytes.Equal(got.Pix, tc.want.Pix) {
				t.Fatal("overlay differs")
			}
		})
	}
	t.Run("blend arithmetic", func(t *testing.T) {
		b := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		copy(b.Pix, []uint8{200, 100, 0, 255})
		h := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		copy(h.Pix, []uint8{0, 200, 255, 255})
		got := Overlay(b, h, 0.25).Pix // a = 64/255
		want := []uint8{150, 125, 64, 255}
		for i := range want {
			if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
				t.Fatalf("blend = %v, want %v ±1", got, want)
			}
		}
	})
	t.Run("smaller heat leaves the rest", func(t *testing.T) {
		small := Heatmap(gradientMap(8, 4), Grey)
		got := Overlay(base, small, 1)
		if !bytes.Equal(got.Pix[4*8:base.Stride], base.Pix[4*8:base.Stride]) {
			t.Error("pixels right of the heat changed")
		}
		if !bytes.Equal(got.Pix[:4*8], small.Pix[:4*8]) {
			t.Error("pixels under the heat are not the heat")
		}
	})
	t.Run("sub-image base", func(t *testing.T) {
		sub := base.SubImage(image.Rect(4, 4, 20, 12)).(*image.NRGBA)
		got := Overlay(sub, heat, 0)
		if got.Rect != sub.Rect {
			t.Fatalf("bounds %v, want %v", got.Rect, sub.Rect)
		}
		for y := 4; y < 12; y++ {
			if !bytes.Equal(got.Pix[got.PixOffset(4, y):got.PixOffset(20, y)], base.Pix[base.PixOffset(4, y):base.PixOffset(20, y)]) {
				t.Fatalf("row %d differs", y)
			}
		}
	})
}

func TestSaveMap16RoundTrip(t *testing.T) {
	m := gradientMap(40, 5)
	path := filepath.Join(t.TempDir(), "map.png")
	if err := SaveMap16(path, m); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		t.Fatalf("decoded %T, want *image.Gray16", img)
	}
	for i, v := range m.V {
		want := float64(v)
		if math.IsNaN(want) || want < 0 {
			want = 0
		}
		want = math.Min(want, 1)
		got := float64(uint16(g.Pix[2*i])<<8|uint16(g.Pix[2*i+1])) / 65535
		if math.Abs(got-want) > 0.5/65535+1e-9 {
			t.Fatalf("pixel %d: %v read back as %v", i, v, got)
		}
	}
}

func TestSavePNGErrors(t *testing.T) {
	dir := t.TempDir()
	img := checker(8, 8)
	t.Run("missing folder names the file", func(t *testing.T) {
		path := filepath.Join(dir, "no", "such", "dir", "x.png")
		err := SavePNG(path, img)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("SavePNG = %v, want a not-exist error naming %s", err, path)
		}
	})
	t.Run("overwrite keeps no temporary files", func(t *testing.T) {
		path := filepath.Join(dir, "x.png")
		for i := 0; i < 2; i++ {
			if err := SavePNG(path, img); err != nil {
				t.Fatal(err)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("folder holds %d entries, want only x.png", len(entries))
		}
	})
	t.Run("failed encode keeps the old file", func(t *testing.T) {
		path := filepath.Join(dir, "keep.png")
		if err := SavePNG(path, img); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path)
		err := SavePNG(path, image.NewNRGBA(image.Rect(0, 0, 0, 0))) // png refuses empty images
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("SavePNG of an empty image = %v, want an error naming the file", err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) {
			t.Fatal("the earlier file was changed")
		}
	})
}

func TestBlendHeatmapMatchesOverlay(t *testing.T) {
	m := gradientMap(80, 70)
	for _, cm := range Colormaps {
		for _, op := range []float64{0, 0.3, 0.5, 1, 2} {
			base := checker(80, 70)
			want := Overlay(base, Heatmap(m, cm), op)
			BlendHeatmap(base, m, cm, op)
			if !bytes.Equal(base.Pix, want.Pix) {
				t.Errorf("%s at opacity %v: BlendHeatmap differs from Overlay(Heatmap)", cm.Name(), op)
			}
		}
	}
	// A map smaller than the image changes only the covered corner.
	base := checker(32, 16)
	orig := checker(32, 16)
	BlendHeatmap(base, gradientMap(8, 4), Inferno, 1)
	if !bytes.Equal(base.Pix[4*8:base.Stride], orig.Pix[4*8:orig.Stride]) || bytes.Equal(base.Pix[:4*8], orig.Pix[:4*8]) {
		t.Error("a small map blended outside its corner, or not at all")
	}
}

func BenchmarkBlendHeatmap4K(b *testing.B) {
	m := board4K()
	base := Heatmap(m, Grey)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		BlendHeatmap(base, m, Inferno, 0.5)
	}
}
