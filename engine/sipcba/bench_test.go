package sipcba

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// panel4K is a structured 3840×2160 RGBA test image.
func panel4K() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 3840, 2160))
	for y := 0; y < 2160; y++ {
		for x := 0; x < 3840; x++ {
			o := m.PixOffset(x, y)
			v := uint8((x/16 + y/16) % 7 * 30)
			m.Pix[o], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = v, uint8(x^y), 90, 255
		}
	}
	return m
}

// BenchmarkAdd4K measures Writer.Add of a defective 4K sample with its twin against two bare
// PNG encodes of the same image (the least any writer must do): add/encode is the overhead
// ratio of masks, hashing, LabelMe files and bookkeeping (target ≤ 1.3).
func BenchmarkAdd4K(b *testing.B) {
	img, twin := panel4K(), panel4K()
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	w, err := Create(filepath.Join(b.TempDir(), "ds"), Info{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	var encode, add time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		for k := 0; k < 2; k++ {
			if err := enc.Encode(io.Discard, img); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		twin := cloneRGBA(twin) // a fresh twin each time: no reuse of an encoded twin
		s := Sample{Split: Test, Name: fmt.Sprintf("p%d", i), Image: img, Twin: twin,
			Defects: []Defect{{ID: 1, Class: SolderBridge, Polygon: rect(100, 100, 400, 260)}}}
		if err := w.Add(s); err != nil {
			b.Fatal(err)
		}
		encode += t1.Sub(t0)
		add += time.Since(t1)
	}
	b.ReportMetric(float64(add)/float64(encode), "add/encode")
	b.ReportMetric(add.Seconds()/float64(b.N), "s/add")
}

// cloneRGBA copies img.
func cloneRGBA(img *image.RGBA) *image.RGBA {
	c := *img
	c.Pix = append([]uint8(nil), img.Pix...)
	return &c
}
