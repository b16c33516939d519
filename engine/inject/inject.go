// Package inject makes defect-injected copies of real normal board photos, deterministic by seed:
// each copy comes with its twin (the original) and the exact polygon of every change, for the
// five SIPCBA classes. Every change is confined to its polygon: pixels whose centre lies outside
// all polygons are identical to the twin, so the mask (the polygons' fill) is exact.
//
// The photo is first cut into square blocks; blocks whose colour differs from the border
// (background) colour or that have texture are "board", the most textured board blocks are
// "components", the least textured "plain" and the brightest "pads". Defects are built from them:
//
//   - extra_component: a component crop pasted onto plain board;
//   - missing_component: a component covered by a harmonic (Laplace) interpolation of its
//     surroundings plus a pattern-free grain as strong as the plain board's;
//   - solder_bridge: a shaded solder-coloured capsule between two nearby bright blocks;
//   - foreign_object_debris: a thin fibre (a thickened Bézier curve) or an irregular blob;
//   - misalignment: a component crop shifted and possibly rotated, its old place filled.
package inject

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// Classes are the classes Inject can make, in the order Build cycles through them.
var Classes = []sipcba.Class{sipcba.ExtraComponent, sipcba.MissingComponent, sipcba.SolderBridge,
	sipcba.ForeignObject, sipcba.Misalignment}

// ErrPlace reports a photo on which a defect could not be placed (too small or featureless).
var ErrPlace = errors.New("cannot place defect")

// RGBA returns a copy of img as *image.RGBA with its origin at (0, 0).
func RGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
	return m
}

// Inject returns a copy of twin (which it does not change) with one defect of each class in
// classes, placed without overlap, and the defects with ids 1, 2, …. The same twin, classes and
// rng state give the same result.
func Inject(twin *image.RGBA, classes []sipcba.Class, rng *rand.Rand) (*image.RGBA, []sipcba.Defect, error) {
	w, h := twin.Rect.Dx(), twin.Rect.Dy()
	if w < 64 || h < 64 {
		return nil, nil, fmt.Errorf("%w: image %dx%d is smaller than 64x64", ErrPlace, w, h)
	}
	a := analyse(twin)
	cur := RGBA(twin)
	var defects []sipcba.Defect
	var taken []geom.Rect
	for _, c := range classes {
		var placed bool
		for try := 0; try < 40 && !placed; try++ {
			mod := RGBA(cur)
			poly, ok := a.make(c, mod, rng)
			if !ok {
				continue
			}
			bounds := poly.Bounds()
			if overlaps(bounds, taken) {
				continue
			}
			mask := make([]uint8, w*h)
			geom.Fill(mask, w, h, poly, 1)
			in, changed := 0, 0
			for i, v := range mask {
				if v == 0 {
					continue
				}
				in++
				if rgbDiff(mod.Pix[4*i:4*i+4], cur.Pix[4*i:4*i+4]) > 24 {
					changed++
				}
			}
			if in < 16 || changed*5 < in { // too small or hardly visible: place it elsewhere
				continue
			}
			for i, v := range mask { // keep only the polygon's pixels
				if v != 0 {
					copy(cur.Pix[4*i:4*i+4], mod.Pix[4*i:4*i+4])
				}
			}
			taken = append(taken, bounds)
			defects = append(defects, sipcba.Defect{ID: len(defects) + 1, Class: c, Polygon: poly})
			placed = true
		}
		if !placed {
			return nil, nil, fmt.Errorf("%w: no place for %s after 40 tries", ErrPlace, c)
		}
	}
	return cur, defects, nil
}

func overlaps(r geom.Rect, taken []geom.Rect) bool {
	g := geom.Rect{X0: r.X0 - 4, Y0: r.Y0 - 4, X1: r.X1 + 4, Y1: r.Y1 + 4}
	for _, t := range taken {
		if !g.Intersect(t).Empty() {
			return true
		}
	}
	return false
}

func rgbDiff(a, b []uint8) int {
	d := 0
	for k := 0; k < 3; k++ {
		d += abs(int(a[k]) - int(b[k]))
	}
	return d
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// block is the summary of one square block of the photo.
type block struct {
	x, y  int // top-left pixel
	mean  [3]float64
	std   float64 // luminance standard deviation
	lum   float64
	board bool
}

// analysis holds the block grid of one photo.
type analysis struct {
	img        *image.RGBA
	w, h, size int
	blocks     []block
	components []int // indices of board blocks, most textured first
	plain      []int // least textured board blocks
	pads       []int // brightest board blocks
	board      []int
}

func analyse(img *image.RGBA) *analysis {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	size := max(8, min(w, h)/28)
	a := &analysis{img: img, w: w, h: h, size: size}
	for by := size; by+2*size <= h; by += size { // a one-block margin all around
		for bx := size; bx+2*size <= w; bx += size {
			var s [3]float64
			var sl, sl2 float64
			for y := by; y < by+size; y++ {
				row := img.Pix[img.PixOffset(bx, y):img.PixOffset(bx+size, y)]
				for i := 0; i < len(row); i += 4 {
					r, g, b := float64(row[i]), float64(row[i+1]), float64(row[i+2])
					s[0], s[1], s[2] = s[0]+r, s[1]+g, s[2]+b
					l := 0.299*r + 0.587*g + 0.114*b
					sl += l
					sl2 += l * l
				}
			}
			n := float64(size * size)
			m := sl / n
			a.blocks = append(a.blocks, block{x: bx, y: by, mean: [3]float64{s[0] / n, s[1] / n, s[2] / n},
				lum: m, std: math.Sqrt(math.Max(0, sl2/n-m*m))})
		}
	}
	gw := 0
	for gw < len(a.blocks) && a.blocks[gw].y == size {
		gw++
	}
	gh := len(a.blocks) / max(gw, 1)
	// Background: the median colour of the outermost blocks. A block differs from it by
	// chromaticity (shadows keep the background's) or by a large change of brightness.
	var border [][3]float64
	for _, b := range a.blocks {
		if b.x == size || b.y == size || b.x+3*size > w || b.y+3*size > h {
			border = append(border, b.mean)
		}
	}
	bg := medianColour(border)
	bgc, bgl := chroma(bg)
	differs := make([]bool, len(a.blocks))
	for i, b := range a.blocks {
		c, l := chroma(b.mean)
		differs[i] = math.Abs(c[0]-bgc[0])+math.Abs(c[1]-bgc[1]) > 0.06 || math.Abs(l-bgl) > 60
	}
	board := largestRegion(differs, gw, gh)
	n := 0
	for _, v := range board {
		if v {
			n++
		}
	}
	if n < len(a.blocks)/10 { // no distinct board: the whole photo is board
		for i := range board {
			board[i] = true
		}
	}
	for i := range a.blocks {
		a.blocks[i].board = board[i]
		if board[i] {
			a.board = append(a.board, i)
		}
	}
	interior := func(i int) bool {
		x, y := i%gw, i/gw
		return x > 0 && y > 0 && x < gw-1 && y < gh-1 && board[i-1] && board[i+1] && board[i-gw] && board[i+gw]
	}
	// Plain board: interior blocks of the board's dominant colour with little texture.
	var boardCols [][3]float64
	for _, i := range a.board {
		boardCols = append(boardCols, a.blocks[i].mean)
	}
	pcb := medianColour(boardCols)
	var plainCand []int
	for _, i := range a.board {
		m := a.blocks[i].mean
		if interior(i) && math.Abs(m[0]-pcb[0])+math.Abs(m[1]-pcb[1])+math.Abs(m[2]-pcb[2]) < 60 {
			plainCand = append(plainCand, i)
		}
	}
	if len(plainCand) == 0 {
		plainCand = a.board
	}
	sort.SliceStable(plainCand, func(i, j int) bool { return a.blocks[plainCand[i]].std < a.blocks[plainCand[j]].std })
	a.plain = plainCand[:max(1, len(plainCand)/3)]
	var inner []int
	for _, i := range a.board {
		if interior(i) {
			inner = append(inner, i)
		}
	}
	if len(inner) == 0 {
		inner = a.board
	}
	byStd := append([]int(nil), inner...)
	sort.SliceStable(byStd, func(i, j int) bool { return a.blocks[byStd[i]].std > a.blocks[byStd[j]].std })
	a.components = byStd[:max(1, len(byStd)/4)]
	byLum := append([]int(nil), a.board...)
	sort.SliceStable(byLum, func(i, j int) bool { return a.blocks[byLum[i]].lum > a.blocks[byLum[j]].lum })
	a.pads = byLum[:max(1, len(byLum)/10)]
	return a
}

// chroma returns the chromaticity (r, g share) and luminance of a colour.
func chroma(c [3]float64) ([2]float64, float64) {
	s := c[0] + c[1] + c[2] + 1
	return [2]float64{c[0] / s, c[1] / s}, 0.299*c[0] + 0.587*c[1] + 0.114*c[2]
}

// largestRegion keeps the largest 8-connected region of set cells in a gw×gh grid and fills
// its holes (unset cells not 4-connected to the grid's edge through unset cells).
func largestRegion(set []bool, gw, gh int) []bool {
	label := make([]int, len(set))
	best, bestN := 0, 0
	for s := range set {
		if !set[s] || label[s] != 0 {
			continue
		}
		id := s + 1
		label[s] = id
		stack := []int{s}
		n := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%gw, i/gw
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx >= 0 && ny >= 0 && nx < gw && ny < gh && set[ny*gw+nx] && label[ny*gw+nx] == 0 {
						label[ny*gw+nx] = id
						stack = append(stack, ny*gw+nx)
					}
				}
			}
		}
		if n > bestN {
			best, bestN = id, n
		}
	}
	out := make([]bool, len(set))
	outside := make([]bool, len(set))
	var stack []int
	for i := range set {
		x, y := i%gw, i/gw
		if label[i] != best && (x == 0 || y == 0 || x == gw-1 || y == gh-1) {
			outside[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%gw, i/gw
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			nx, ny := x+d[0], y+d[1]
			if nx >= 0 && ny >= 0 && nx < gw && ny < gh && label[ny*gw+nx] != best && !outside[ny*gw+nx] {
				outside[ny*gw+nx] = true
				stack = append(stack, ny*gw+nx)
			}
		}
	}
	for i := range out {
		out[i] = best != 0 && !outside[i]
	}
	return out
}

func medianColour(cs [][3]float64) [3]float64 {
	var out [3]float64
	if len(cs) == 0 {
		return out
	}
	for k := 0; k < 3; k++ {
		v := make([]float64, len(cs))
		for i, c := range cs {
			v[i] = c[k]
		}
		sort.Float64s(v)
		out[k] = v[len(v)/2]
	}
	return out
}

// make draws one defect of class c into img (a copy of the current photo) and returns its
// polygon; ok is false when this try found no place.
func (a *analysis) make(c sipcba.Class, img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	switch c {
	case sipcba.ExtraComponent:
		return a.extra(img, rng)
	case sipcba.MissingComponent:
		return a.missing(img, rng)
	case sipcba.SolderBridge:
		return a.bridge(img, rng)
	case sipcba.ForeignObject:
		if rng.IntN(2) == 0 {
			return a.fibre(img, rng)
		}
		return a.blob(img, rng)
	case sipcba.Misalignment:
		return a.misalign(img, rng)
	}
	return nil, false
}

func pick(rng *rand.Rand, idx []int) int { return idx[rng.IntN(len(idx))] }

// window returns an s×s-block rectangle around block i, inside the one-block margin.
func (a *analysis) window(i, s int) (geom.Rect, bool) {
	b := a.blocks[i]
	x0 := b.x - (s-1)/2*a.size
	y0 := b.y - (s-1)/2*a.size
	r := geom.Rect{X0: x0, Y0: y0, X1: x0 + s*a.size, Y1: y0 + s*a.size}
	return r, r.X0 >= a.size && r.Y0 >= a.size && r.X1 <= a.w-a.size && r.Y1 <= a.h-a.size
}

func rectPoly(r geom.Rect) geom.Polygon {
	return geom.Polygon{{X: float64(r.X0), Y: float64(r.Y0)}, {X: float64(r.X1), Y: float64(r.Y0)},
		{X: float64(r.X1), Y: float64(r.Y1)}, {X: float64(r.X0), Y: float64(r.Y1)}}
}

func (a *analysis) extra(img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	s := 1 + rng.IntN(2)
	src, ok1 := a.window(pick(rng, a.components), s)
	dst, ok2 := a.window(pick(rng, a.plain), s)
	if !ok1 || !ok2 || !src.Intersect(dst).Empty() {
		return nil, false
	}
	rot := rng.IntN(4) // quarter turns
	n := src.Dx()
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			sx, sy := x, y
			for k := 0; k < rot; k++ {
				sx, sy = sy, n-1-sx
			}
			copy(img.Pix[img.PixOffset(dst.X0+x, dst.Y0+y):][:4], a.img.Pix[a.img.PixOffset(src.X0+sx, src.Y0+sy):][:4])
		}
	}
	return rectPoly(dst), true
}

// fill covers r by interpolating the pixels around it, plus the texture of a plain patch.
func (a *analysis) fill(img *image.RGBA, r geom.Rect, rng *rand.Rand) {
	// Texture: the smoothest of a few plain blocks, mirrored (no seams) over the hole.
	best := pick(rng, a.plain)
	for k := 0; k < 7; k++ {
		if c := pick(rng, a.plain); a.blocks[c].std < a.blocks[best].std {
			best = c
		}
	}
	tex, ok := a.window(best, 1)
	w, h := r.Dx(), r.Dy()
	// Grain strength: the spread of the tile minus its 5×5 local mean (lines and gradients of
	// the tile do not count).
	var grain []float64
	n := 0
	if ok {
		n = tex.Dx()
		grain = make([]float64, n*n*3)
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				for k := 0; k < 3; k++ {
					var s, c float64
					for dy := -2; dy <= 2; dy++ {
						for dx := -2; dx <= 2; dx++ {
							xx, yy := x+dx, y+dy
							if xx >= 0 && yy >= 0 && xx < n && yy < n {
								s += float64(a.img.Pix[a.img.PixOffset(tex.X0+xx, tex.Y0+yy)+k])
								c++
							}
						}
					}
					grain[(y*n+x)*3+k] = float64(a.img.Pix[a.img.PixOffset(tex.X0+x, tex.Y0+y)+k]) - s/c
				}
			}
		}
	}
	var sigma [3]float64
	for i, g := range grain {
		sigma[i%3] += g * g
	}
	for k := range sigma {
		sigma[k] = math.Sqrt(sigma[k] / float64(max(1, len(grain)/3)))
	}
	seed := rng.Uint64()
	base := harmonic(a.img, r)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(r.X0+x, r.Y0+y)
			for k := 0; k < 3; k++ {
				v := base[k][y*w+x]
				if ok { // grain of the plain board's strength, no pattern to repeat
					u := float64(hash(seed, uint64(x*3+k), uint64(y))%2001)/1000 - 1
					v += math.Max(-15, math.Min(15, 1.7*sigma[k]*u))
				}
				img.Pix[o+k] = clamp8(v)
			}
			img.Pix[o+3] = 255
		}
	}
}

// harmonic returns, per channel, the smooth (harmonic) interpolation of the pixels of src
// around r over r's inside: bilinear from the border, then successive over-relaxation of
// Laplace's equation, so that no stripes of the border run across the hole.
func harmonic(src *image.RGBA, r geom.Rect) [3][]float64 {
	w, h := r.Dx(), r.Dy()
	W := w + 2 // with the one-pixel border
	var out [3][]float64
	for k := 0; k < 3; k++ {
		g := make([]float64, W*(h+2))
		at := func(x, y int) float64 { return float64(src.Pix[src.PixOffset(r.X0-1+x, r.Y0-1+y)+k]) }
		for x := 0; x < W; x++ {
			g[x], g[(h+1)*W+x] = at(x, 0), at(x, h+1)
		}
		for y := 0; y < h+2; y++ {
			g[y*W], g[y*W+W-1] = at(0, y), at(W-1, y)
		}
		for y := 1; y <= h; y++ {
			ty := float64(y) / float64(h+1)
			for x := 1; x <= w; x++ {
				tx := float64(x) / float64(w+1)
				g[y*W+x] = ((1-tx)*g[y*W]+tx*g[y*W+W-1])/2 + ((1-ty)*g[x]+ty*g[(h+1)*W+x])/2
			}
		}
		const omega = 1.9
		for it := 0; it < 2*max(w, h); it++ {
			for y := 1; y <= h; y++ {
				for x := 1; x <= w; x++ {
					i := y*W + x
					g[i] += omega * ((g[i-1]+g[i+1]+g[i-W]+g[i+W])/4 - g[i])
				}
			}
		}
		out[k] = make([]float64, w*h)
		for y := 0; y < h; y++ {
			copy(out[k][y*w:(y+1)*w], g[(y+1)*W+1:(y+1)*W+1+w])
		}
	}
	return out
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

func (a *analysis) missing(img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	r, ok := a.window(pick(rng, a.components), 1+rng.IntN(2))
	if !ok {
		return nil, false
	}
	a.fill(img, r, rng)
	return rectPoly(r), true
}

// paint sets the pixels whose centre lies in poly to colour(x, y) blended with alpha.
func paint(img *image.RGBA, poly geom.Polygon, alpha float64, colour func(x, y float64) [3]float64) {
	b := poly.Bounds().Intersect(geom.Rect{X1: img.Rect.Dx(), Y1: img.Rect.Dy()})
	if b.Empty() {
		return
	}
	m := make([]uint8, b.Dx()*b.Dy())
	geom.Fill(m, b.Dx(), b.Dy(), poly.Translate(-float64(b.X0), -float64(b.Y0)), 1)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if m[y*b.Dx()+x] == 0 {
				continue
			}
			c := colour(float64(b.X0+x)+0.5, float64(b.Y0+y)+0.5)
			o := img.PixOffset(b.X0+x, b.Y0+y)
			for k := 0; k < 3; k++ {
				img.Pix[o+k] = clamp8(alpha*c[k] + (1-alpha)*float64(img.Pix[o+k]))
			}
		}
	}
}

// capsule is the polygon of a stadium of radius r around the segment p–q.
func capsule(p, q geom.Point, r float64) geom.Polygon {
	ang := math.Atan2(q.Y-p.Y, q.X-p.X)
	var out geom.Polygon
	const n = 8
	for i := 0; i <= n; i++ { // half circle around q
		t := ang - math.Pi/2 + math.Pi*float64(i)/n
		out = append(out, geom.Point{X: q.X + r*math.Cos(t), Y: q.Y + r*math.Sin(t)})
	}
	for i := 0; i <= n; i++ { // half circle around p
		t := ang + math.Pi/2 + math.Pi*float64(i)/n
		out = append(out, geom.Point{X: p.X + r*math.Cos(t), Y: p.Y + r*math.Sin(t)})
	}
	return out
}

func (a *analysis) centre(i int, rng *rand.Rand) geom.Point {
	b := a.blocks[i]
	s := float64(a.size)
	return geom.Point{X: float64(b.x) + s*(0.25+0.5*rng.Float64()), Y: float64(b.y) + s*(0.25+0.5*rng.Float64())}
}

func (a *analysis) inside(p geom.Polygon) bool {
	b := p.Bounds()
	return b.X0 >= a.size && b.Y0 >= a.size && b.X1 <= a.w-a.size && b.Y1 <= a.h-a.size
}

func (a *analysis) bridge(img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	i := pick(rng, a.pads)
	p := a.centre(i, rng)
	s := float64(a.size)
	var near []int
	for _, j := range a.pads {
		d := math.Hypot(float64(a.blocks[j].x-a.blocks[i].x), float64(a.blocks[j].y-a.blocks[i].y))
		if d >= s && d <= 3*s {
			near = append(near, j)
		}
	}
	var q geom.Point
	if len(near) > 0 {
		q = a.centre(pick(rng, near), rng)
	} else {
		t := rng.Float64() * 2 * math.Pi
		q = geom.Point{X: p.X + 1.5*s*math.Cos(t), Y: p.Y + 1.5*s*math.Sin(t)}
	}
	r := s * (0.2 + 0.15*rng.Float64())
	poly := capsule(p, q, r)
	if !a.inside(poly) {
		return nil, false
	}
	base := 175 + 40*rng.Float64()
	dx, dy := q.X-p.X, q.Y-p.Y
	l2 := dx*dx + dy*dy
	paint(img, poly, 1, func(x, y float64) [3]float64 {
		t := math.Max(0, math.Min(1, ((x-p.X)*dx+(y-p.Y)*dy)/l2))
		d := math.Hypot(x-(p.X+t*dx), y-(p.Y+t*dy)) / r // 0 on the axis, 1 at the rim
		v := base * (1.1 - 0.45*d*d)
		return [3]float64{v, v, v * 1.03}
	})
	return poly, true
}

func (a *analysis) fibre(img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	s := float64(a.size)
	p0 := a.centre(pick(rng, a.board), rng)
	ang := rng.Float64() * 2 * math.Pi
	L := s * (2 + 4*rng.Float64())
	p3 := geom.Point{X: p0.X + L*math.Cos(ang), Y: p0.Y + L*math.Sin(ang)}
	bend := func() geom.Point {
		return geom.Point{X: p0.X + (p3.X-p0.X)*rng.Float64() + s*(rng.Float64()-0.5)*2,
			Y: p0.Y + (p3.Y-p0.Y)*rng.Float64() + s*(rng.Float64()-0.5)*2}
	}
	p1, p2 := bend(), bend()
	half := math.Max(1.2, s*(0.05+0.05*rng.Float64()))
	const n = 32
	pts := make([]geom.Point, n+1)
	for i := range pts {
		t := float64(i) / n
		u := 1 - t
		pts[i] = geom.Point{X: u*u*u*p0.X + 3*u*u*t*p1.X + 3*u*t*t*p2.X + t*t*t*p3.X,
			Y: u*u*u*p0.Y + 3*u*u*t*p1.Y + 3*u*t*t*p2.Y + t*t*t*p3.Y}
	}
	left := make(geom.Polygon, 0, 2*len(pts))
	var right geom.Polygon
	for i, p := range pts {
		a0, a1 := pts[max(0, i-1)], pts[min(n, i+1)]
		dx, dy := a1.X-a0.X, a1.Y-a0.Y
		l := math.Hypot(dx, dy)
		if l == 0 {
			return nil, false
		}
		nx, ny := -dy/l*half, dx/l*half
		left = append(left, geom.Point{X: p.X + nx, Y: p.Y + ny})
		right = append(right, geom.Point{X: p.X - nx, Y: p.Y - ny})
	}
	for i := len(right) - 1; i >= 0; i-- {
		left = append(left, right[i])
	}
	if !a.inside(left) {
		return nil, false
	}
	var c [3]float64
	if rng.IntN(2) == 0 {
		c = [3]float64{30 + 20*rng.Float64(), 30, 35} // dark fibre
	} else {
		c = [3]float64{225, 220 - 20*rng.Float64(), 200} // light fibre
	}
	paint(img, left, 0.9, func(x, y float64) [3]float64 { return c })
	return left, true
}

func (a *analysis) blob(img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	s := float64(a.size)
	c := a.centre(pick(rng, a.board), rng)
	R := s * (0.3 + 0.6*rng.Float64())
	const n = 14
	poly := make(geom.Polygon, n)
	for i := range poly {
		t := 2 * math.Pi * float64(i) / n
		r := R * (0.55 + 0.45*rng.Float64())
		poly[i] = geom.Point{X: c.X + r*math.Cos(t), Y: c.Y + r*math.Sin(t)}
	}
	if !a.inside(poly) {
		return nil, false
	}
	base := [3]float64{90 + 80*rng.Float64(), 70 + 50*rng.Float64(), 40 + 40*rng.Float64()}
	seed := rng.Uint64()
	paint(img, poly, 1, func(x, y float64) [3]float64 {
		n := float64(hash(seed, uint64(x), uint64(y))%41) - 20 // grain
		return [3]float64{base[0] + n, base[1] + n, base[2] + n}
	})
	return poly, true
}

// hash mixes a seed and a pixel position (splitmix64).
func hash(seed, x, y uint64) uint64 {
	z := seed + x*0x9E3779B97F4A7C15 + y*0xC2B2AE3D27D4EB4F
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (a *analysis) misalign(img *image.RGBA, rng *rand.Rand) (geom.Polygon, bool) {
	r, ok := a.window(pick(rng, a.components), 1+rng.IntN(2))
	if !ok {
		return nil, false
	}
	sz := float64(r.Dx())
	sign := func() float64 { return float64(2*rng.IntN(2) - 1) }
	dx := math.Round(sign() * sz * (0.15 + 0.25*rng.Float64()))
	dy := math.Round(sign() * sz * (0.1 + 0.25*rng.Float64()) * float64(rng.IntN(2)))
	theta := 0.0
	if rng.IntN(2) == 0 {
		theta = sign() * (4 + 10*rng.Float64()) * math.Pi / 180
	}
	cx, cy := float64(r.X0+r.X1)/2, float64(r.Y0+r.Y1)/2
	cos, sin := math.Cos(theta), math.Sin(theta)
	var pts []geom.Point
	for _, p := range rectPoly(r) {
		pts = append(pts, p)
		x, y := p.X-cx, p.Y-cy
		pts = append(pts, geom.Point{X: cx + dx + x*cos - y*sin, Y: cy + dy + x*sin + y*cos})
	}
	poly := hull(pts)
	if !a.inside(poly) {
		return nil, false
	}
	a.fill(img, r, rng)
	b := poly.Bounds()
	for y := b.Y0; y < b.Y1; y++ {
		for x := b.X0; x < b.X1; x++ {
			// Inverse map the pixel centre into the original crop.
			px, py := float64(x)+0.5-cx-dx, float64(y)+0.5-cy-dy
			sx, sy := cx+px*cos+py*sin, cy-px*sin+py*cos
			ix, iy := int(math.Floor(sx)), int(math.Floor(sy))
			if ix < r.X0 || iy < r.Y0 || ix >= r.X1 || iy >= r.Y1 {
				continue
			}
			copy(img.Pix[img.PixOffset(x, y):][:4], a.img.Pix[a.img.PixOffset(ix, iy):][:4])
		}
	}
	return poly, true
}

// hull is the convex hull of pts (monotone chain), counter-clockwise in image coordinates.
func hull(pts []geom.Point) geom.Polygon {
	p := append([]geom.Point(nil), pts...)
	sort.Slice(p, func(i, j int) bool { return p[i].X < p[j].X || (p[i].X == p[j].X && p[i].Y < p[j].Y) })
	cross := func(o, a, b geom.Point) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }
	var h []geom.Point
	for _, q := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	lower := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p[i]) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p[i])
	}
	return geom.Polygon(h[:len(h)-1])
}
