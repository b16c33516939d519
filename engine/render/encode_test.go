package render

import (
	"bytes"
	"hash/adler32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"testing"
)

func noisy(r *rand.Rand, img draw.Image) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ { // test fixture: small images only
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x, y, color.NRGBA64{uint16(r.Uint32()), uint16(x * 300), uint16(y * 500), 0xffff})
		}
	}
}

func TestEncodePNGRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	opaque := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	noisy(r, opaque)
	translucent := image.NewNRGBA(image.Rect(0, 0, 19, 11))
	noisy(r, translucent)
	for i := 3; i < len(translucent.Pix); i += 8 {
		translucent.Pix[i] = uint8(i)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, 21, 9))
	noisy(r, rgba)
	rgbaTrans := image.NewRGBA(image.Rect(0, 0, 5, 5))
	draw.Draw(rgbaTrans, rgbaTrans.Rect, image.NewUniform(color.NRGBA{200, 100, 50, 128}), image.Point{}, draw.Src)
	gray := image.NewGray(image.Rect(0, 0, 13, 7))
	noisy(r, gray)
	gray16 := image.NewGray16(image.Rect(0, 0, 29, 17))
	noisy(r, gray16)
	tall := image.NewNRGBA(image.Rect(0, 0, 600, 900)) // several 1 MiB bands
	noisy(r, tall)
	sub := tall.SubImage(image.Rect(100, 300, 350, 800)).(*image.NRGBA)
	paletted := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White})
	paletted.Pix[9] = 1
	tests := []struct {
		name string
		img  image.Image
		tol  uint32 // premultiplied translucent colours lose precision on the way to PNG
	}{
		{"opaque NRGBA", opaque, 0},
		{"translucent NRGBA", translucent, 0},
		{"opaque RGBA", rgba, 0},
		{"translucent RGBA (stdlib path)", rgbaTrans, 0x200},
		{"grey", gray, 0},
		{"16-bit grey", gray16, 0},
		{"tall, many bands", tall, 0},
		{"sub-image", sub, 0},
		{"paletted (stdlib path)", paletted, 0},
		{"one pixel", image.NewGray16(image.Rect(0, 0, 1, 1)), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := EncodePNG(&buf, tc.img); err != nil {
				t.Fatal(err)
			}
			got, err := png.Decode(&buf)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			b := tc.img.Bounds()
			if got.Bounds().Size() != b.Size() {
				t.Fatalf("size %v, want %v", got.Bounds().Size(), b.Size())
			}
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					r1, g1, b1, a1 := tc.img.At(b.Min.X+x, b.Min.Y+y).RGBA()
					r2, g2, b2, a2 := got.At(got.Bounds().Min.X+x, got.Bounds().Min.Y+y).RGBA()
					d := func(a, b uint32) bool { return a-b > tc.tol && b-a > tc.tol }
					if d(r1, r2) || d(g1, g2) || d(b1, b2) || d(a1, a2) {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, []uint32{r2, g2, b2, a2}, []uint32{r1, g1, b1, a1})
					}
				}
			}
		})
	}
	if err := EncodePNG(&bytes.Buffer{}, image.NewNRGBA(image.Rect(0, 0, 0, 3))); err == nil {
		t.Error("empty image encoded without error")
	}
}

func TestAdler32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range [][2]int{{0, 0}, {1, 0}, {0, 5}, {10, 70000}, {65521, 65521}, {200000, 131}, {5552, 1 << 20}} {
		a := make([]byte, n[0])
		b := make([]byte, n[1])
		for i := range a {
			a[i] = byte(r.Uint32() | 0x80) // large bytes stress the modular reductions
		}
		for i := range b {
			b[i] = 0xff
		}
		want := adler32.Checksum(append(append([]byte{}, a...), b...))
		if got := adler32Combine(adler32.Checksum(a), adler32.Checksum(b), len(b)); got != want {
			t.Errorf("combine(%d, %d bytes) = %#x, want %#x", n[0], n[1], got, want)
		}
	}
}
