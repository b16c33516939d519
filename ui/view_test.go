package ui

import (
	"image"
	"math"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/hisirdesk/hisir/engine/geom"
)

func TestViewPixel(t *testing.T) {
	tests := []struct {
		name  string
		view  View
		scale float32
		pos   fyne.Position
		want  image.Point
		exact geom.Point
	}{
		{"1:1 scale 1 origin", View{Zoom: 1}, 1, fyne.NewPos(0, 0), image.Pt(0, 0), geom.Point{}},
		{"1:1 scale 1", View{Zoom: 1}, 1, fyne.NewPos(10.5, 3.2), image.Pt(10, 3), geom.Point{X: 10.5, Y: 3.2}},
		{"1:1 scale 2 doubles", View{Zoom: 1}, 2, fyne.NewPos(10.5, 3.25), image.Pt(21, 6), geom.Point{X: 21, Y: 6.5}},
		{"zoom 4 scale 1", View{Zoom: 4, Origin: geom.Point{X: 100, Y: 50}}, 1, fyne.NewPos(10, 7), image.Pt(102, 51), geom.Point{X: 102.5, Y: 51.75}},
		{"zoom 4 scale 2", View{Zoom: 4, Origin: geom.Point{X: 100, Y: 50}}, 2, fyne.NewPos(10, 7), image.Pt(105, 53), geom.Point{X: 105, Y: 53.5}},
		{"zoom 32 scale 2 crisp pixel", View{Zoom: 32, Origin: geom.Point{X: 7, Y: 9}}, 2, fyne.NewPos(15.9, 16), image.Pt(7, 10), geom.Point{X: 7.99375, Y: 10}},
		{"fit 4K into 1600 scale 1", View{Zoom: 0.4, Origin: geom.Point{X: 0, Y: -30}}, 1, fyne.NewPos(800, 12), image.Pt(2000, 0), geom.Point{X: 2000, Y: 0}},
		{"left of image is negative", View{Zoom: 2, Origin: geom.Point{X: -10, Y: -10}}, 1, fyne.NewPos(1, 1), image.Pt(-10, -10), geom.Point{X: -9.5, Y: -9.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.view.Pixel(tt.pos, tt.scale); got != tt.want {
				t.Errorf("Pixel(%v, scale %v) = %v, want %v", tt.pos, tt.scale, got, tt.want)
			}
			got := tt.view.ImagePoint(tt.pos, tt.scale)
			if math.Abs(got.X-tt.exact.X) > 1e-4 || math.Abs(got.Y-tt.exact.Y) > 1e-4 {
				t.Errorf("ImagePoint = %v, want %v", got, tt.exact)
			}
			back := tt.view.WidgetPoint(got, tt.scale)
			if math.Abs(float64(back.X-tt.pos.X)) > 1e-3 || math.Abs(float64(back.Y-tt.pos.Y)) > 1e-3 {
				t.Errorf("WidgetPoint(ImagePoint(p)) = %v, want %v", back, tt.pos)
			}
		})
	}
}

func TestFitView(t *testing.T) {
	tests := []struct {
		name       string
		w, h       int
		size       fyne.Size
		scale      float32
		wantZoom   float64
		wantOrigin geom.Point
	}{
		{"4K in 1600x900 scale 1", 3840, 2160, fyne.NewSize(1600, 900), 1, 1600.0 / 3840, geom.Point{X: 0, Y: 0}},
		{"4K in 1600x1000 scale 1 letterbox", 3840, 2160, fyne.NewSize(1600, 1000), 1, 1600.0 / 3840, geom.Point{X: 0, Y: 1080 - 500*3840.0/1600}},
		{"4K in 800x500 scale 2 same as 1600x1000", 3840, 2160, fyne.NewSize(800, 500), 2, 1600.0 / 3840, geom.Point{X: 0, Y: 1080 - 500*3840.0/1600}},
		{"tall image pillarbox", 100, 400, fyne.NewSize(200, 200), 1, 0.5, geom.Point{X: 50 - 200, Y: 0}},
		{"tiny image zooms in", 4, 4, fyne.NewSize(400, 200), 1, 50, geom.Point{X: 2 - 4, Y: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := FitView(tt.w, tt.h, tt.size, tt.scale)
			if math.Abs(v.Zoom-tt.wantZoom) > 1e-9 || math.Abs(v.Origin.X-tt.wantOrigin.X) > 1e-6 || math.Abs(v.Origin.Y-tt.wantOrigin.Y) > 1e-6 {
				t.Fatalf("FitView = %+v, want zoom %v origin %v", v, tt.wantZoom, tt.wantOrigin)
			}
			// The whole image is visible and touches two opposite edges.
			vis := v.Visible(tt.w, tt.h, tt.size, tt.scale)
			if vis != (geom.Rect{X1: tt.w, Y1: tt.h}) {
				t.Errorf("visible %v, want the whole image", vis)
			}
		})
	}
}

func TestViewZoomAtKeepsPointUnderPointer(t *testing.T) {
	tests := []struct {
		zoom, to float64
		scale    float32
		p        fyne.Position
	}{
		{0.4, 1, 1, fyne.NewPos(300, 200)},
		{1, 32, 2, fyne.NewPos(17, 400)},
		{8, 0.1, 1, fyne.NewPos(0, 0)},
		{1, 1000, 1, fyne.NewPos(50, 50)}, // clipped to MaxZoom
	}
	for _, tt := range tests {
		v := View{Zoom: tt.zoom, Origin: geom.Point{X: 123, Y: 45}}
		before := v.ImagePoint(tt.p, tt.scale)
		z := v.ZoomAt(tt.p, tt.scale, tt.to)
		after := z.ImagePoint(tt.p, tt.scale)
		if math.Abs(before.X-after.X) > 1e-9 || math.Abs(before.Y-after.Y) > 1e-9 {
			t.Errorf("zoom %v→%v moved the point under the pointer: %v → %v", tt.zoom, tt.to, before, after)
		}
		if z.Zoom > MaxZoom || (tt.to <= MaxZoom && z.Zoom != tt.to) {
			t.Errorf("zoom = %v for request %v", z.Zoom, tt.to)
		}
	}
}

func TestViewPanFollowsPointer(t *testing.T) {
	for _, scale := range []float32{1, 2} {
		v := View{Zoom: 3, Origin: geom.Point{X: 10, Y: 20}}
		p := fyne.NewPos(40, 40)
		grabbed := v.ImagePoint(p, scale)
		moved := v.Pan(15, -7, scale)
		if got := moved.ImagePoint(p.Add(fyne.NewPos(15, -7)), scale); math.Abs(got.X-grabbed.X) > 1e-9 || math.Abs(got.Y-grabbed.Y) > 1e-9 {
			t.Errorf("scale %v: grabbed pixel %v is now under the pointer as %v", scale, grabbed, got)
		}
	}
}

func TestViewClamp(t *testing.T) {
	size := fyne.NewSize(100, 100)
	tests := []struct {
		name string
		in   View
		want geom.Point
	}{
		{"inside stays", View{Zoom: 1, Origin: geom.Point{X: 200, Y: 300}}, geom.Point{X: 200, Y: 300}},
		{"far left stops at half a view", View{Zoom: 1, Origin: geom.Point{X: -500, Y: 0}}, geom.Point{X: -50, Y: 0}},
		{"far right stops at half a view", View{Zoom: 1, Origin: geom.Point{X: 5000, Y: 5000}}, geom.Point{X: 950, Y: 950}},
		{"whole image fits: kept inside", View{Zoom: 0.05, Origin: geom.Point{X: -3000, Y: 500}}, geom.Point{X: -1000, Y: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.Clamp(1000, 1000, size, 1).Origin
			if math.Abs(got.X-tt.want.X) > 1e-9 || math.Abs(got.Y-tt.want.Y) > 1e-9 {
				t.Errorf("Clamp origin = %v, want %v", got, tt.want)
			}
		})
	}
}
