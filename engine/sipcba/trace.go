package sipcba

import (
	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// MaskPolygon returns one polygon whose even-odd fill (geom.Fill) is exactly the non-zero pixels
// of the w×h mask inside r, holes included, or nil when there are none. Its vertices lie on
// pixel corners: every boundary loop is traced along pixel edges and the loops are joined by
// axis-parallel bridges that are walked there and back, so they cancel out under the even-odd
// rule.
func MaskPolygon(mask []uint8, w, h int, r geom.Rect) geom.Polygon {
	r = r.Intersect(geom.Rect{X1: w, Y1: h})
	return tracePolygon(func(x, y int) bool { return mask[y*w+x] != 0 }, r)
}

// Components labels the 8-connected non-zero regions of a w×h mask (engine.LabelMask, the
// labelling the engine uses for defects) and returns, per region in raster order of its first
// pixel, its exact polygon (see MaskPolygon) and pixel count; regions smaller than minPixels are
// dropped.
func Components(mask []uint8, w, h int, minPixels int) ([]geom.Polygon, []int) {
	spans, n := engine.LabelMask(nil, &engine.Mask{W: w, H: h, Pix: mask})
	if n == 0 {
		return nil, nil
	}
	size := make([]int, n)
	box := make([]geom.Rect, n)
	labels := make([]int32, w*h) // component + 1 per pixel
	for _, s := range spans {
		r := geom.Rect{X0: int(s.X0), Y0: int(s.Y), X1: int(s.X1), Y1: int(s.Y) + 1}
		if size[s.Comp] == 0 {
			box[s.Comp] = r
		} else {
			box[s.Comp] = box[s.Comp].Union(r)
		}
		size[s.Comp] += int(s.X1 - s.X0)
		row := labels[int(s.Y)*w : (int(s.Y)+1)*w]
		for x := s.X0; x < s.X1; x++ {
			row[x] = s.Comp + 1
		}
	}
	var polys []geom.Polygon
	var sizes []int
	for c := range n {
		if size[c] < minPixels {
			continue
		}
		id := int32(c + 1)
		polys = append(polys, tracePolygon(func(x, y int) bool { return labels[y*w+x] == id }, box[c]))
		sizes = append(sizes, size[c])
	}
	return polys, sizes
}

// Directions of pixel edges: east, south, west, north (y grows downwards).
var dirX, dirY = [4]int{1, 0, -1, 0}, [4]int{0, 1, 0, -1}

// tracePolygon traces every boundary loop of the pixels inside r for which in is true and
// joins them into one ring.
func tracePolygon(in func(x, y int) bool, r geom.Rect) geom.Polygon {
	if r.Empty() {
		return nil
	}
	W, H := r.Dx(), r.Dy()
	vw := W + 1
	out := make([]uint8, vw*(H+1)) // bit d: an edge leaves this corner in direction d
	inside := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < W && y < H && in(r.X0+x, r.Y0+y)
	}
	any := false
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			if !inside(x, y) {
				continue
			}
			any = true
			if !inside(x, y-1) {
				out[y*vw+x] |= 1 << 0 // top side, going east
			}
			if !inside(x+1, y) {
				out[y*vw+x+1] |= 1 << 1 // right side, going south
			}
			if !inside(x, y+1) {
				out[(y+1)*vw+x+1] |= 1 << 2 // bottom side, going west
			}
			if !inside(x-1, y) {
				out[(y+1)*vw+x] |= 1 << 3 // left side, going north
			}
		}
	}
	if !any {
		return nil
	}
	var loops [][]geom.Point
	for v0, bits := range out {
		for bits != 0 {
			loops = append(loops, traceLoop(out, vw, v0, r))
			bits = out[v0]
		}
	}
	ring := append([]geom.Point(nil), loops[0]...)
	home := loops[0][0]
	for _, l := range loops[1:] {
		s := l[0]
		bridge := []geom.Point{home, {X: s.X, Y: home.Y}, s}
		ring = append(ring, bridge...)
		ring = append(ring, l[1:]...)
		ring = append(ring, s, geom.Point{X: s.X, Y: home.Y}, home)
	}
	return dedupe(ring)
}

// traceLoop follows unused edges from corner v0 back to it, clearing them, and returns the
// loop's corners without collinear ones, starting at v0 (in image coordinates). v0 is the
// first corner in raster order with an unused edge, so it is a turn, not a straight run.
func traceLoop(out []uint8, vw, v0 int, r geom.Rect) []geom.Point {
	var pts []geom.Point
	v := v0
	prev := -1
	for {
		bits := out[v]
		d := -1
		if prev >= 0 {
			for _, c := range [3]int{(prev + 1) % 4, prev, (prev + 3) % 4} { // right, straight, left
				if bits&(1<<c) != 0 {
					d = c
					break
				}
			}
		}
		if d < 0 {
			for c := 0; c < 4; c++ {
				if bits&(1<<c) != 0 {
					d = c
					break
				}
			}
		}
		if d < 0 { // cannot happen: in-degree equals out-degree at every corner
			break
		}
		if d != prev {
			pts = append(pts, geom.Point{X: float64(r.X0 + v%vw), Y: float64(r.Y0 + v/vw)})
		}
		out[v] &^= 1 << d
		v += dirX[d] + dirY[d]*vw
		prev = d
		if v == v0 {
			break
		}
	}
	return pts
}

// dedupe drops consecutive repeated points.
func dedupe(p []geom.Point) geom.Polygon {
	out := make(geom.Polygon, 0, len(p))
	for _, q := range p {
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	for len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out
}
