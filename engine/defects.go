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

// Span is a horizontal stretch [X0, X1) of set pixels on row Y and the 8-connected component
// it belongs to, numbered 0..n-1 in raster order of each component's first pixel.
type Span struct{ Y, X0, X1, Comp int32 }

// LabelMap groups the pixels of m with score ≥ threshold — the pixels FindDefects keeps —
// into 8-connected components, with no minimum area. It returns their spans in raster order,
// appended to dst[:0] (pass the previous result to reuse its storage), and the component count.
func LabelMap(dst []Span, m *Map, threshold float32) ([]Span, int) {
	return spansOf(dst, runsOfMap(m, threshold))
}

// LabelMask is LabelMap for the set pixels of a mask, grouped as Regions groups them.
func LabelMask(dst []Span, m *Mask) ([]Span, int) {
	return spansOf(dst, runsOfMask(m))
}

// spansOf labels runs and copies them out as spans.
func spansOf(dst []Span, runs []run) ([]Span, int) {
	n := label(runs)
	dst = slices.Grow(dst[:0], len(runs))
	for _, r := range runs {
		dst = append(dst, Span{Y: r.y, X0: r.x0, X1: r.x1, Comp: r.comp})
	}
	return dst, n
}

// FindDefects thresholds the score map (≥ threshold), groups pixels into 8-connected
// components, drops those under minArea pixels and returns the rest with their outline,
// sorted by Peak (highest first; ties in raster order of the first pixel).
func FindDefects(score *Map, threshold float32, minArea int) []Defect {
	runs := runsOfMap(score, threshold)
	in := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < score.W && y < score.H && score.V[y*score.W+x] >= threshold
	}
	out := components(runs, label(runs), minArea, in, func(d *Defect, r run) float64 {
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
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < m.W && y < m.H && m.Pix[y*m.W+x] != 0 }
	return components(runs, label(runs), minArea, in, func(d *Defect, r run) float64 {
		d.Peak = 1
		return float64(r.x1 - r.x0)
	})
}

// components builds the defects of n labelled components with at least minArea pixels, in
// raster order; in reports the pixels above threshold, add updates Peak with a run's scores
// and returns their sum (for Mean).
func components(runs []run, n, minArea int, in func(x, y int) bool, add func(d *Defect, r run) float64) []Defect {
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
	nruns := make([]int, len(out))
	for _, r := range runs {
		if k := index[r.comp]; k >= 0 {
			nruns[k]++
		}
	}
	compRuns := make([][]run, len(out))
	for k, n := range nruns {
		compRuns[k] = make([]run, 0, n)
	}
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
		out[k].Polygon = outline(compRuns[k], out[k].Box, in, OutlineTolerance)
	}
	return out
}

// outline returns the outline of one component given its runs (in raster order), bounding
// box and the foreground test of the whole map: the outer boundary, traced along pixel edges
// with 8-connectivity (every foreground pixel 8-adjacent to the component belongs to it),
// followed by the boundary of every hole (traced with 4-connectivity and reversed), each
// joined to the outer ring's first corner by a bridge walked there and back. A bridge
// toggles the even-odd rule twice, so geom.Fill of the unsimplified outline (tol 0) gives
// exactly the component's pixels, and Polygon.Area gives its pixel count. Each ring is
// simplified with tolerance tol before joining.
func outline(rs []run, box geom.Rect, in func(x, y int) bool, tol float64) geom.Polygon {
	first := rs[0]
	outer := Simplify(traceRing(in, int(first.x0), int(first.y), true), tol)
	holes := holeRings(rs, box, tol)
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

// holeRings finds the holes of a component — the 4-connected groups of the gaps between
// its runs that do not reach the bounding box's border — and returns their boundaries,
// reversed (counter-clockwise on screen), simplified with tolerance tol, in raster order of
// their first pixel. It works on runs, not pixels, so a large component costs about as much
// as its runs.
func holeRings(rs []run, box geom.Rect, tol float64) []geom.Polygon {
	type gap struct {
		y, x0, x1 int
		out       bool // touches the box border, so belongs to the outside
	}
	var gaps []gap
	rowStart := make([]int, 0, box.Dy()+1)
	k := 0
	for y := box.Y0; y < box.Y1; y++ {
		rowStart = append(rowStart, len(gaps))
		edge := y == box.Y0 || y == box.Y1-1
		x := box.X0
		for ; k < len(rs) && int(rs[k].y) == y; k++ {
			if x0 := int(rs[k].x0); x0 > x {
				gaps = append(gaps, gap{y, x, x0, edge || x == box.X0})
			}
			x = int(rs[k].x1)
		}
		if x < box.X1 {
			gaps = append(gaps, gap{y, x, box.X1, true})
		}
	}
	rowStart = append(rowStart, len(gaps))
	parent := make([]int32, len(gaps))
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
	for r := 0; r+1 < len(rowStart)-1; r++ {
		a, aEnd := rowStart[r], rowStart[r+1]
		b, bEnd := rowStart[r+1], rowStart[r+2]
		for a < aEnd && b < bEnd {
			if gaps[a].x0 < gaps[b].x1 && gaps[b].x0 < gaps[a].x1 { // 4-adjacent
				ra, rb := find(int32(a)), find(int32(b))
				if ra != rb {
					parent[max(ra, rb)] = min(ra, rb)
				}
			}
			if gaps[a].x1 < gaps[b].x1 {
				a++
			} else {
				b++
			}
		}
	}
	out := make([]bool, len(gaps))
	for i, g := range gaps {
		if g.out {
			out[find(int32(i))] = true
		}
	}
	// Collect each hole's gaps; roots are the group's first gap in raster order.
	var order []int32
	members := map[int32][]int32{}
	for i := range gaps {
		r := find(int32(i))
		if out[r] {
			continue
		}
		if r == int32(i) {
			order = append(order, r)
		}
		members[r] = append(members[r], int32(i))
	}
	var rings []geom.Polygon
	for _, r := range order {
		var hb geom.Rect
		for _, i := range members[r] {
			g := gaps[i]
			hb = hb.Union(geom.Rect{X0: g.x0, Y0: g.y, X1: g.x1, Y1: g.y + 1})
		}
		bw, bh := hb.Dx(), hb.Dy()
		grid := make([]bool, bw*bh)
		for _, i := range members[r] {
			g := gaps[i]
			row := grid[(g.y-hb.Y0)*bw:]
			for x := g.x0; x < g.x1; x++ {
				row[x-hb.X0] = true
			}
		}
		inHole := func(x, y int) bool {
			x, y = x-hb.X0, y-hb.Y0
			return x >= 0 && y >= 0 && x < bw && y < bh && grid[y*bw+x]
		}
		g0 := gaps[r]
		h := traceRing(inHole, g0.x0, g0.y, false)
		slices.Reverse(h)
		rings = append(rings, Simplify(h, tol))
	}
	return rings
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
		if d := (q.X-p[0].X)*(q.X-p[0].X) + (q.Y-p[0].Y)*(q.Y-p[0].Y); d > fd {
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
		l := math.Sqrt(vx*vx + vy*vy)
		// Compare |cross| with tol·l instead of dividing every distance by l.
		best, bd := -1, tol*l
		for i := i0 + 1; i < i1; i++ {
			q := pts[i]
			var d float64
			if l == 0 {
				d = math.Sqrt((q.X-p0.X)*(q.X-p0.X) + (q.Y-p0.Y)*(q.Y-p0.Y))
				if d > tol && d > bd {
					best, bd = i, d
				}
				continue
			}
			d = math.Abs(vx*(q.Y-p0.Y) - vy*(q.X-p0.X))
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
