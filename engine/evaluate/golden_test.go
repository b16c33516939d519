package evaluate

import (
	"math/rand"
	"testing"
)

func TestGoldenDiffFindsShiftAndDefect(t *testing.T) {
	const w, h = 64, 48
	rng := rand.New(rand.NewSource(4))
	// a textured reference; the image is the reference shifted by (3,-2) with a bright square
	ref := make([]float32, 3*w*h)
	for i := range ref {
		ref[i] = rng.Float32()
	}
	img := make([]float32, 3*w*h)
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				img[c*w*h+y*w+x] = ref[c*w*h+clampInt(y-2, 0, h-1)*w+clampInt(x+3, 0, w-1)]
			}
		}
	}
	for c := 0; c < 3; c++ {
		for y := 20; y < 26; y++ {
			for x := 30; x < 36; x++ {
				img[c*w*h+y*w+x] = 2 // far outside the texture's range
			}
		}
	}
	if dx, dy := alignShift(img, ref, w, h, 8); dx != 3 || dy != -2 {
		t.Fatalf("alignment (%d,%d), want (3,-2)", dx, dy)
	}
	d := GoldenDiff(img, ref, w, h, GoldenOptions{Search: 8, Tolerance: 1})
	// inside the defect the difference is at least 1; well away from it and the borders it is 0
	for y := 20; y < 26; y++ {
		for x := 30; x < 36; x++ {
			if d[y*w+x] < 1 {
				t.Fatalf("defect pixel (%d,%d) diff %v < 1", x, y, d[y*w+x])
			}
		}
	}
	for y := 4; y < 16; y++ {
		for x := 10; x < 50; x++ {
			if d[y*w+x] != 0 {
				t.Fatalf("aligned normal pixel (%d,%d) diff %v, want 0", x, y, d[y*w+x])
			}
		}
	}
}

func TestGoldenDiffNoSearchOnTinyImages(t *testing.T) {
	img := []float32{0.2, 0.4, 0.6}
	ref := []float32{0.1, 0.4, 0.9}
	d := GoldenDiff(img, ref, 1, 1, DefaultGoldenOptions())
	if len(d) != 1 || d[0] < 0.13 || d[0] > 0.14 {
		t.Fatalf("1×1 diff %v, want 0.1333", d)
	}
}
