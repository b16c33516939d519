package ui

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Colormap names a heatmap palette.
type Colormap int

// Heatmap palettes.
const (
	Turbo Colormap = iota
	Inferno
	Gray
)

// Colormaps lists the palette names in Colormap order, for pickers.
var Colormaps = []string{"turbo", "inferno", "gray"}

func (c Colormap) String() string {
	if int(c) < len(Colormaps) && c >= 0 {
		return Colormaps[c]
	}
	return "turbo"
}

var colormapStops = map[Colormap][]color.RGBA{
	Turbo:   {{48, 18, 59, 255}, {70, 134, 251, 255}, {27, 229, 181, 255}, {164, 252, 60, 255}, {251, 185, 56, 255}, {228, 70, 10, 255}, {122, 4, 3, 255}},
	Inferno: {{0, 0, 4, 255}, {66, 10, 104, 255}, {147, 38, 103, 255}, {221, 81, 58, 255}, {252, 165, 10, 255}, {252, 255, 164, 255}},
	Gray:    {{0, 0, 0, 255}, {255, 255, 255, 255}},
}

// lut returns the 256-entry table of a palette, interpolating its stops linearly.
func (c Colormap) lut() *[256][3]uint8 {
	stops, ok := colormapStops[c]
	if !ok {
		stops = colormapStops[Turbo]
	}
	var t [256][3]uint8
	n := len(stops) - 1
	for i := range t {
		f := float64(i) / 255 * float64(n)
		k := min(int(f), n-1)
		u := f - float64(k)
		a, b := stops[k], stops[k+1]
		t[i] = [3]uint8{
			uint8(float64(a.R)*(1-u) + float64(b.R)*u + 0.5),
			uint8(float64(a.G)*(1-u) + float64(b.G)*u + 0.5),
			uint8(float64(a.B)*(1-u) + float64(b.B)*u + 0.5),
		}
	}
	return &t
}

// Shape is an outline drawn over the image: a defect, a label or the polygon being drawn.
type Shape struct {
	Polygon geom.Polygon // image coordinates
	Color   color.RGBA
	Width   int  // line width in device pixels
	Open    bool // a polyline (a polygon still being drawn)
	Handles bool // draw vertex handles
	Active  int  // index of a highlighted vertex, or -1
}

// frameSpec is everything one frame needs; the viewer snapshots it on the UI goroutine and
// the render goroutine draws it.
type frameSpec struct {
	W, H       int // device pixels
	View       View
	Image      *Pyramid
	Twin       *Pyramid
	SideBySide bool // twin shown in the right half
	ShowTwin   bool // flicker phase: draw the twin instead of the image
	Scores     *Scores
	Heat       bool
	Opacity    float64
	Colormap   Colormap
	HeatMax    float32 // score drawn at the top of the palette
	Mask       bool
	Threshold  float32
	Shapes     []Shape
}

// background is drawn where there is no image.
var background = color.RGBA{38, 40, 44, 255}

// maskTint colours pixels whose score reaches the threshold.
var maskTint = color.RGBA{255, 32, 96, 255}

// renderFrame draws a whole frame; it is pure and runs off the UI goroutine.
func renderFrame(s *frameSpec) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, max(s.W, 1), max(s.H, 1)))
	if s.SideBySide && s.Twin != nil {
		half := s.W / 2
		renderPane(dst, image.Rect(0, 0, half, s.H), s, s.Image, true)
		renderPane(dst, image.Rect(half, 0, s.W, s.H), s, s.Twin, false)
		fillRect(dst, dst.Rect, half, 0, half+1, s.H, color.RGBA{200, 200, 200, 255}) // divider
		return dst
	}
	img, heat := s.Image, true
	if s.ShowTwin && s.Twin != nil {
		img, heat = s.Twin, false
	}
	renderPane(dst, dst.Rect, s, img, heat)
	return dst
}

// levelFor is the pyramid level to sample at a zoom: the coarsest one still at least as
// fine as the screen.
func levelFor(zoom float64) int {
	if zoom >= 1 {
		return 0
	}
	return int(math.Floor(math.Log2(1/zoom) + 1e-9))
}

// renderPane draws pyr (and, when heat, the score overlays) into r of dst, with the view's
// origin at r's top-left. Image pixels are sampled nearest from the matching level.
func renderPane(dst *image.RGBA, r image.Rectangle, s *frameSpec, pyr *Pyramid, heat bool) {
	pw, ph := r.Dx(), r.Dy()
	if pw <= 0 || ph <= 0 {
		return
	}
	bg := [4]uint8{background.R, background.G, background.B, 255}
	if pyr == nil {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := dst.Pix[dst.PixOffset(r.Min.X, y):][:4*pw]
			for i := 0; i < len(row); i += 4 {
				copy(row[i:i+4], bg[:])
			}
		}
		return
	}
	lvl, l := pyr.Level(levelFor(s.View.Zoom))
	f := math.Exp2(float64(l))
	lw, lh := lvl.Rect.Dx(), lvl.Rect.Dy()
	xs := make([]int, pw)
	for dx := range xs {
		ix := s.View.Origin.X + (float64(dx)+0.5)/s.View.Zoom
		lx := int(math.Floor(ix / f))
		if ix < 0 || lx >= lw || ix >= float64(pyr.W) {
			lx = -1
		}
		xs[dx] = lx
	}
	var scores []float32
	var sw int
	useHeat := heat && s.Scores != nil && (s.Heat || s.Mask) && s.Scores.W == pyr.W && s.Scores.H == pyr.H
	if useHeat {
		scores, sw = s.Scores.Level(l)
	}
	// Blend tables: heat colour k premultiplied by its alpha, and the image weight.
	lut := s.Colormap.lut()
	alpha := int(math.Round(math.Max(0, math.Min(1, s.Opacity)) * 256))
	var heatC [256][3]int
	var heatW [256]int
	for k := range heatC {
		a := alpha * (64 + 3*k/4) >> 8 // low scores stay mostly transparent
		heatW[k] = 256 - a
		for c := 0; c < 3; c++ {
			heatC[k][c] = int(lut[k][c]) * a
		}
	}
	heatOn := s.Heat && alpha > 0
	hscale := float32(255)
	if s.HeatMax > 0 {
		hscale = 255 / s.HeatMax
	}
	bgPix := binary.LittleEndian.Uint32(bg[:])
	prevLy := -2
	for dy := 0; dy < ph; dy++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+dy):][:4*pw]
		iy := s.View.Origin.Y + (float64(dy)+0.5)/s.View.Zoom
		ly := int(math.Floor(iy / f))
		if iy < 0 || ly >= lh || iy >= float64(pyr.H) {
			ly = -1
		}
		if ly == prevLy && dy > 0 { // a row depends only on ly: repeat the one above
			copy(row, dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+dy-1):][:4*pw])
			continue
		}
		prevLy = ly
		if ly < 0 {
			for i := 0; i < len(row); i += 4 {
				binary.LittleEndian.PutUint32(row[i:], bgPix)
			}
			continue
		}
		src := lvl.Pix[ly*lvl.Stride : (ly+1)*lvl.Stride]
		for dx, lx := range xs {
			if lx < 0 {
				binary.LittleEndian.PutUint32(row[4*dx:], bgPix)
			} else {
				binary.LittleEndian.PutUint32(row[4*dx:], binary.LittleEndian.Uint32(src[4*lx:]))
			}
		}
		if !useHeat {
			continue
		}
		srow := scores[ly*sw : (ly+1)*sw]
		for dx, lx := range xs {
			if lx < 0 {
				continue
			}
			v := srow[lx]
			d := row[4*dx : 4*dx+3 : 4*dx+3]
			if heatOn {
				k := int(v * hscale)
				k = max(0, min(255, k))
				w, c := heatW[k], &heatC[k]
				d[0] = uint8((int(d[0])*w + c[0]) >> 8)
				d[1] = uint8((int(d[1])*w + c[1]) >> 8)
				d[2] = uint8((int(d[2])*w + c[2]) >> 8)
			}
			if s.Mask && v >= s.Threshold {
				d[0] = uint8((int(d[0]) + int(maskTint.R)) >> 1)
				d[1] = uint8((int(d[1]) + int(maskTint.G)) >> 1)
				d[2] = uint8((int(d[2]) + int(maskTint.B)) >> 1)
			}
		}
	}
	for _, sh := range s.Shapes {
		drawShape(dst, r, s.View, sh)
	}
}

// drawShape draws an outline (and its vertex handles) clipped to r.
func drawShape(dst *image.RGBA, r image.Rectangle, v View, sh Shape) {
	n := len(sh.Polygon)
	if n == 0 {
		return
	}
	pts := make([][2]float64, n)
	for i, p := range sh.Polygon {
		pts[i] = [2]float64{float64(r.Min.X) + (p.X-v.Origin.X)*v.Zoom, float64(r.Min.Y) + (p.Y-v.Origin.Y)*v.Zoom}
	}
	w := max(sh.Width, 1)
	if sh.Open {
		for i := 0; i+1 < n; i++ {
			drawLine(dst, r, pts[i][0], pts[i][1], pts[i+1][0], pts[i+1][1], w, sh.Color)
		}
	} else {
		for _, ring := range Rings(sh.Polygon) {
			for i := ring[0]; i < ring[1]; i++ {
				j := i + 1
				if j == ring[1] {
					j = ring[0]
				}
				drawLine(dst, r, pts[i][0], pts[i][1], pts[j][0], pts[j][1], w, sh.Color)
			}
		}
	}
	if sh.Handles {
		for i, p := range pts {
			size, c := 3, color.RGBA{255, 255, 255, 255}
			if i == sh.Active {
				size, c = 5, color.RGBA{255, 220, 0, 255}
			}
			fillRect(dst, r, int(p[0])-size, int(p[1])-size, int(p[0])+size+1, int(p[1])+size+1, color.RGBA{0, 0, 0, 255})
			fillRect(dst, r, int(p[0])-size+1, int(p[1])-size+1, int(p[0])+size, int(p[1])+size, c)
		}
	}
}

func fillRect(dst *image.RGBA, clip image.Rectangle, x0, y0, x1, y1 int, c color.RGBA) {
	rr := image.Rect(x0, y0, x1, y1).Intersect(clip)
	for y := rr.Min.Y; y < rr.Max.Y; y++ {
		row := dst.Pix[dst.PixOffset(rr.Min.X, y):][:4*rr.Dx()]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = c.R, c.G, c.B, 255
		}
	}
}

// drawLine draws a segment of width w, clipped to r first (Liang–Barsky) so that huge
// zooms never walk off-screen pixels.
func drawLine(dst *image.RGBA, r image.Rectangle, x0, y0, x1, y1 float64, w int, c color.RGBA) {
	m := float64(w)
	ok, ax, ay, bx, by := clipSegment(float64(r.Min.X)-m, float64(r.Min.Y)-m, float64(r.Max.X)+m, float64(r.Max.Y)+m, x0, y0, x1, y1)
	if !ok {
		return
	}
	dx, dy := bx-ax, by-ay
	steps := int(math.Ceil(math.Max(math.Abs(dx), math.Abs(dy))))
	lo, hi := -(w-1)/2, w/2
	for i := 0; i <= steps; i++ {
		t := 0.0
		if steps > 0 {
			t = float64(i) / float64(steps)
		}
		px, py := int(math.Floor(ax+dx*t)), int(math.Floor(ay+dy*t))
		fillRect(dst, r, px+lo, py+lo, px+hi+1, py+hi+1, c)
	}
}

func clipSegment(xmin, ymin, xmax, ymax, x0, y0, x1, y1 float64) (bool, float64, float64, float64, float64) {
	t0, t1 := 0.0, 1.0
	dx, dy := x1-x0, y1-y0
	for _, pq := range [4][2]float64{{-dx, x0 - xmin}, {dx, xmax - x0}, {-dy, y0 - ymin}, {dy, ymax - y0}} {
		p, q := pq[0], pq[1]
		if p == 0 {
			if q < 0 {
				return false, 0, 0, 0, 0
			}
			continue
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return false, 0, 0, 0, 0
			}
			t0 = math.Max(t0, t)
		} else {
			if t < t0 {
				return false, 0, 0, 0, 0
			}
			t1 = math.Min(t1, t)
		}
	}
	return true, x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy
}

// Rings splits a traced outline into its closed rings as [start, end) index ranges. The
// engine writes a region with holes as its outer ring, then for every hole the outer
// ring's first vertex (a bridge), the hole ring and the hole's first vertex again; drawing
// the bridges would paint stray lines across the image. A plain polygon is one ring.
func Rings(p geom.Polygon) [][2]int {
	n := len(p)
	if n == 0 {
		return nil
	}
	var marks []int
	for i := 1; i < n; i++ {
		if p[i] == p[0] {
			marks = append(marks, i)
		}
	}
	if len(marks) == 0 {
		return [][2]int{{0, n}}
	}
	out := [][2]int{{0, marks[0]}}
	for j, m := range marks {
		s, e := m+1, n
		if j+1 < len(marks) {
			e = marks[j+1]
		}
		if e-1 > s && p[e-1] == p[s] {
			e-- // the hole's closing repeat
		}
		if e-s >= 2 {
			out = append(out, [2]int{s, e})
		}
	}
	return out
}
