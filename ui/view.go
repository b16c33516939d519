package ui

import (
	"image"
	"math"

	"fyne.io/fyne/v2"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Zoom limits of the viewer, in device pixels per image pixel.
const (
	MaxZoom = 64.0 // 6400 %
	minZoom = 1.0 / 256
)

// View is the transform between a widget and the image it shows.
//
// Zoom is device (screen) pixels per image pixel: 1 is 1:1, 32 is 3200 %. Origin is the
// image coordinate shown at the widget's top-left corner. Widget positions are Fyne's
// device-independent units; the canvas scale converts them to device pixels.
type View struct {
	Zoom   float64
	Origin geom.Point
}

// ImagePoint maps a pointer position in the widget to continuous image coordinates.
func (v View) ImagePoint(p fyne.Position, scale float32) geom.Point {
	s := float64(scale)
	return geom.Point{
		X: v.Origin.X + float64(p.X)*s/v.Zoom,
		Y: v.Origin.Y + float64(p.Y)*s/v.Zoom,
	}
}

// Pixel maps a pointer position to the image pixel under it (which may lie outside the image).
func (v View) Pixel(p fyne.Position, scale float32) image.Point {
	q := v.ImagePoint(p, scale)
	return image.Pt(int(math.Floor(q.X)), int(math.Floor(q.Y)))
}

// WidgetPoint maps image coordinates to a widget position (the inverse of ImagePoint).
func (v View) WidgetPoint(q geom.Point, scale float32) fyne.Position {
	s := float64(scale)
	return fyne.NewPos(float32((q.X-v.Origin.X)*v.Zoom/s), float32((q.Y-v.Origin.Y)*v.Zoom/s))
}

// FitView shows a whole w×h image centred in a widget of the given size.
func FitView(w, h int, size fyne.Size, scale float32) View {
	dw, dh := float64(size.Width*scale), float64(size.Height*scale)
	if w <= 0 || h <= 0 || dw <= 0 || dh <= 0 {
		return View{Zoom: 1}
	}
	z := math.Min(dw/float64(w), dh/float64(h))
	return View{Zoom: z, Origin: geom.Point{
		X: float64(w)/2 - dw/2/z,
		Y: float64(h)/2 - dh/2/z,
	}}
}

// ZoomAt returns the view at a new zoom that keeps the image point under p where it is.
func (v View) ZoomAt(p fyne.Position, scale float32, zoom float64) View {
	zoom = math.Max(minZoom, math.Min(MaxZoom, zoom))
	q := v.ImagePoint(p, scale)
	s := float64(scale)
	return View{Zoom: zoom, Origin: geom.Point{
		X: q.X - float64(p.X)*s/zoom,
		Y: q.Y - float64(p.Y)*s/zoom,
	}}
}

// Pan moves the view by a widget-space distance (dragging the image along with the pointer).
func (v View) Pan(dx, dy float32, scale float32) View {
	s := float64(scale)
	v.Origin.X -= float64(dx) * s / v.Zoom
	v.Origin.Y -= float64(dy) * s / v.Zoom
	return v
}

// CenterOn returns the view at zoom that centres image rectangle r in a widget of size.
func CenterOn(r geom.Rect, size fyne.Size, scale float32, zoom float64) View {
	zoom = math.Max(minZoom, math.Min(MaxZoom, zoom))
	dw, dh := float64(size.Width*scale), float64(size.Height*scale)
	cx, cy := float64(r.X0+r.X1)/2, float64(r.Y0+r.Y1)/2
	return View{Zoom: zoom, Origin: geom.Point{X: cx - dw/2/zoom, Y: cy - dh/2/zoom}}
}

// Clamp keeps at least part of a w×h image on a widget of size: the image cannot be dragged
// further than half the widget off screen.
func (v View) Clamp(w, h int, size fyne.Size, scale float32) View {
	dw, dh := float64(size.Width*scale)/v.Zoom, float64(size.Height*scale)/v.Zoom
	clamp := func(o, span, n float64) float64 {
		lo, hi := -span/2, n-span/2
		if span > n { // whole image fits: keep it inside
			lo, hi = n-span, 0
		}
		return math.Max(lo, math.Min(hi, o))
	}
	v.Origin.X = clamp(v.Origin.X, dw, float64(w))
	v.Origin.Y = clamp(v.Origin.Y, dh, float64(h))
	return v
}

// Visible is the part of a w×h image that a widget of the given size shows.
func (v View) Visible(w, h int, size fyne.Size, scale float32) geom.Rect {
	a := v.ImagePoint(fyne.NewPos(0, 0), scale)
	b := v.ImagePoint(fyne.NewPos(size.Width, size.Height), scale)
	r := geom.Rect{X0: int(math.Floor(a.X)), Y0: int(math.Floor(a.Y)), X1: int(math.Ceil(b.X)), Y1: int(math.Ceil(b.Y))}
	return r.Intersect(geom.Rect{X1: w, Y1: h})
}
