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
	Polygon geom.Polygon // outer outline through pixel corners, simplified; holes are not cut out
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
// components, drops those under minArea pixels and returns the rest with their traced,
// simplified outline, sorted by Peak (highest first; ties in raster order).
func FindDefects(score *Map, threshold float32, minArea int) []Defect {
	runs := runsOfMap(score, threshold)
	n := label(runs)
	type acc struct {
		box    geom.Rect
		area   int
		peak   float32
		sum    float64
		firstX int
		firstY int
		seen   bool
	}
	accs := make([]acc, n)
	for _, r := range runs {
		a := &accs[r.comp]
		row := score.V[int(r.y)*score.W : int(r.y+1)*score.W]
		box := geom.Rect{X0: int(r.x0), Y0: int(r.y), X1: int(r.x1), Y1: int(r.y) + 1}
		if !a.seen {
			a.seen, a.firstX, a.firstY, a.peak, a.box = true, int(r.x0), int(r.y), row[r.x0], box
		}
		a.box = a.box.Union(box)
		a.area += int(r.x1 - r.x0)
		for _, v := range row[r.x0:r.x1] {
			a.peak = max(a.peak, v)
			a.sum += float64(v)
		}
	}
	fg := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < score.W && y < score.H && score.V[y*score.W+x] >= threshold
	}
	var out []Defect
	for _, a := range accs {
		if a.area < max(minArea, 1) {
			continue
		}
		out = append(out, Defect{
			Polygon: Simplify(traceOutline(fg, a.firstX, a.firstY), OutlineTolerance),
			Box:     a.box,
			Area:    a.area,
			Peak:    a.peak,
			Mean:    float32(a.sum / float64(a.area)),
		})
	}
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
	n := label(runs)
	ds := make([]Defect, n)
	first := make([]bool, n)
	for _, r := range runs {
		d := &ds[r.comp]
		box := geom.Rect{X0: int(r.x0), Y0: int(r.y), X1: int(r.x1), Y1: int(r.y) + 1}
		if !first[r.comp] {
			first[r.comp] = true
			d.Box = box
			d.Polygon = geom.Polygon{{X: float64(r.x0), Y: float64(r.y)}} // start, replaced below
		}
		d.Box = d.Box.Union(box)
		d.Area += int(r.x1 - r.x0)
	}
	fg := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < m.W && y < m.H && m.Pix[y*m.W+x] != 0
	}
	out := ds[:0]
	for _, d := range ds {
		if d.Area < max(minArea, 1) {
			continue
		}
		d.Polygon = Simplify(traceOutline(fg, int(d.Polygon[0].X), int(d.Polygon[0].Y)), OutlineTolerance)
		d.Peak, d.Mean = 1, 1
		out = append(out, d)
	}
	return out
}

// traceOutline follows the outer boundary of the 8-connected region holding pixel (x0,y0),
// which must be its first pixel in raster order, along pixel edges with the region on the
// right. It returns the corners, starting at the top-left corner of (x0,y0), clockwise on
// screen. Diagonally touching pixels stay inside one outline (8-connectivity).
func traceOutline(fg func(x, y int) bool, x0, y0 int) geom.Polygon {
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
		nd := d
		switch {
		case fg(x+alx[d], y+aly[d]):
			nd = (d + 3) % 4
		case fg(x+arx[d], y+ary[d]):
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
