package engine

import (
	"math"
	"slices"

	"github.com/hisirdesk/hisir/engine/geom"
)

// OutlineTolerance is the Douglas–Peucker tolerance, in pixels, used to simplify traced
// outlines: corners closer than this to the simplified ring are dropped.
const OutlineTolerance = 0.5

// Mask is a binary image: a pixel is set when Pix[y*W+x] is non-zero.
type Mask struct {
	W, H int
	Pix  []uint8
}

// NewMask returns an empty w×h mask.
func NewMask(w, h int) *Mask { return &Mask{W: w, H: h, Pix: make([]uint8, w*h)} }

// Count is the number of set pixels.
func (m *Mask) Count() int {
	n := 0
	for _, v := range m.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}

// Defect is one connected region of a thresholded score map.
type Defect struct {
	Polygon geom.Polygon // outline through pixel corners, holes cut out by bridges, simplified
	Box     geom.Rect    // bounding box of the region's pixels
	Area    int          // pixels in the region (holes excluded)
	Peak    float32      // highest score in the region
	Mean    float32      // mean score over the region
}

// run is a horizontal stretch [x0,x1) of foreground pixels on row y.
type run struct {
	y, x0, x1 int32
	comp      int32 // component index after labelling
}

// runsOfMap returns the runs of pixels with score ≥ threshold, row by row.
func runsOfMap(m *Map, threshold float32) []run {
	var runs []run
	W := m.W
	for y := 0; y < m.H; y++ {
		row := m.V[y*W : (y+1)*W]
		for x := 0; x < W; {
			if !(row[x] >= threshold) {
				x++
				continue
			}
			x0 := x
			for x < W && row[x] >= threshold {
				x++
			}
			runs = append(runs, run{y: int32(y), x0: int32(x0), x1: int32(x)})
		}
	}
	return runs
}

// runsOfMask returns the runs of set pixels, row by row.
func runsOfMask(m *Mask) []run {
	var runs []run
	W := m.W
	for y := 0; y < m.H; y++ {
		row := m.Pix[y*W : (y+1)*W]
		for x := 0; x < W; {
			if row[x] == 0 {
				x++
				continue
			}
			x0 := x
			for x < W && row[x] != 0 {
				x++
			}
			runs = append(runs, run{y: int32(y), x0: int32(x0), x1: int32(x)})
		}
	}
	return runs
}

// label groups runs (sorted by row, then x) into 8-connected components, numbered in
// raster order of their first pixel, and returns the component count.
func label(runs []run) int {
	parent := make([]int32, len(runs))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// prevLo..prevHi index the runs of the previous row.
	prevLo, prevHi := 0, 0
	for i := 0; i < len(runs); {
		y := runs[i].y
		j := i
		for j < len(runs) && runs[j].y == y {
			j++
		}
		if prevHi > prevLo && runs[prevLo].y != y-1 {
			prevLo = prevHi
		}
		k := prevLo
		for c := i; c < j; c++ {
			cur := runs[c]
			for k < prevHi && runs[k].x1 < cur.x0 { // ends before the diagonal neighbour
				k++
			}
			for q := k; q < prevHi && runs[q].x0 <= cur.x1; q++ {
				a, b := find(int32(c)), find(int32(q))
				if a != b {
					if a < b {
						parent[b] = a
					} else {
						parent[a] = b
					}
				}
			}
		}
		prevLo, prevHi = i, j
		i = j
	}
	n := 0
	ids := make([]int32, len(runs))
	for i := range runs {
		r := find(int32(i))
		if r == int32(i) {
			ids[i] = int32(n)
			n++
		}
		runs[i].comp = ids[r]
	}
	return n
}

// FindDefects thresholds the score map (≥ threshold), groups pixels into 8-connected
// components, drops those under minArea pixels and returns the rest with their outline,
// sorted by Peak (highest first; ties in raster order of the first pixel).
func FindDefects(score *Map, threshold float32, minArea int) []Defect {
	runs := runsOfMap(score, threshold)
	out := components(runs, label(runs), minArea, func(d *Defect, r run) float64 {
		row := score.V[int(r.y)*score.W+int(r.x0) : int(r.y)*score.W+int(r.x1)]
		if d.Area == 0 {
			d.Peak = row[0]
		}
		var s float64
		for _, v := range row {
			d.Peak = max(d.Peak, v)
			s += float64(v)
		}
		return s
	})
	slices.SortStableFunc(out, func(a, b Defect) int {
		switch {
		case a.Peak > b.Peak:
			return -1
		case a.Peak < b.Peak:
			return 1
		}
		return 0
	})
	return out
}

// Regions returns the 8-connected components of a mask of at least minArea pixels as
// defects (Peak and Mean 1), in raster order of their first pixel.
func Regions(m *Mask, minArea int) []Defect {
	runs := runsOfMask(m)
	return components(runs, label(runs), minArea, func(d *Defect, r run) float64 {
		d.Peak = 1
		return float64(r.x1 - r.x0)
	})
}

// components builds the defects of n labelled components with at least minArea pixels, in
// raster order; add updates Peak with a run's scores and returns their sum (for Mean).
func components(runs []run, n, minArea int, add func(d *Defect, r run) float64) []Defect {
	area := make([]int, n)
	for _, r := range runs {
		area[r.comp] += int(r.x1 - r.x0)
	}
	index := make([]int32, n) // component → position in out, −1 when dropped
	var out []Defect
	for c := range area {
		index[c] = -1
		if area[c] >= max(minArea, 1) {
			index[c] = int32(len(out))
			out = append(out, Defect{})
		}
	}
	compRuns := make([][]run, len(out))
	sums := make([]float64, len(out))
	for _, r := range runs {
		k := index[r.comp]
		if k < 0 {
			continue
		}
		d := &out[k]
		sums[k] += add(d, r)
		box := geom.Rect{X0: int(r.x0), Y0: int(r.y), X1: int(r.x1), Y1: int(r.y) + 1}
		d.Box = d.Box.Union(box)
		d.Area += int(r.x1 - r.x0)
		compRuns[k] = append(compRuns[k], r)
	}
	for k := range out {
		out[k].Mean = float32(sums[k] / float64(out[k].Area))
		out[k].Polygon = outline(compRuns[k], out[k].Box, OutlineTolerance)
	}
	return out
}

// outline returns the outline of one component given its runs (in row order) and bounding
// box: the outer boundary, traced along pixel edges with 8-connectivity, followed by the
// boundary of every hole (traced with 4-connectivity and reversed), each joined to the
// outer ring's first corner by a bridge walked there and back. A bridge toggles the
// even-odd rule twice, so geom.Fill of the unsimplified outline (tol 0) gives exactly the
// component's pixels, and Polygon.Area gives its pixel count. Each ring is simplified with
// tolerance tol before joining.
func outline(rs []run, box geom.Rect, tol float64) geom.Polygon {
	// Local grid with a one-pixel border: −1 component, −2 outside, k ≥ 1 hole k, 0 unvisited.
	bw, bh := box.Dx()+2, box.Dy()+2
	lab := make([]int32, bw*bh)
	for _, r := range rs {
		row := (int(r.y)-box.Y0+1)*bw - box.X0 + 1
		for x := int(r.x0); x < int(r.x1); x++ {
			lab[row+x] = -1
		}
	}
	stack := make([]int32, 0, 64)
	fill := func(start int, v int32) {
		lab[start] = v
		stack = append(stack[:0], int32(start))
		for len(stack) > 0 {
			p := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			x, y := p%bw, p/bw
			if x > 0 && lab[p-1] == 0 {
				lab[p-1] = v
				stack = append(stack, int32(p-1))
			}
			if x < bw-1 && lab[p+1] == 0 {
				lab[p+1] = v
				stack = append(stack, int32(p+1))
			}
			if y > 0 && lab[p-bw] == 0 {
				lab[p-bw] = v
				stack = append(stack, int32(p-bw))
			}
			if y < bh-1 && lab[p+bw] == 0 {
				lab[p+bw] = v
				stack = append(stack, int32(p+bw))
			}
		}
	}
	fill(0, -2)
	in := func(v int32) func(x, y int) bool {
		return func(x, y int) bool { return x >= 0 && y >= 0 && x < bw && y < bh && lab[y*bw+x] == v }
	}
	ox, oy := float64(box.X0-1), float64(box.Y0-1)
	first := rs[0]
	outer := Simplify(traceRing(in(-1), int(first.x0)-box.X0+1, int(first.y)-box.Y0+1, true), tol).Translate(ox, oy)
	var holes []geom.Polygon
	next := int32(1)
	for p, v := range lab {
		if v != 0 {
			continue
		}
		fill(p, next)
		h := traceRing(in(next), p%bw, p/bw, false)
		slices.Reverse(h)
		holes = append(holes, Simplify(h, tol).Translate(ox, oy))
		next++
	}
	if len(holes) == 0 {
		return outer
	}
	poly := slices.Clone(outer)
	for _, h := range holes {
		poly = append(poly, outer[0])
		poly = append(poly, h...)
		poly = append(poly, h[0])
	}
	return poly
}

// traceRing follows the boundary of the region holding pixel (x0,y0), which must be its
// first pixel in raster order, along pixel edges with the region on the right, and returns
// the corners, starting at the top-left corner of (x0,y0), clockwise on screen. With conn8,
// diagonally touching pixels belong to the region (8-connectivity); otherwise only
// edge-sharing ones do (4-connectivity).
func traceRing(in func(x, y int) bool, x0, y0 int, conn8 bool) geom.Polygon {
	// Directions E, S, W, N; the pixels ahead-left and ahead-right of a vertex.
	dx := [4]int{1, 0, -1, 0}
	dy := [4]int{0, 1, 0, -1}
	alx := [4]int{0, 0, -1, -1}
	aly := [4]int{-1, 0, 0, -1}
	arx := [4]int{0, -1, -1, 0}
	ary := [4]int{0, 0, -1, -1}
	var poly geom.Polygon
	x, y, d := x0, y0, 0
	for {
		x, y = x+dx[d], y+dy[d]
		al, ar := in(x+alx[d], y+aly[d]), in(x+arx[d], y+ary[d])
		nd := d
		switch {
		case al && (ar || conn8):
			nd = (d + 3) % 4
		case ar:
		default:
			nd = (d + 1) % 4
		}
		if nd != d {
			poly = append(poly, geom.Point{X: float64(x), Y: float64(y)})
		}
		d = nd
		if x == x0 && y == y0 && d == 0 {
			break
		}
	}
	// Put the start corner first.
	if n := len(poly); n > 0 {
		poly = append(poly[n-1:], poly[:n-1]...)
	}
	return poly
}

// Simplify reduces a closed ring with the Douglas–Peucker algorithm: every dropped point
// lies within tol of the kept ring. Rings of 4 points or fewer are returned unchanged.
func Simplify(p geom.Polygon, tol float64) geom.Polygon {
	n := len(p)
	if n <= 4 || tol <= 0 {
		return p
	}
	// Split the ring at point 0 and the point farthest from it.
	far, fd := 0, -1.0
	for i, q := range p {
		if d := math.Hypot(q.X-p[0].X, q.Y-p[0].Y); d > fd {
			far, fd = i, d
		}
	}
	keep := make([]bool, n+1)
	keep[0], keep[far], keep[n] = true, true, true
	ring := append(slices.Clone(p), p[0])
	dp(ring, 0, far, tol, keep)
	dp(ring, far, n, tol, keep)
	out := make(geom.Polygon, 0, n)
	for i := 0; i < n; i++ {
		if keep[i] {
			out = append(out, p[i])
		}
	}
	if len(out) < 3 {
		return p
	}
	return out
}

// dp marks the points of pts[a..b] to keep (iterative Douglas–Peucker).
func dp(pts []geom.Point, a, b int, tol float64, keep []bool) {
	stack := [][2]int{{a, b}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i0, i1 := s[0], s[1]
		if i1-i0 < 2 {
			continue
		}
		p0, p1 := pts[i0], pts[i1]
		vx, vy := p1.X-p0.X, p1.Y-p0.Y
		l := math.Hypot(vx, vy)
		best, bd := -1, tol
		for i := i0 + 1; i < i1; i++ {
			q := pts[i]
			var d float64
			if l == 0 {
				d = math.Hypot(q.X-p0.X, q.Y-p0.Y)
			} else {
				d = math.Abs(vx*(q.Y-p0.Y)-vy*(q.X-p0.X)) / l
			}
			if d > bd {
				best, bd = i, d
			}
		}
		if best >= 0 {
			keep[best] = true
			stack = append(stack, [2]int{i0, best}, [2]int{best, i1})
		}
	}
}
