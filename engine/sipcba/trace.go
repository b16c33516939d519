package sipcba

import "github.com/hisirdesk/hisir/engine/geom"

// MaskPolygon returns one polygon whose even-odd fill (geom.Fill) is exactly the non-zero pixels
// of the w×h mask inside r, holes included, or nil when there are none. Its vertices lie on
// pixel corners: every boundary loop is traced along pixel edges and the loops are joined by
// axis-parallel bridges that are walked there and back, so they cancel out under the even-odd
// rule.
func MaskPolygon(mask []uint8, w, h int, r geom.Rect) geom.Polygon {
	r = r.Intersect(geom.Rect{X1: w, Y1: h})
	return tracePolygon(func(x, y int) bool { return mask[y*w+x] != 0 }, r)
}

// Components labels the 8-connected non-zero regions of a w×h mask and returns, per region, its
// exact polygon (see MaskPolygon) and pixel count; regions smaller than minPixels are dropped.
func Components(mask []uint8, w, h int, minPixels int) ([]geom.Polygon, []int) {
	labels := make([]int32, w*h)
	var polys []geom.Polygon
	var sizes []int
	var next int32
	stack := make([]int, 0, 256)
	for start, v := range mask {
		if v == 0 || labels[start] != 0 {
			continue
		}
		next++
		labels[start] = next
		stack = append(stack[:0], start)
		b := geom.Rect{X0: start % w, Y0: start / w, X1: start%w + 1, Y1: start/w + 1}
		n := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%w, i/w
			b = b.Union(geom.Rect{X0: x, Y0: y, X1: x + 1, Y1: y + 1})
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					j := ny*w + nx
					if mask[j] != 0 && labels[j] == 0 {
						labels[j] = next
						stack = append(stack, j)
					}
				}
			}
		}
		if n < minPixels {
			continue
		}
		id := next
		polys = append(polys, tracePolygon(func(x, y int) bool { return labels[y*w+x] == id }, b))
		sizes = append(sizes, n)
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
