package engine_test

import (
	"bytes"
	"errors"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/hisirdesk/hisir/engine"
)

// want8 is the expected value of an 8-bit sample, want16 of a 16-bit one.
func want8(v uint8) float32   { return float32(v) / 255 }
func want16(v uint16) float32 { return float32(v) / 65535 }

// fixture builds a small test image of the given type with a known pattern; expect returns
// the expected RGB in [0,1] at (x, y).
type fixture struct {
	name   string
	img    image.Image
	expect func(x, y int) [3]float32
}

func fixtures() []fixture {
	const w, h = 7, 5
	r8 := func(x, y int) uint8 { return uint8(x*37 + y*11) }
	g8 := func(x, y int) uint8 { return uint8(255 - x*20 - y*3) }
	b8 := func(x, y int) uint8 { return uint8(x * y * 9) }
	r16 := func(x, y int) uint16 { return uint16(x*9001 + y*307) }
	g16 := func(x, y int) uint16 { return uint16(65535 - x*1234 - y) }
	b16 := func(x, y int) uint16 { return uint16(x*y*777 + 1) }
	rect := image.Rect(0, 0, w, h)

	nrgba := image.NewNRGBA(rect)
	rgba := image.NewRGBA(rect)
	gray := image.NewGray(rect)
	gray16 := image.NewGray16(rect)
	rgba64 := image.NewRGBA64(rect)
	nrgba64 := image.NewNRGBA64(rect)
	pal := image.NewPaletted(rect, color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{200, 100, 0, 255}})
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			nrgba.SetNRGBA(x, y, color.NRGBA{r8(x, y), g8(x, y), b8(x, y), 255})
			rgba.SetRGBA(x, y, color.RGBA{r8(x, y), g8(x, y), b8(x, y), 255})
			gray.SetGray(x, y, color.Gray{r8(x, y)})
			gray16.SetGray16(x, y, color.Gray16{r16(x, y)})
			rgba64.SetRGBA64(x, y, color.RGBA64{r16(x, y), g16(x, y), b16(x, y), 65535})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{r16(x, y), g16(x, y), b16(x, y), 65535})
			pal.SetColorIndex(x, y, uint8((x+y)%2))
		}
	}
	rgb8 := func(x, y int) [3]float32 { return [3]float32{want8(r8(x, y)), want8(g8(x, y)), want8(b8(x, y))} }
	rgb16 := func(x, y int) [3]float32 { return [3]float32{want16(r16(x, y)), want16(g16(x, y)), want16(b16(x, y))} }
	return []fixture{
		{"nrgba8", nrgba, rgb8},
		{"rgba8", rgba, rgb8},
		{"gray8", gray, func(x, y int) [3]float32 { v := want8(r8(x, y)); return [3]float32{v, v, v} }},
		{"gray16", gray16, func(x, y int) [3]float32 { v := want16(r16(x, y)); return [3]float32{v, v, v} }},
		{"rgba16", rgba64, rgb16},
		{"nrgba16", nrgba64, rgb16},
		{"paletted", pal, func(x, y int) [3]float32 {
			if (x+y)%2 == 0 {
				return [3]float32{want8(10), want8(20), want8(30)}
			}
			return [3]float32{want8(200), want8(100), 0}
		}},
	}
}

func checkImage(t *testing.T, im *engine.Image, w, h int, expect func(x, y int) [3]float32, tol float64) {
	t.Helper()
	if im.W != w || im.H != h || len(im.Pix) != 3*w*h {
		t.Fatalf("size %d×%d (%d values), want %d×%d", im.W, im.H, len(im.Pix), w, h)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			e := expect(x, y)
			for c := 0; c < 3; c++ {
				if got := im.Pix[c*w*h+y*w+x]; math.Abs(float64(got-e[c])) > tol {
					t.Fatalf("pixel (%d,%d) channel %d: %g, want %g", x, y, c, got, e[c])
				}
			}
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	dir := t.TempDir()
	for _, f := range fixtures() {
		encoders := map[string]func(*bytes.Buffer, image.Image) error{
			"png":  func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) },
			"tiff": func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) },
		}
		for ext, enc := range encoders {
			t.Run(f.name+"."+ext, func(t *testing.T) {
				checkImage(t, engine.FromImage(f.img), 7, 5, f.expect, 0)
				var buf bytes.Buffer
				if err := enc(&buf, f.img); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, f.name+"."+ext)
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				im, err := engine.Decode(path)
				if err != nil {
					t.Fatal(err)
				}
				checkImage(t, im, 7, 5, f.expect, 1e-7)
			})
		}
	}
	// JPEG is lossy: a flat colour and a flat grey come back within a couple of levels.
	for _, c := range []struct {
		name string
		img  image.Image
		want [3]float32
	}{
		{"jpeg colour", image.NewUniform(color.RGBA{200, 60, 30, 255}), [3]float32{200.0 / 255, 60.0 / 255, 30.0 / 255}},
		{"jpeg grey", image.NewUniform(color.Gray{90}), [3]float32{90.0 / 255, 90.0 / 255, 90.0 / 255}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := image.NewRGBA(image.Rect(0, 0, 16, 9))
			if g, ok := c.img.(*image.Uniform); ok {
				for i := 0; i < 16*9; i++ {
					src.Set(i%16, i/16, g.C)
				}
			}
			var m image.Image = src
			if _, grey := c.img.(*image.Uniform).C.(color.Gray); grey {
				gi := image.NewGray(src.Rect)
				for i := range gi.Pix {
					gi.Pix[i] = 90
				}
				m = gi
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
				t.Fatal(err)
			}
			im, err := engine.DecodeReader(&buf, c.name+".jpg")
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, im, 16, 9, func(int, int) [3]float32 { return c.want }, 3.0/255)
		})
	}
}

func TestDecodeErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	var good bytes.Buffer
	png.Encode(&good, image.NewGray(image.Rect(0, 0, 20, 20)))
	zeroSize := append([]byte{}, good.Bytes()...)
	copy(zeroSize[16:24], []byte{0, 0, 0, 0, 0, 0, 0, 0}) // IHDR width and height 0
	cases := []struct {
		name     string
		data     []byte
		notImage bool
	}{
		{"empty.png", nil, true},
		{"truncated.png", good.Bytes()[:good.Len()/2], true},
		{"header-only.png", good.Bytes()[:8], true},
		{"zero-size.png", zeroSize, true},
		{"notes.txt", []byte("this is not an image\n"), true},
		{"noise.jpg", bytes.Repeat([]byte{0xff, 0xd8, 0x13, 0x37}, 50), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := engine.Decode(path)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if c.notImage && !errors.Is(err, engine.ErrImage) {
				t.Errorf("error %q does not wrap ErrImage", err)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("error %q starts with a capital", err)
			}
		})
	}
	missing := filepath.Join(dir, "missing.png")
	if _, err := engine.Decode(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestToNRGBARoundTrip(t *testing.T) {
	for _, f := range fixtures() {
		if f.name != "nrgba8" {
			continue
		}
		src := f.img.(*image.NRGBA)
		back := engine.FromImage(src).ToNRGBA()
		if !bytes.Equal(back.Pix, src.Pix) {
			t.Fatal("8-bit image does not survive FromImage → ToNRGBA")
		}
	}
	im := &engine.Image{W: 2, H: 1, Pix: []float32{-0.5, 2, float32(math.NaN()), 0.5, 0.999, 1}}
	got := im.ToNRGBA().Pix
	want := []uint8{0, 0, 255, 255, 255, 128, 255, 255} // NaN maps to 0
	if !bytes.Equal(got, want) {
		t.Fatalf("clamping: got %v, want %v", got, want)
	}
}

func TestDecodeRealBoardPhoto(t *testing.T) {
	path := filepath.Join(enginetest.RepoRoot(t), "..", "shared", "data", "deeppcb", "PCBData", "group12300", "12300", "12300246_test.jpg")
	im, err := engine.Decode(path)
	if err != nil {
		t.Fatal(err)
	}
	if im.W != 640 || im.H != 640 {
		t.Fatalf("size %d×%d, want 640×640", im.W, im.H)
	}
	// A grey JPEG: the three channels are equal.
	n := im.W * im.H
	for i := 0; i < n; i++ {
		if im.Pix[i] != im.Pix[n+i] || im.Pix[i] != im.Pix[2*n+i] {
			t.Fatalf("pixel %d: grey channels differ", i)
		}
	}
}
