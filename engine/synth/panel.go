package synth

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/hisirdesk/hisir/engine/geom"
)

// boardInst is one board on one panel: where it lies and how each part sits on it.
type boardInst struct {
	ox, oy   float64      // panel position of the board origin (mm 0,0)
	cos, sin float64      // board rotation
	jit      [][4]float64 // per part: placement offset x, y (mm), angle, solder joint brightness
}

// layout is one panel before rendering.
type layout struct {
	cfg     Config
	d       *design
	scale   float64 // pixels per millimetre
	blur    float64 // edge softness factor of this panel's optics
	silkOff pose    // silkscreen registration error of this panel
	boards  []boardInst
	look    look
	tex     *texture
}

// layoutPanel places the boards of panel index and draws its camera.
func layoutPanel(cfg Config, d *design, index int) *layout {
	r := newRand(uint64(cfg.Seed), uint64(index)<<8|0x1a)
	cw := float64(cfg.Width) / float64(cfg.Cols)
	ch := float64(cfg.Height) / float64(cfg.Rows)
	s := math.Min(0.9*cw/d.wmm, 0.9*ch/d.hmm)
	L := &layout{cfg: cfg, d: d, scale: s}
	for row := 0; row < cfg.Rows; row++ {
		for col := 0; col < cfg.Cols; col++ {
			th := (r.Float64()*2 - 1) * 0.5 * math.Pi / 180
			cx := (float64(col)+0.5)*cw + (r.Float64()*2-1)*0.012*cw
			cy := (float64(row)+0.5)*ch + (r.Float64()*2-1)*0.012*ch
			bi := boardInst{cos: math.Cos(th), sin: math.Sin(th)}
			// origin so that the board centre lands on (cx, cy)
			hx, hy := d.wmm/2*s, d.hmm/2*s
			bi.ox = cx - (bi.cos*hx - bi.sin*hy)
			bi.oy = cy - (bi.sin*hx + bi.cos*hy)
			bi.jit = make([][4]float64, len(d.comps))
			for i := range bi.jit {
				bi.jit[i] = [4]float64{r.NormFloat64() * 0.02, r.NormFloat64() * 0.02, r.NormFloat64() * 0.004,
					1 + 0.05*r.NormFloat64()}
			}
			L.boards = append(L.boards, bi)
		}
	}
	noise := cfg.Noise
	if noise == 0 {
		noise = 1
	}
	if noise < 0 {
		noise = 0
	}
	ct := (r.Float64()*2 - 1) * 0.06
	L.look = look{
		seed:    r.Uint64(),
		gain:    float32(0.88 + 0.24*r.Float64()),
		gx:      float32((r.Float64()*2 - 1) * 0.14),
		gy:      float32((r.Float64()*2 - 1) * 0.14),
		vig:     float32(0.1 + 0.15*r.Float64()),
		ct:      [3]float32{float32(1 + ct), float32(1 + 0.01*r.NormFloat64()), float32(1 - ct)},
		noise:   float32(noise * (1.2 + 1.2*r.Float64())),
		shot:    float32(noise * 0.12),
		carrier: mul(rgb(38, 38, 42), float32(0.8+0.4*r.Float64())),
	}
	L.tex = newTexture(cfg.Width, cfg.Height, r.Uint64(), s)
	// Optics: a little defocus that varies from panel to panel, and the ring light's broad
	// reflection somewhere on the panel.
	L.blur = 1 + 0.35*r.Float64()
	L.silkOff = pose{x: 0.04 * r.NormFloat64(), y: 0.04 * r.NormFloat64()}
	L.look.hot = float32(0.04 + 0.08*r.Float64())
	hx, hy, hw := r.Float64(), r.Float64(), 0.25+0.3*r.Float64()
	L.look.hotX = make([]float32, cfg.Width)
	for x := range L.look.hotX {
		u := (float64(x)/float64(cfg.Width) - hx) / hw
		L.look.hotX[x] = float32(math.Exp(-u * u))
	}
	L.look.hotY = make([]float32, cfg.Height)
	for y := range L.look.hotY {
		u := (float64(y)/float64(cfg.Height) - hy) / hw
		L.look.hotY[y] = float32(math.Exp(-u * u))
	}
	return L
}

// boardRects are the pixel bounding boxes of the boards.
func (L *layout) boardRects() []geom.Rect {
	out := make([]geom.Rect, len(L.boards))
	for i := range L.boards {
		out[i] = L.boardRect(i)
	}
	return out
}

func (L *layout) boardRect(i int) geom.Rect {
	bi := &L.boards[i]
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, c := range [][2]float64{{0, 0}, {L.d.wmm, 0}, {0, L.d.hmm}, {L.d.wmm, L.d.hmm}} {
		x, y := bi.toPanel(L.scale, c[0], c[1])
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, y), math.Max(maxY, y)
	}
	r := geom.Rect{X0: int(math.Floor(minX)), Y0: int(math.Floor(minY)), X1: int(math.Ceil(maxX)), Y1: int(math.Ceil(maxY))}
	return r.Intersect(geom.Rect{X1: L.cfg.Width, Y1: L.cfg.Height})
}

func (bi *boardInst) toPanel(s, x, y float64) (float64, float64) {
	return bi.ox + s*(bi.cos*x-bi.sin*y), bi.oy + s*(bi.sin*x+bi.cos*y)
}

// pose is a frame on the board: a local point p maps to (x, y) + R(a)·p (millimetres).
type pose struct{ x, y, a float64 }

// prim converts a local primitive in frame f of board bi to a panel primitive.
func (L *layout) prim(bi *boardInst, f pose, l *lprim) prim {
	ca, sa := math.Cos(f.a), math.Sin(f.a)
	bx, by := f.x+ca*l.x-sa*l.y, f.y+sa*l.x+ca*l.y
	s := L.scale
	px, py := bi.toPanel(s, bx, by)
	// board angle + frame angle + local angle
	a := math.Atan2(bi.sin, bi.cos) + f.a + l.a
	soft := 1.2
	if l.soft > 1.2 {
		soft = math.Max(1.2, l.soft*s/18)
	} else if l.soft > 0 {
		soft = l.soft
	}
	soft *= L.blur
	alpha := l.alpha
	if alpha == 0 {
		alpha = 1
	}
	p := prim{
		cx: float32(px), cy: float32(py),
		ux: float32(math.Cos(a)), uy: float32(math.Sin(a)),
		hx: float32(math.Max(l.hx*s, 0.3)), hy: float32(math.Max(l.hy*s, 0.3)), r: float32(l.r * s),
		soft: float32(soft), alpha: float32(alpha), col: l.col, sh: l.sh,
		p0: l.p0, p1: l.p1, p2: l.p2,
	}
	switch {
	case l.sh == shBevel:
		p.p0 = float32(math.Max(0.8, float64(l.p0)*s))
	case l.sh == shMask && l.p2 > 0:
		p.p2 = float32(math.Max(1, float64(l.p2)*s))
	}
	p.finish()
	return p
}

// compPose is the pose of part i on board bi including placement jitter.
func (bi *boardInst) compPose(c *comp, i int) pose {
	j := bi.jit[i]
	return pose{c.x + j[0], c.y + j[1], c.a + j[2]}
}

// mods are the changes the defects make to one board.
type mods struct {
	missing map[int]bool
	moved   map[int]pose
	extra   []placed
	add     []lprim // board frame, drawn last
}

// placed is an extra part and its pose.
type placed struct {
	c *comp
	p pose
}

// scene builds the drawable scene of the panel, with the changes of plans applied.
func (L *layout) scene(plans []defectPlan) *scene {
	m := make([]mods, len(L.boards))
	for _, pd := range plans {
		bm := &m[pd.board]
		switch {
		case pd.missing >= 0:
			if bm.missing == nil {
				bm.missing = map[int]bool{}
			}
			bm.missing[pd.missing] = true
		case pd.moved >= 0:
			if bm.moved == nil {
				bm.moved = map[int]pose{}
			}
			bm.moved[pd.moved] = pd.to
		}
		if pd.extra != nil {
			bm.extra = append(bm.extra, placed{pd.extra, pd.to})
		}
		bm.add = append(bm.add, pd.add...)
	}
	sc := &scene{w: L.cfg.Width, h: L.cfg.Height, look: L.look, tex: L.tex}
	n := len(L.d.under)
	for _, c := range L.d.comps {
		n += len(c.pads) + len(c.parts)
	}
	sc.prims = make([]prim, 0, n*len(L.boards))
	for b := range L.boards {
		sc.prims = L.boardPrims(sc.prims, b, &m[b])
	}
	return sc
}

// boardPrims appends the primitives of board b in painting order.
func (L *layout) boardPrims(out []prim, b int, m *mods) []prim {
	bi := &L.boards[b]
	d := L.d
	for i := range d.under {
		f := pose{}
		if i >= d.silkFrom {
			f = L.silkOff // the screen is printed with a small registration error
		}
		out = append(out, L.prim(bi, f, &d.under[i]))
	}
	for i := range d.comps {
		c := &d.comps[i]
		for k := range c.pads {
			out = append(out, L.prim(bi, pose{c.x, c.y, c.a}, &c.pads[k]))
		}
		if m.missing[i] || hasKey(m.moved, i) {
			for k := range c.paste {
				out = append(out, L.prim(bi, pose{c.x, c.y, c.a}, &c.paste[k]))
			}
		}
	}
	for i := range d.comps {
		c := &d.comps[i]
		if m.missing[i] {
			continue
		}
		f := bi.compPose(c, i)
		if p, ok := m.moved[i]; ok {
			f = p
		}
		for k := range c.parts {
			p := L.prim(bi, f, &c.parts[k])
			if c.parts[k].fillet { // every joint's solder volume differs a little
				p.col = mul(p.col, float32(bi.jit[i][3]))
			}
			out = append(out, p)
		}
	}
	for _, e := range m.extra {
		for k := range e.c.parts {
			if !e.c.parts[k].fillet {
				out = append(out, L.prim(bi, e.p, &e.c.parts[k]))
			}
		}
	}
	for k := range m.add {
		out = append(out, L.prim(bi, pose{}, &m.add[k]))
	}
	return out
}

func hasKey(m map[int]pose, k int) bool {
	_, ok := m[k]
	return ok
}

// defectPlan is one defect before rendering.
type defectPlan struct {
	class   string
	board   int
	missing int   // part removed, or -1
	moved   int   // part displaced to `to`, or -1
	to      pose  // new pose of a moved part or pose of an extra part
	extra   *comp // extra part, or nil
	add     []lprim
	poly    geom.Polygon
}

// pickClass draws a class with the SIPCBA frequencies.
func pickClass(r *rand.Rand) string {
	u := r.Float64()
	for _, cf := range ClassFrequencies {
		if u < cf.P {
			return cf.Class
		}
		u -= cf.P
	}
	return ClassFrequencies[0].Class
}

// planDefects draws 1..maxN defects on random boards, each with its outline polygon; polygons
// do not touch each other and lie inside their board.
func (L *layout) planDefects(r *rand.Rand, maxN int) []defectPlan {
	n := 1 + r.IntN(maxN)
	var plans []defectPlan
	var taken []geom.Rect
	for len(plans) < n {
		class := pickClass(r)
		ok := false
		for try := 0; try < 40 && !ok; try++ {
			b := r.IntN(len(L.boards))
			pd, good := L.planOne(r, class, b)
			if !good {
				continue
			}
			bb := pd.poly.Bounds()
			grown := geom.Rect{X0: bb.X0 - 3, Y0: bb.Y0 - 3, X1: bb.X1 + 3, Y1: bb.Y1 + 3}
			clash := false
			for _, t := range taken {
				if !grown.Intersect(t).Empty() {
					clash = true
				}
			}
			if clash || !inside(pd.poly, L.boardRect(b)) || pd.poly.Area() < 4 {
				continue
			}
			taken = append(taken, bb)
			plans = append(plans, pd)
			ok = true
		}
		if !ok {
			break
		}
	}
	return plans
}

func inside(p geom.Polygon, r geom.Rect) bool {
	for _, q := range p {
		if q.X < float64(r.X0) || q.Y < float64(r.Y0) || q.X > float64(r.X1) || q.Y > float64(r.Y1) {
			return false
		}
	}
	return true
}

// pick returns the index of a part accepted by keep, drawn with weight w, or -1.
func (L *layout) pick(r *rand.Rand, keep func(c *comp) float64) int {
	var tot float64
	ws := make([]float64, len(L.d.comps))
	for i := range L.d.comps {
		ws[i] = keep(&L.d.comps[i])
		tot += ws[i]
	}
	if tot == 0 {
		return -1
	}
	u := r.Float64() * tot
	for i, w := range ws {
		if u < w {
			return i
		}
		u -= w
	}
	return len(ws) - 1
}

// planOne plans one defect of class on board b.
func (L *layout) planOne(r *rand.Rand, class string, b int) (defectPlan, bool) {
	bi := &L.boards[b]
	d := L.d
	pd := defectPlan{class: class, board: b, missing: -1, moved: -1}
	var changed []prim
	addParts := func(c *comp, f pose, fillets bool) {
		for k := range c.parts {
			if fillets || !c.parts[k].fillet {
				changed = append(changed, L.prim(bi, f, &c.parts[k]))
			}
		}
	}
	addPaste := func(c *comp) {
		for k := range c.paste {
			changed = append(changed, L.prim(bi, pose{c.x, c.y, c.a}, &c.paste[k]))
		}
	}
	switch class {
	case ClassMissing:
		i := L.pick(r, func(c *comp) float64 {
			switch {
			case c.passive:
				return 1
			case c.kind == "sot23" || c.kind == "tantalum":
				return 0.5
			case len(c.paste) > 0:
				return 0.1
			}
			return 0
		})
		if i < 0 {
			return pd, false
		}
		c := &d.comps[i]
		pd.missing = i
		addParts(c, bi.compPose(c, i), true)
		addPaste(c)
	case ClassMisalignment:
		i := L.pick(r, func(c *comp) float64 {
			if c.passive || c.kind == "sot23" || c.kind == "tantalum" {
				return 1
			}
			return 0
		})
		if i < 0 {
			return pd, false
		}
		c := &d.comps[i]
		f := bi.compPose(c, i)
		pd.moved = i
		da := (8 + 14*r.Float64()) * math.Pi / 180
		if r.Float64() < 0.5 {
			da = -da
		}
		sh := (0.25 + 0.25*r.Float64()) * math.Min(c.hx, c.hy) * 2
		dir := r.Float64() * 2 * math.Pi
		pd.to = pose{f.x + sh*math.Cos(dir), f.y + sh*math.Sin(dir), f.a + da}
		addParts(c, f, true)
		addParts(c, pd.to, true)
		addPaste(c)
	case ClassBridge:
		i := L.pick(r, func(c *comp) float64 {
			switch {
			case len(c.bridges) == 0:
				return 0
			case c.passive:
				return 0.15
			}
			return float64(len(c.bridges))
		})
		if i < 0 {
			return pd, false
		}
		c := &d.comps[i]
		br := c.bridges[r.IntN(len(c.bridges))]
		// Move the blob into the board frame.
		f := bi.compPose(c, i)
		ca, sa := math.Cos(f.a), math.Sin(f.a)
		br.x, br.y = f.x+ca*br.x-sa*br.y, f.y+sa*br.x+ca*br.y
		br.a += f.a
		br.hx *= 0.9 + 0.25*r.Float64()
		br.col = mul(br.col, float32(0.92+0.1*r.Float64()))
		pd.add = []lprim{br}
		changed = append(changed, L.prim(bi, pose{}, &br))
	case ClassExtra:
		c := (&builder{d: d, r: r}).chip([]string{"0402", "0603"}[r.IntN(2)], r.Float64() < 0.5)
		for t := 0; t < 30; t++ {
			x := 2 + r.Float64()*(d.wmm-4)
			y := 2 + r.Float64()*(d.hmm-4)
			c.x, c.y, c.a = x, y, r.Float64()*math.Pi
			k := keepout(&c, 0.3)
			free := k.x0 > 1.5 && k.y0 > 1.5 && k.x1 < d.wmm-1.5 && k.y1 < d.hmm-1.5
			for _, o := range d.occ {
				if free && k.overlaps(o) {
					free = false
				}
			}
			if free {
				pd.extra = &c
				pd.to = pose{x, y, c.a}
				addParts(&c, pd.to, false)
				break
			}
		}
		if pd.extra == nil {
			return pd, false
		}
	case ClassDebris:
		x := 2.5 + r.Float64()*(d.wmm-5)
		y := 2.5 + r.Float64()*(d.hmm-5)
		switch k := r.Float64(); {
		case k < 0.45:
			return L.fibre(r, bi, pd, x, y)
		case k < 0.8:
			cols := [][3]float32{rgb(48, 40, 32), rgb(20, 20, 22), rgb(150, 140, 120), rgb(96, 70, 44)}
			col := cols[r.IntN(len(cols))]
			for j := 0; j < 3+r.IntN(4); j++ {
				s := 0.08 + 0.25*r.Float64()
				p := box(x+(r.Float64()-0.5)*0.4, y+(r.Float64()-0.5)*0.4, s, s*(0.4+0.6*r.Float64()), mul(col, float32(0.85+0.3*r.Float64())))
				p.a, p.r, p.sh, p.p0 = r.Float64()*math.Pi, s*0.4, shGrain, 0.15
				pd.add = append(pd.add, p)
			}
		default:
			rad := 0.12 + 0.18*r.Float64()
			p := circle(x, y, rad, d.pal.solder)
			p.sh, p.p1, p.p2 = shDome, 4, 0.8
			sh := shadow(rad, rad, 0.3)
			sh.x, sh.y, sh.r = sh.x+x, sh.y+y, rad
			pd.add = []lprim{sh, p}
		}
		for k := range pd.add {
			changed = append(changed, L.prim(bi, pose{}, &pd.add[k]))
		}
	default:
		return pd, false
	}
	var pts []geom.Point
	for i := range changed {
		c := changed[i].corners(float64(changed[i].soft)/2 + 1)
		pts = append(pts, c[:]...)
	}
	pd.poly = roundPoly(hull(pts))
	return pd, len(pd.poly) >= 3
}

// roundPoly rounds vertices to 1/100 pixel (the outlines keep a pixel of margin, so this
// never uncovers a changed pixel; the mask is always the fill of the rounded polygon).
func roundPoly(p geom.Polygon) geom.Polygon {
	for i := range p {
		p[i].X = math.Round(p[i].X*100) / 100
		p[i].Y = math.Round(p[i].Y*100) / 100
	}
	return p
}

// fibre plans a thin curved fibre starting at (x, y): drawn as capsules, outlined by a band.
func (L *layout) fibre(r *rand.Rand, bi *boardInst, pd defectPlan, x, y float64) (defectPlan, bool) {
	n := 6 + r.IntN(6)
	length := 1.5 + 3.5*r.Float64()
	step := length / float64(n)
	w := 0.05 + 0.07*r.Float64()
	col := rgb(30, 28, 26)
	if r.Float64() < 0.4 {
		col = rgb(210, 206, 196)
	}
	a := r.Float64() * 2 * math.Pi
	turn := (r.Float64()*2 - 1) * 0.2
	xs, ys := []float64{x}, []float64{y}
	for i := 0; i < n; i++ {
		a += turn + (r.Float64()*2-1)*0.1
		x += step * math.Cos(a)
		y += step * math.Sin(a)
		xs, ys = append(xs, x), append(ys, y)
	}
	for i := 0; i < n; i++ {
		p := capsule(xs[i], ys[i], xs[i+1], ys[i+1], w, col)
		p.alpha = 0.9
		pd.add = append(pd.add, p)
	}
	// Band outline in pixels: the centre line offset by the half width plus the edge ramp.
	s := L.scale
	m := w/2*s + 1.6
	px := make([]geom.Point, len(xs))
	for i := range xs {
		px[i].X, px[i].Y = bi.toPanel(s, xs[i], ys[i])
	}
	var left, right []geom.Point
	for i := range px {
		var tx, ty float64
		switch {
		case i == 0:
			tx, ty = px[1].X-px[0].X, px[1].Y-px[0].Y
		case i == len(px)-1:
			tx, ty = px[i].X-px[i-1].X, px[i].Y-px[i-1].Y
		default:
			tx, ty = px[i+1].X-px[i-1].X, px[i+1].Y-px[i-1].Y
		}
		l := math.Hypot(tx, ty)
		tx, ty = tx/l, ty/l
		// miter length so that both neighbouring segments keep the full margin
		mm := m
		if i > 0 && i < len(px)-1 {
			sx, sy := px[i].X-px[i-1].X, px[i].Y-px[i-1].Y
			sl := math.Hypot(sx, sy)
			cosH := (sx*tx + sy*ty) / sl
			mm = m / math.Max(cosH, 0.5)
		}
		cx, cy := px[i].X, px[i].Y
		if i == 0 {
			cx, cy = cx-tx*m, cy-ty*m
		}
		if i == len(px)-1 {
			cx, cy = cx+tx*m, cy+ty*m
		}
		left = append(left, geom.Point{X: cx - ty*mm, Y: cy + tx*mm})
		right = append(right, geom.Point{X: cx + ty*mm, Y: cy - tx*mm})
	}
	poly := append(geom.Polygon{}, left...)
	for i := len(right) - 1; i >= 0; i-- {
		poly = append(poly, right[i])
	}
	pd.poly = roundPoly(poly)
	return pd, true
}

// hull is the convex hull of pts (Andrew's monotone chain), counter-clockwise in image axes.
func hull(pts []geom.Point) geom.Polygon {
	if len(pts) < 3 {
		return nil
	}
	p := append([]geom.Point(nil), pts...)
	sort.Slice(p, func(i, j int) bool {
		if p[i].X != p[j].X {
			return p[i].X < p[j].X
		}
		return p[i].Y < p[j].Y
	})
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
		q := p[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], q) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, q)
	}
	return geom.Polygon(h[:len(h)-1])
}
