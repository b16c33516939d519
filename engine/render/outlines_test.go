package render

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

func testDefects() []engine.Defect {
	return []engine.Defect{
		{ // a triangle with its polygon
			Polygon: geom.Polygon{{X: 10, Y: 20}, {X: 30, Y: 20}, {X: 20, Y: 40}},
			Box:     geom.Rect{X0: 10, Y0: 20, X1: 30, Y1: 40}, Area: 200, Peak: 0.93, Mean: 0.6,
		},
		{ // no polygon: the box is drawn; near the top, so the label goes inside
			Box: geom.Rect{X0: 40, Y0: 2, X1: 60, Y1: 14}, Area: 240, Peak: 1.5, Mean: 1.1,
		},
	}
}

func TestOutlinesAndLabelsGolden(t *testing.T) {
	img := checker(72, 48)
	Outlines(img, testDefects(), DefectRed, 2)
	Labels(img, testDefects(), color.White, 12)
	golden(t, "outlines_labels.png", img)
}

func TestOutlinesDrawOnlyNearDefects(t *testing.T) {
	tests := []struct {
		name    string
		defects []engine.Defect
		changed bool
	}{
		{"no defects", nil, false},
		{"two defects", testDefects(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := checker(72, 48)
			img := checker(72, 48)
			Outlines(img, tc.defects, DefectRed, 0)
			if changed := !bytes.Equal(img.Pix, base.Pix); changed != tc.changed {
				t.Fatalf("image changed = %v, want %v", changed, tc.changed)
			}
			// Far from both defects (bottom-right corner) nothing changes.
			for y := 44; y < 48; y++ {
				for x := 66; x < 72; x++ {
					i := img.PixOffset(x, y)
					if !bytes.Equal(img.Pix[i:i+4], base.Pix[i:i+4]) {
						t.Fatalf("pixel (%d,%d) changed", x, y)
					}
				}
			}
			if tc.changed {
				// A point on the triangle's top edge is red.
				i := img.PixOffset(20, 20)
				if p := img.Pix[i : i+4]; p[0] < 200 || p[1] > 100 || p[3] != 255 {
					t.Errorf("edge pixel = %v, want opaque red", p)
				}
			}
		})
	}
}

func TestOutlinesOnTranslucentAndSubImages(t *testing.T) {
	t.Run("translucent", func(t *testing.T) {
		img := image.NewNRGBA(image.Rect(0, 0, 72, 48)) // fully transparent
		Outlines(img, testDefects(), DefectRed, 2)
		i := img.PixOffset(20, 20)
		if p := img.Pix[i : i+4]; p[0] < 200 || p[3] < 200 {
			t.Errorf("edge pixel = %v, want red", p)
		}
		if img.Pix[img.PixOffset(70, 46)+3] != 0 {
			t.Error("a far pixel became opaque")
		}
	})
	t.Run("sub-image keeps image coordinates", func(t *testing.T) {
		full := checker(72, 48)
		sub := full.SubImage(image.Rect(8, 16, 40, 44)).(*image.NRGBA)
		Outlines(sub, testDefects()[:1], DefectRed, 2)
		i := full.PixOffset(20, 20)
		if p := full.Pix[i : i+4]; p[0] < 200 || p[1] > 100 {
			t.Errorf("edge pixel = %v, want red", p)
		}
	})
}

func TestLabelSizes(t *testing.T) {
	tests := []struct {
		w, h         int
		width, label float64
	}{
		{64, 48, 2, 12},
		{3840, 2160, 5.4, 36},
	}
	for _, tc := range tests {
		if got := OutlineWidth(tc.w, tc.h); got != tc.width {
			t.Errorf("OutlineWidth(%d,%d) = %v, want %v", tc.w, tc.h, got, tc.width)
		}
		if got := LabelSize(tc.w, tc.h); got != tc.label {
			t.Errorf("LabelSize(%d,%d) = %v, want %v", tc.w, tc.h, got, tc.label)
		}
	}
}
