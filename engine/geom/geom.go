// Package geom holds the small geometry shared by the engine, the datasets, the store and
// the UI: points, rectangles and polygons in image pixel coordinates, and polygon rasterisation.
//
// Coordinates are continuous: pixel (x, y) covers [x, x+1) × [y, y+1) and its centre is
// (x+0.5, y+0.5). A pixel belongs to a polygon when its centre lies inside (even-odd rule).
package geom

import "math"

// Point is a position in image pixel coordinates.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Rect is a half-open integer pixel rectangle [X0, X1) × [Y0, Y1).
type Rect struct {
	X0, Y0, X1, Y1 int
}

// Dx is the width of r.
func (r Rect) Dx() int { return r.X1 - r.X0 }

// Dy is the height of r.
func (r Rect) Dy() int { return r.Y1 - r.Y0 }

// Empty reports whether r contains no pixel.
func (r Rect) Empty() bool { return r.X0 >= r.X1 || r.Y0 >= r.Y1 }

// Area is the number of pixels in r.
func (r Rect) Area() int {
	if r.Empty() {
		return 0
	}
	return r.Dx() * r.Dy()
}

// Intersect is the largest rectangle inside both r and s.
func (r Rect) Intersect(s Rect) Rect {
	out := Rect{max(r.X0, s.X0), max(r.Y0, s.Y0), min(r.X1, s.X1), min(r.Y1, s.Y1)}
	if out.Empty() {
		return Rect{}
	}
	return out
}

// Union is the smallest rectangle containing r and s (an empty one is ignored).
func (r Rect) Union(s Rect) Rect {
	if r.Empty() {
		return s
	}
	if s.Empty() {
		return r
	}
	return Rect{min(r.X0, s.X0), min(r.Y0, s.Y0), max(r.X1, s.X1), max(r.Y1, s.Y1)}
}

// IoU is the intersection over union of two rectangles' pixel sets.
func (r Rect) IoU(s Rect) float64 {
	in := r.Intersect(s).Area()
	u := r.Area() + s.Area() - in
	if u == 0 {
		return 0
	}
	return float64(in) / float64(u)
}

// Polygon is a closed ring of points; the last point connects back to the first.
type Polygon []Point

// Area is the absolute shoelace area of p.
func (p Polygon) Area() float64 {
	n := len(p)
	if n < 3 {
		return 0
	}
	var s float64
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		s += p[i].X*p[j].Y - p[j].X*p[i].Y
	}
	return math.Abs(s) / 2
}

// Bounds is the pixel rectangle holding every pixel whose centre may lie inside p.
func (p Polygon) Bounds() Rect {
	if len(p) == 0 {
		return Rect{}
	}
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, q := range p {
		minX, maxX = math.Min(minX, q.X), math.Max(maxX, q.X)
		minY, maxY = math.Min(minY, q.Y), math.Max(maxY, q.Y)
	}
	return Rect{int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY))}
}

// Contains reports whether pt lies inside p (even-odd rule).
func (p Polygon) Contains(pt Point) bool {
	in := false
	n := len(p)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := p[i], p[j]
		if (a.Y > pt.Y) != (b.Y > pt.Y) {
			x := a.X + (pt.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y)
			if pt.X < x {
				in = !in
			}
		}
	}
	return in
}

// Translate returns p moved by (dx, dy).
func (p Polygon) Translate(dx, dy float64) Polygon {
	out := make(Polygon, len(p))
	for i, q := range p {
		out[i] = Point{q.X + dx, q.Y + dy}
	}
	return out
}

// Fill sets mask[y*w+x] = value for every pixel of the w×h grid whose centre lies inside p
// (even-odd rule), by scanlines. Pixels outside the grid are ignored.
func Fill(mask []uint8, w, h int, p Polygon, value uint8) {
	if len(p) < 3 || w <= 0 || h <= 0 {
		return
	}
	b := p.Bounds().Intersect(Rect{0, 0, w, h})
	if b.Empty() {
		return
	}
	xs := make([]float64, 0, 16)
	n := len(p)
	for y := b.Y0; y < b.Y1; y++ {
		cy := float64(y) + 0.5
		xs = xs[:0]
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			a, c := p[i], p[j]
			if (a.Y > cy) != (c.Y > cy) {
				xs = append(xs, a.X+(cy-a.Y)*(c.X-a.X)/(c.Y-a.Y))
			}
		}
		sortFloats(xs)
		row := mask[y*w : (y+1)*w]
		for k := 0; k+1 < len(xs); k += 2 {
			// pixel centres x+0.5 in [xs[k], xs[k+1])
			x0 := int(math.Ceil(xs[k] - 0.5))
			x1 := int(math.Ceil(xs[k+1] - 0.5))
			x0, x1 = max(x0, 0), min(x1, w)
			for x := x0; x < x1; x++ {
				row[x] = value
			}
		}
	}
}

// sortFloats is an insertion sort: scanline crossings are few.
func sortFloats(a []float64) {
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i - 1
		for j >= 0 && a[j] > v {
			a[j+1] = a[j]
			j--
		}
		a[j+1] = v
	}
}
