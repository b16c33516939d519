package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// lprim is a primitive in a local frame measured in millimetres (board or component).
type lprim struct {
	x, y, a    float64 // centre and angle (radians) of the box's x axis
	hx, hy, r  float64 // half extents and corner radius, mm
	soft       float64 // edge ramp in pixels (0 means 1.2)
	alpha      float64 // 0 means 1
	col        [3]float32
	sh         shade
	p0, p1, p2 float32 // shader parameters; for shBevel p0 is in mm
	fillet     bool    // solder joint: not drawn for a part that was never soldered
}

// rgb is a colour in 8-bit units.
func rgb(r, g, b float32) [3]float32 { return [3]float32{r, g, b} }

// mul scales a colour.
func mul(c [3]float32, f float32) [3]float32 { return [3]float32{c[0] * f, c[1] * f, c[2] * f} }

// box is a rectangle centred at (x, y) with half extents hx, hy.
func box(x, y, hx, hy float64, col [3]float32) lprim {
	return lprim{x: x, y: y, hx: hx, hy: hy, col: col}
}

// circle is a disc of radius r.
func circle(x, y, r float64, col [3]float32) lprim {
	return lprim{x: x, y: y, hx: r, hy: r, r: r, col: col}
}

// capsule is a stroke of width w from (x0, y0) to (x1, y1) with round ends.
func capsule(x0, y0, x1, y1, w float64, col [3]float32) lprim {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	return lprim{x: (x0 + x1) / 2, y: (y0 + y1) / 2, a: math.Atan2(dy, dx), hx: l/2 + w/2, hy: w / 2, r: w / 2, col: col}
}

// palette is the colour scheme of one design.
type palette struct {
	mask, maskCu, maskBare [3]float32
	silk                   [3]float32
	pad                    [3]float32 // exposed pad finish (HASL or ENIG)
	solder                 [3]float32
	metal                  [3]float32 // tinned terminations and leads
	hole                   [3]float32
}

// comp is one placed component of a design.
type comp struct {
	kind    string
	ref     string
	x, y, a float64 // pose on the board (mm, radians)
	hx, hy  float64 // half extents of the footprint including pads, local frame
	pads    []lprim // copper pads, local frame
	parts   []lprim // shadow, body, terminations, fillets, markings, local frame
	bridges []lprim // candidate solder bridges between neighbouring leads, local frame
	paste   []lprim // reflowed solder left on the pads when the part is missing
	passive bool    // small two-terminal part (candidate for missing/extra/misalignment)
}

// design is one board: everything that is the same on all boards of a panel.
type design struct {
	wmm, hmm float64
	pal      palette
	under    []lprim // board-level: substrate, copper, vias, holes, silkscreen (painting order)
	silkFrom int     // under[silkFrom:] is the silkscreen
	comps    []comp
	occ      []rectMM // occupied areas (component keep-outs, holes, text) for extra parts
}

// rectMM is an axis-aligned rectangle in board millimetres.
type rectMM struct{ x0, y0, x1, y1 float64 }

func (r rectMM) overlaps(s rectMM) bool {
	return r.x0 < s.x1 && s.x0 < r.x1 && r.y0 < s.y1 && s.y0 < r.y1
}

// boardMM is the size of the board in millimetres for a cell aspect ratio (height/width).
func boardMM(aspect float64) (w, h float64) {
	const short = 44.0
	aspect = math.Max(0.25, math.Min(4, aspect))
	if aspect >= 1 {
		return short, short * aspect
	}
	return short / aspect, short
}

// designFor builds the board design of cfg: it depends only on the seed and the cell shape.
func designFor(cfg Config) *design {
	cw := float64(cfg.Width) / float64(cfg.Cols)
	ch := float64(cfg.Height) / float64(cfg.Rows)
	w, h := boardMM(ch / cw)
	r := newRand(uint64(cfg.Seed), 0xde5)
	d := &design{wmm: w, hmm: h}
	d.pal = makePalette(r)
	b := &builder{d: d, r: r}
	b.build()
	return d
}

func makePalette(r *rand.Rand) palette {
	j := func(c [3]float32, s float32) [3]float32 {
		return [3]float32{c[0] * (1 + s*float32(r.NormFloat64())), c[1] * (1 + s*float32(r.NormFloat64())), c[2] * (1 + s*float32(r.NormFloat64()))}
	}
	mask := j(rgb(34, 108, 56), 0.06)
	p := palette{
		mask:     mask,
		maskCu:   [3]float32{mask[0]*1.35 + 6, mask[1]*1.16 + 5, mask[2] + 2},
		maskBare: mul(mask, 0.86),
		silk:     j(rgb(236, 236, 226), 0.015),
		solder:   rgb(214, 214, 208),
		metal:    rgb(206, 206, 200),
		hole:     rgb(12, 12, 14),
	}
	if r.Float64() < 0.5 {
		p.pad = j(rgb(200, 200, 194), 0.02) // HASL
	} else {
		p.pad = j(rgb(222, 182, 102), 0.03) // ENIG
	}
	return p
}

// builder places parts and routes copper for a design.
type builder struct {
	d      *design
	r      *rand.Rand
	counts map[string]int
	ics    []int    // indices of ICs in d.comps
	fixed  int      // d.occ[:fixed] are holes and fiducials
	texts  []rectMM // silkscreen texts placed so far
	// markPrims are the board name and code, printed with the silkscreen
	markPrims []lprim
}

func (b *builder) ref(prefix string) string {
	if b.counts == nil {
		b.counts = map[string]int{}
	}
	b.counts[prefix]++
	return fmt.Sprintf("%s%d", prefix, b.counts[prefix])
}

func (b *builder) uniform(lo, hi float64) float64 { return lo + (hi-lo)*b.r.Float64() }

// build lays out the whole board.
func (b *builder) build() {
	d := b.d
	pal := d.pal
	// Substrate with a lighter routed edge.
	sub := lprim{x: d.wmm / 2, y: d.hmm / 2, hx: d.wmm / 2, hy: d.hmm / 2, r: 0.8, col: pal.mask, sh: shMask, p0: 0.035, p1: 0.05, p2: 0.12}
	d.under = append(d.under, sub)
	// Mounting holes and fiducials.
	for _, c := range [][2]float64{{3, 3}, {d.wmm - 3, 3}, {3, d.hmm - 3}, {d.wmm - 3, d.hmm - 3}} {
		d.under = append(d.under, circle(c[0], c[1], 2.7, pal.pad))
		d.under[len(d.under)-1].sh = shGrain
		d.under[len(d.under)-1].p0 = 0.05
		d.under = append(d.under, circle(c[0], c[1], 1.6, pal.hole))
		d.occ = append(d.occ, rectMM{c[0] - 3.2, c[1] - 3.2, c[0] + 3.2, c[1] + 3.2})
	}
	for _, c := range [][2]float64{{7.5, 2.2}, {d.wmm - 7.5, d.hmm - 2.2}} {
		d.under = append(d.under, circle(c[0], c[1], 1.0, pal.maskBare))
		f := circle(c[0], c[1], 0.5, pal.pad)
		f.sh, f.p1, f.p2 = shDome, 6, 0.25
		d.under = append(d.under, f)
		d.occ = append(d.occ, rectMM{c[0] - 1.2, c[1] - 1.2, c[0] + 1.2, c[1] + 1.2})
	}
	b.marks()
	b.fixed = len(d.occ)
	b.placeParts()
	b.route()
	b.silk()
}

// fits reports whether a keep-out rectangle is on the board and free.
func (b *builder) fits(k rectMM) bool {
	if k.x0 < 1.2 || k.y0 < 1.2 || k.x1 > b.d.wmm-1.2 || k.y1 > b.d.hmm-1.2 {
		return false
	}
	for _, o := range b.d.occ {
		if k.overlaps(o) {
			return false
		}
	}
	return true
}

// keepout is the board rectangle of component c grown by m millimetres.
func keepout(c *comp, m float64) rectMM {
	ca, sa := math.Abs(math.Cos(c.a)), math.Abs(math.Sin(c.a))
	ex := ca*c.hx + sa*c.hy + m
	ey := sa*c.hx + ca*c.hy + m
	return rectMM{c.x - ex, c.y - ey, c.x + ex, c.y + ey}
}

// tryPlace puts c somewhere free near (nx, ny) (within spread mm), or anywhere when spread is 0.
func (b *builder) tryPlace(c comp, nx, ny, spread float64, tries int) bool {
	for t := 0; t < tries; t++ {
		if spread > 0 {
			c.x = math.Round((nx+b.uniform(-spread, spread))*20) / 20
			c.y = math.Round((ny+b.uniform(-spread, spread))*20) / 20
		} else {
			c.x = math.Round(b.uniform(0, b.d.wmm)*20) / 20
			c.y = math.Round(b.uniform(0, b.d.hmm)*20) / 20
		}
		k := keepout(&c, 0.45)
		if !b.fits(k) {
			continue
		}
		b.d.occ = append(b.d.occ, k)
		b.d.comps = append(b.d.comps, c)
		return true
	}
	return false
}

// placeParts places ICs first, then big parts, then passives clustered around the ICs.
func (b *builder) placeParts() {
	d := b.d
	area := d.wmm * d.hmm / (44 * 50)
	quarter := func() float64 { return float64(b.r.IntN(4)) * math.Pi / 2 }
	nQFP := 1
	if b.r.Float64() < 0.3 {
		nQFP = 2
	}
	for i := 0; i < nQFP; i++ {
		pins := []int{8, 11, 16}[b.r.IntN(3)]
		c := b.qfp(pins)
		c.a = quarter()
		if b.tryPlace(c, d.wmm*b.uniform(0.3, 0.7), d.hmm*b.uniform(0.3, 0.7), d.wmm*0.25, 200) {
			b.ics = append(b.ics, len(d.comps)-1)
		}
	}
	nSOIC := 2 + b.r.IntN(3)
	for i := 0; i < int(float64(nSOIC)*area+0.5); i++ {
		c := b.soic([]int{4, 7, 8}[b.r.IntN(3)])
		c.a = quarter()
		if b.tryPlace(c, 0, 0, 0, 200) {
			b.ics = append(b.ics, len(d.comps)-1)
		}
	}
	for i := 0; i < int(float64(3+b.r.IntN(4))*area+0.5); i++ {
		c := b.sot23()
		c.a = quarter()
		b.tryPlace(c, 0, 0, 0, 100)
	}
	for i := 0; i < int(float64(1+b.r.IntN(3))*area+0.5); i++ {
		c := b.electrolytic([]float64{5, 6.3}[b.r.IntN(2)])
		c.a = quarter()
		b.tryPlace(c, 0, 0, 0, 100)
	}
	for i := 0; i < int(float64(2+b.r.IntN(3))*area+0.5); i++ {
		c := b.tantalum()
		c.a = quarter()
		b.tryPlace(c, 0, 0, 0, 100)
	}
	for i := 0; i < int(float64(2+b.r.IntN(4))*area+0.5); i++ {
		c := b.diode(b.r.Float64() < 0.4)
		c.a = quarter()
		b.tryPlace(c, 0, 0, 0, 100)
	}
	if b.r.Float64() < 0.7 {
		c := b.crystal()
		c.a = float64(b.r.IntN(2)) * math.Pi / 2
		b.tryPlace(c, 0, 0, 0, 100)
	}
	if b.r.Float64() < 0.8 {
		c := b.header(3 + b.r.IntN(4))
		c.a = float64(b.r.IntN(2)) * math.Pi / 2
		b.tryPlace(c, 0, 0, 0, 100)
	}
	nPass := int(float64(70+b.r.IntN(40)) * area)
	sizes := []string{"0402", "0603", "0805"}
	for i := 0; i < nPass; i++ {
		size := sizes[min(2, int(b.r.ExpFloat64()*0.8))]
		var c comp
		if b.r.Float64() < 0.55 {
			c = b.chip(size, false)
		} else {
			c = b.chip(size, true)
		}
		if b.r.Float64() < 0.7 {
			c.a = 0
		} else {
			c.a = math.Pi / 2
		}
		if b.r.Float64() < 0.5 {
			c.a += math.Pi
		}
		if len(b.ics) > 0 && b.r.Float64() < 0.75 {
			ic := &d.comps[b.ics[b.r.IntN(len(b.ics))]]
			s := math.Max(ic.hx, ic.hy) + 3
			if b.tryPlace(c, ic.x, ic.y, s, 40) {
				continue
			}
		}
		b.tryPlace(c, 0, 0, 0, 40)
	}
}

// shadow is the soft drop shadow of a body of half extents hx, hy (light from the top left).
func shadow(hx, hy, h float64) lprim {
	return lprim{x: h * 0.07, y: h * 0.09, hx: hx + h*0.03, hy: hy + h*0.03, r: math.Min(hx, hy) * 0.3,
		col: rgb(0, 0, 0), alpha: 0.35, soft: 2 + h*1.5}
}

// chip is a two-terminal resistor or ceramic capacitor along local x.
func (b *builder) chip(size string, capacitor bool) comp {
	var l, w, term, padW, padH, padX, hgt float64
	switch size {
	case "0402":
		l, w, term, padW, padH, padX, hgt = 1.0, 0.5, 0.25, 0.55, 0.6, 0.5, 0.35
	case "0603":
		l, w, term, padW, padH, padX, hgt = 1.6, 0.8, 0.35, 0.85, 0.95, 0.8, 0.45
	default:
		l, w, term, padW, padH, padX, hgt = 2.0, 1.25, 0.45, 1.0, 1.4, 0.95, 0.55
	}
	pal := b.d.pal
	c := comp{kind: "chip" + size, hx: padX + padW/2, hy: padH / 2, passive: true}
	if capacitor {
		c.ref = b.ref("C")
	} else {
		c.ref = b.ref("R")
	}
	for _, sx := range []float64{-1, 1} {
		p := box(sx*padX, 0, padW/2, padH/2, pal.pad)
		p.sh, p.p0 = shGrain, 0.06
		c.pads = append(c.pads, p)
		s := box(sx*padX, 0, padW/2*0.85, padH/2*0.85, pal.solder)
		s.r = padH * 0.35
		s.sh, s.p1, s.p2 = shDome, 3, 0.5
		c.paste = append(c.paste, s)
	}
	c.parts = append(c.parts, shadow(l/2, w/2, hgt))
	// Solder fillets: from the termination out over the pad.
	for _, sx := range []float64{-1, 1} {
		fx := sx * (l/2 + (padX+padW/2-l/2)/2 - 0.02)
		f := box(fx, 0, (padX+padW/2-l/2)/2+0.04, padH/2*0.92, pal.solder)
		f.r = 0.08
		f.sh, f.p0, f.p1, f.p2 = shCylX, float32(-sx*0.2), 0.35, 0.45
		f.fillet = true
		c.parts = append(c.parts, f)
	}
	var body [3]float32
	if capacitor {
		body = mul(rgb(176, 148, 106), float32(b.uniform(0.85, 1.1)))
	} else {
		body = rgb(28, 28, 30)
	}
	bd := box(0, 0, l/2, w/2, body)
	bd.r = 0.03
	if capacitor {
		bd.sh, bd.p0, bd.p1 = shBevel, 0.08, -0.25
	} else {
		bd.sh, bd.p0, bd.p1 = shBevel, 0.06, 2.5
	}
	c.parts = append(c.parts, bd)
	for _, sx := range []float64{-1, 1} {
		t := box(sx*(l/2-term/2), 0, term/2, w/2+0.01, pal.metal)
		t.r = 0.05
		t.sh, t.p0, t.p1, t.p2 = shCylX, float32(sx*0.1), 0.5, 0.35
		c.parts = append(c.parts, t)
	}
	br := box(0, 0, padX+padW*0.3, w*0.3, pal.solder)
	br.r, br.sh, br.p1, br.p2 = w*0.25, shDome, 2.5, 0.55
	c.bridges = append(c.bridges, br)
	if !capacitor && size != "0402" {
		// Three-digit value marking.
		txt := fmt.Sprintf("%d%d%d", 1+b.r.IntN(9), b.r.IntN(10), b.r.IntN(6))
		c.parts = append(c.parts, textPrims(txt, 0, 0, w*0.45, 0, rgb(200, 200, 196), 0.9)...)
	}
	return c
}

// gullWing adds the pads, leads, fillets, paste and bridge candidates of a row of n leads at
// pitch along local x, centred at y = side*(bodyHy), pointing outwards.
func (b *builder) gullWing(c *comp, n int, pitch, bodyHy, leadLen, leadW, padL, padW float64, rot float64) {
	pal := b.d.pal
	ca, sa := math.Cos(rot), math.Sin(rot)
	tr := func(p lprim) lprim {
		x, y := p.x, p.y
		p.x, p.y = ca*x-sa*y, sa*x+ca*y
		p.a += rot
		return p
	}
	x0 := -pitch * float64(n-1) / 2
	for i := 0; i < n; i++ {
		x := x0 + float64(i)*pitch
		py := bodyHy + leadLen - padL/2 + 0.15
		pad := box(x, py, padW/2, padL/2, pal.pad)
		pad.sh, pad.p0 = shGrain, 0.06
		c.pads = append(c.pads, tr(pad))
		paste := box(x, py, padW/2*0.8, padL/2*0.85, pal.solder)
		paste.r = padW * 0.35
		paste.sh, paste.p1, paste.p2 = shDome, 3, 0.5
		c.paste = append(c.paste, tr(paste))
		fil := box(x, bodyHy+leadLen-0.05, padW/2*0.9, 0.3, pal.solder)
		fil.r = 0.1
		fil.sh, fil.p0, fil.p1, fil.p2, fil.fillet = shCylY, 0.3, 0.4, 0.4, true
		c.parts = append(c.parts, tr(fil))
		lead := box(x, bodyHy+leadLen/2, leadW/2, leadLen/2, pal.metal)
		lead.sh, lead.p0, lead.p1, lead.p2 = shCylY, -0.1, 0.35, 0.5
		c.parts = append(c.parts, tr(lead))
		if i+1 < n {
			br := box(x+pitch/2, bodyHy+leadLen*0.7, pitch/2+leadW*0.3, leadLen*0.32, pal.solder)
			br.r = leadLen * 0.25
			br.sh, br.p1, br.p2 = shDome, 2.5, 0.55
			c.bridges = append(c.bridges, tr(br))
		}
	}
}

// icBody adds the moulded body with bevel, pin-1 dimple and laser marking.
func (b *builder) icBody(c *comp, hx, hy float64, text string) {
	body := box(0, 0, hx, hy, rgb(36, 36, 38))
	body.r = 0.1
	body.sh, body.p0, body.p1 = shBevel, 0.18, 0.55
	c.parts = append(c.parts, body)
	top := box(0, 0, hx-0.15, hy-0.15, rgb(40, 40, 42))
	top.sh, top.p0 = shGrain, 0.06
	c.parts = append(c.parts, top)
	if hx > 2.5 && hy > 1.5 { // ejector-pin marks of the mould
		for _, sx := range []float64{-1, 1} {
			e := circle(sx*(hx-math.Min(hx, hy)*0.45), -sx*(hy-math.Min(hx, hy)*0.45)*0.2, math.Min(hx, hy)*0.2, rgb(44, 44, 46))
			e.sh, e.p0, e.p1, e.p2 = shDome, 0.9, 2, 0.04
			c.parts = append(c.parts, e)
		}
	}
	dot := circle(-hx+0.7, hy-0.7, 0.28, rgb(24, 24, 26))
	dot.sh, dot.p0, dot.p1 = shBevel, 0.08, 1.2
	c.parts = append(c.parts, dot)
	th := math.Min(hy*0.28, 0.9)
	c.parts = append(c.parts, textPrims(text, 0, -th*0.7, th, 0, rgb(128, 128, 124), 0.85)...)
	code := fmt.Sprintf("%d%02d", 20+b.r.IntN(6), 1+b.r.IntN(52))
	c.parts = append(c.parts, textPrims(code, 0, th*0.9, th*0.8, 0, rgb(118, 118, 114), 0.8)...)
}

// soic is an SOIC package with n leads per side along local x.
func (b *builder) soic(n int) comp {
	bodyHx := (float64(n)*1.27 + 0.3) / 2
	c := comp{kind: fmt.Sprintf("soic%d", 2*n), ref: b.ref("U"), hx: bodyHx + 0.2, hy: 3.3}
	c.parts = append(c.parts, shadow(bodyHx, 1.95, 1.6))
	for _, side := range []float64{0, math.Pi} {
		b.gullWing(&c, n, 1.27, 1.95, 1.05, 0.42, 1.5, 0.6, side)
	}
	names := []string{"LM358", "NE555", "74HC04", "MAX232", "TL072", "24C02", "ULN2003"}
	b.icBody(&c, bodyHx, 1.95, names[b.r.IntN(len(names))])
	return c
}

// qfp is a square QFP with n leads per side.
func (b *builder) qfp(n int) comp {
	pitch := 0.8
	if n == 16 {
		pitch = 0.5
	}
	h := (float64(n-1)*pitch + 1.6) / 2
	c := comp{kind: fmt.Sprintf("qfp%d", 4*n), ref: b.ref("U"), hx: h + 1.5, hy: h + 1.5}
	c.parts = append(c.parts, shadow(h, h, 1.4))
	for k := 0; k < 4; k++ {
		b.gullWing(&c, n, pitch, h, 1.0, pitch*0.45, 1.5, pitch*0.55, float64(k)*math.Pi/2)
	}
	names := []string{"STM32", "ATMEGA", "LPC11", "GD32F", "MSP430"}
	b.icBody(&c, h, h, names[b.r.IntN(len(names))])
	return c
}

// sot23 is a three-lead transistor.
func (b *builder) sot23() comp {
	pal := b.d.pal
	c := comp{kind: "sot23", ref: b.ref("Q"), hx: 1.6, hy: 1.55}
	c.parts = append(c.parts, shadow(1.45, 0.65, 1.0))
	for _, l := range [][2]float64{{-0.95, 1}, {0.95, 1}, {0, -1}} {
		pad := box(l[0], l[1]*1.1, 0.3, 0.4, pal.pad)
		pad.sh, pad.p0 = shGrain, 0.06
		c.pads = append(c.pads, pad)
		paste := box(l[0], l[1]*1.1, 0.24, 0.32, pal.solder)
		paste.r, paste.sh, paste.p1, paste.p2 = 0.2, shDome, 3, 0.5
		c.paste = append(c.paste, paste)
		lead := box(l[0], l[1]*0.95, 0.2, 0.35, pal.metal)
		lead.sh, lead.p0, lead.p1, lead.p2 = shCylY, float32(-l[1]*0.1), 0.35, 0.5
		c.parts = append(c.parts, lead)
	}
	body := box(0, 0, 1.45, 0.65, rgb(34, 34, 36))
	body.r, body.sh, body.p0, body.p1 = 0.08, shBevel, 0.12, 0.6
	c.parts = append(c.parts, body)
	c.parts = append(c.parts, textPrims(fmt.Sprintf("%c%d", 'A'+rune(b.r.IntN(26)), b.r.IntN(10)), 0, 0, 0.45, 0, rgb(130, 130, 126), 0.85)...)
	return c
}

// electrolytic is an SMD aluminium electrolytic capacitor of can diameter dia.
func (b *builder) electrolytic(dia float64) comp {
	pal := b.d.pal
	hb := dia/2 + 0.3
	c := comp{kind: "elcap", ref: b.ref("C"), hx: hb + 1.0, hy: hb}
	for _, sx := range []float64{-1, 1} {
		pad := box(sx*(hb-0.2), 0, 1.2, 0.8, pal.pad)
		pad.sh, pad.p0 = shGrain, 0.06
		c.pads = append(c.pads, pad)
		paste := box(sx*(hb-0.2), 0, 1.0, 0.6, pal.solder)
		paste.r, paste.sh, paste.p1, paste.p2 = 0.3, shDome, 3, 0.5
		c.paste = append(c.paste, paste)
	}
	c.parts = append(c.parts, shadow(hb, hb, 4))
	for _, sx := range []float64{-1, 1} {
		f := box(sx*(hb+0.55), 0, 0.45, 0.6, pal.solder)
		f.r, f.sh, f.p0, f.p1, f.p2, f.fillet = 0.15, shCylX, float32(-sx*0.2), 0.4, 0.4, true
		c.parts = append(c.parts, f)
	}
	base := box(0, 0, hb, hb, rgb(30, 30, 32))
	base.r, base.sh, base.p0, base.p1 = 0.9, shBevel, 0.3, 0.6
	c.parts = append(c.parts, base)
	can := circle(0, 0, dia/2, rgb(196, 199, 204))
	can.sh, can.p0, can.p1, can.p2 = shDome, 0.8, 5, 0.25
	c.parts = append(c.parts, can)
	mark := box(-dia*0.3, 0, dia*0.12, dia*0.28, rgb(30, 30, 60))
	mark.r, mark.alpha = dia*0.1, 0.9
	c.parts = append(c.parts, mark)
	for _, a := range []float64{0, math.Pi / 2} {
		v := box(0, 0, dia*0.22, 0.06, rgb(120, 122, 126))
		v.a = a
		c.parts = append(c.parts, v)
	}
	return c
}

// tantalum is a moulded tantalum capacitor (case B) with its polarity band at -x.
func (b *builder) tantalum() comp {
	pal := b.d.pal
	c := comp{kind: "tantalum", ref: b.ref("C"), hx: 2.4, hy: 1.3}
	for _, sx := range []float64{-1, 1} {
		pad := box(sx*1.6, 0, 0.75, 1.2, pal.pad)
		pad.sh, pad.p0 = shGrain, 0.06
		c.pads = append(c.pads, pad)
		paste := box(sx*1.6, 0, 0.6, 1.0, pal.solder)
		paste.r, paste.sh, paste.p1, paste.p2 = 0.4, shDome, 3, 0.5
		c.paste = append(c.paste, paste)
	}
	c.parts = append(c.parts, shadow(1.75, 1.4, 1.9))
	for _, sx := range []float64{-1, 1} {
		f := box(sx*1.95, 0, 0.4, 0.95, pal.solder)
		f.r, f.sh, f.p0, f.p1, f.p2, f.fillet = 0.1, shCylX, float32(-sx*0.2), 0.4, 0.4, true
		c.parts = append(c.parts, f)
		t := box(sx*1.65, 0, 0.2, 0.6, pal.metal)
		c.parts = append(c.parts, t)
	}
	body := box(0, 0, 1.6, 1.4, mul(rgb(222, 160, 42), float32(b.uniform(0.9, 1.05))))
	body.r, body.sh, body.p0, body.p1 = 0.1, shBevel, 0.25, -0.2
	c.parts = append(c.parts, body)
	c.parts = append(c.parts, box(-1.15, 0, 0.22, 1.3, rgb(118, 66, 22)))
	c.parts = append(c.parts, textPrims("106", 0.2, 0, 0.6, 0, rgb(90, 56, 20), 0.85)...)
	return c
}

// diode is an SOD-123 diode (black body, cathode band) or, with led, an 0805 LED.
func (b *builder) diode(led bool) comp {
	pal := b.d.pal
	if led {
		c := comp{kind: "led0805", ref: b.ref("D"), hx: 1.45, hy: 0.7, passive: true}
		for _, sx := range []float64{-1, 1} {
			pad := box(sx*0.95, 0, 0.5, 0.7, pal.pad)
			pad.sh, pad.p0 = shGrain, 0.06
			c.pads = append(c.pads, pad)
			paste := box(sx*0.95, 0, 0.4, 0.55, pal.solder)
			paste.r, paste.sh, paste.p1, paste.p2 = 0.25, shDome, 3, 0.5
			c.paste = append(c.paste, paste)
		}
		c.parts = append(c.parts, shadow(1.0, 0.62, 0.8))
		for _, sx := range []float64{-1, 1} {
			f := box(sx*1.15, 0, 0.25, 0.6, pal.solder)
			f.r, f.sh, f.p0, f.p1, f.p2, f.fillet = 0.08, shCylX, float32(-sx*0.2), 0.4, 0.4, true
			c.parts = append(c.parts, f)
		}
		body := box(0, 0, 1.0, 0.62, rgb(236, 234, 222))
		body.r, body.sh, body.p0, body.p1 = 0.05, shBevel, 0.1, -0.15
		c.parts = append(c.parts, body)
		lens := box(0.05, 0, 0.62, 0.5, []([3]float32){rgb(240, 200, 120), rgb(200, 230, 200), rgb(250, 170, 150)}[b.r.IntN(3)])
		lens.r, lens.alpha, lens.sh, lens.p0, lens.p1, lens.p2 = 0.2, 0.8, shDome, 0.5, 3, 0.35
		c.parts = append(c.parts, lens)
		c.parts = append(c.parts, box(0.05, 0, 0.14, 0.14, rgb(90, 80, 60)), box(-0.85, 0, 0.1, 0.5, rgb(60, 150, 70)))
		br := box(0, 0, 1.25, 0.2, pal.solder)
		br.r, br.sh, br.p1, br.p2 = 0.15, shDome, 2.5, 0.55
		c.bridges = append(c.bridges, br)
		return c
	}
	c := comp{kind: "sod123", ref: b.ref("D"), hx: 2.1, hy: 0.8}
	for _, sx := range []float64{-1, 1} {
		pad := box(sx*1.6, 0, 0.5, 0.6, pal.pad)
		pad.sh, pad.p0 = shGrain, 0.06
		c.pads = append(c.pads, pad)
		paste := box(sx*1.6, 0, 0.4, 0.48, pal.solder)
		paste.r, paste.sh, paste.p1, paste.p2 = 0.25, shDome, 3, 0.5
		c.paste = append(c.paste, paste)
		lead := box(sx*1.55, 0, 0.35, 0.3, pal.metal)
		lead.sh, lead.p0, lead.p1, lead.p2 = shCylX, float32(sx*0.1), 0.35, 0.5
		c.parts = append(c.parts, lead)
	}
	c.parts = append(c.parts, shadow(1.35, 0.8, 1.1))
	body := box(0, 0, 1.35, 0.8, rgb(30, 30, 32))
	body.r, body.sh, body.p0, body.p1 = 0.1, shBevel, 0.12, 0.6
	c.parts = append(c.parts, body)
	c.parts = append(c.parts, box(-0.95, 0, 0.13, 0.75, rgb(150, 150, 146)))
	c.parts = append(c.parts, textPrims(fmt.Sprintf("%c%d", 'A'+rune(b.r.IntN(26)), b.r.IntN(10)), 0.2, 0, 0.55, 0, rgb(130, 130, 126), 0.85)...)
	return c
}

// crystal is an HC-49 SMD crystal can.
func (b *builder) crystal() comp {
	pal := b.d.pal
	c := comp{kind: "crystal", ref: b.ref("Y"), hx: 6.4, hy: 2.4}
	for _, sx := range []float64{-1, 1} {
		pad := box(sx*4.8, 0, 1.5, 1.0, pal.pad)
		pad.sh, pad.p0 = shGrain, 0.06
		c.pads = append(c.pads, pad)
	}
	c.parts = append(c.parts, shadow(5.7, 2.35, 3.5))
	can := box(0, 0, 5.7, 2.35, rgb(200, 202, 206))
	can.r, can.sh, can.p0, can.p1, can.p2 = 2.3, shCylY, -0.3, 0.3, 0.5
	c.parts = append(c.parts, can)
	c.parts = append(c.parts, textPrims("16.000", 0, 0, 0.9, 0, rgb(90, 90, 96), 0.8)...)
	return c
}

// header is a 2.54 mm pin header with n pins along local x.
func (b *builder) header(n int) comp {
	pal := b.d.pal
	l := float64(n) * 2.54
	c := comp{kind: "header", ref: b.ref("J"), hx: l/2 + 0.2, hy: 1.4}
	for i := 0; i < n; i++ {
		x := -l/2 + 1.27 + float64(i)*2.54
		ring := circle(x, 0, 0.9, pal.pad)
		if i == 0 {
			ring = box(x, 0, 0.9, 0.9, pal.pad)
		}
		ring.sh, ring.p0 = shGrain, 0.06
		c.pads = append(c.pads, ring)
	}
	c.parts = append(c.parts, shadow(l/2, 1.27, 6))
	body := box(0, 0, l/2, 1.27, rgb(26, 26, 28))
	body.r, body.sh, body.p0, body.p1 = 0.1, shBevel, 0.2, 0.7
	c.parts = append(c.parts, body)
	for i := 0; i < n; i++ {
		x := -l/2 + 1.27 + float64(i)*2.54
		pin := box(x, 0, 0.32, 0.32, rgb(222, 186, 96))
		pin.r, pin.sh, pin.p1, pin.p2 = 0.05, shDome, 4, 0.5
		c.parts = append(c.parts, pin)
	}
	return c
}

// textPrims lays out s centred at (x, y) with character height h (mm), rotated by a.
func textPrims(s string, x, y, h, a float64, col [3]float32, alpha float64) []lprim {
	u := h / 5
	n := 0
	for range s {
		n++
	}
	w := float64(n*4-1) * u
	ca, sa := math.Cos(a), math.Sin(a)
	var out []lprim
	textRuns(s, func(cx, row, k int) {
		lx := -w/2 + (float64(cx)+float64(k)/2)*u
		ly := -h/2 + (float64(row)+0.5)*u
		p := box(x+ca*lx-sa*ly, y+sa*lx+ca*ly, float64(k)*u/2+u*0.05, u*0.55, col)
		p.a, p.alpha = a, alpha
		out = append(out, p)
	})
	return out
}

// toBoard maps a point of c's local frame to the board.
func (c *comp) toBoard(x, y float64) (float64, float64) {
	ca, sa := math.Cos(c.a), math.Sin(c.a)
	return c.x + ca*x - sa*y, c.y + sa*x + ca*y
}

// route draws copper under the mask: stubs from pads to vias and traces from passives to IC leads.
func (b *builder) route() {
	d := b.d
	pal := d.pal
	tw := 0.22
	var traces, vias []lprim
	via := func(x, y float64) {
		v := circle(x, y, 0.32, pal.maskCu)
		v.sh, v.p1, v.p2 = shDome, 3, 0.25
		vias = append(vias, v, circle(x, y, 0.14, rgb(22, 40, 26)))
	}
	path := func(x0, y0, x1, y1 float64) {
		dx, dy := x1-x0, y1-y0
		m := math.Min(math.Abs(dx), math.Abs(dy))
		mx, my := x0+math.Copysign(m, dx), y0+math.Copysign(m, dy)
		traces = append(traces, capsule(x0, y0, mx, my, tw, pal.maskCu), capsule(mx, my, x1, y1, tw, pal.maskCu))
	}
	// IC lead points for passives to connect to.
	type pt struct{ x, y float64 }
	var leads []pt
	for _, ci := range b.ics {
		c := &d.comps[ci]
		for _, p := range c.pads {
			x, y := c.toBoard(p.x, p.y)
			// fan out: stub beyond the pad, away from the IC centre
			ox, oy := x-c.x, y-c.y
			n := math.Hypot(ox, oy)
			ex, ey := x+ox/n*1.2, y+oy/n*1.2
			if math.Abs(ox) > math.Abs(oy) {
				ey = y
			} else {
				ex = x
			}
			if b.r.Float64() < 0.6 {
				traces = append(traces, capsule(x, y, ex, ey, tw, pal.maskCu))
				leads = append(leads, pt{ex, ey})
			}
		}
	}
	for i := range d.comps {
		c := &d.comps[i]
		if !c.passive {
			continue
		}
		x0, y0 := c.toBoard(c.pads[0].x, c.pads[0].y)
		x1, y1 := c.toBoard(c.pads[1].x, c.pads[1].y)
		ax, ay := x1-x0, y1-y0
		n := math.Hypot(ax, ay)
		ax, ay = ax/n, ay/n
		vx, vy := x1+ax*1.1, y1+ay*1.1
		if vx > 1.5 && vy > 1.5 && vx < d.wmm-1.5 && vy < d.hmm-1.5 {
			traces = append(traces, capsule(x1, y1, vx, vy, tw, pal.maskCu))
			via(vx, vy)
		}
		best, bd := -1, 8.0
		for k, l := range leads {
			if dd := math.Hypot(l.x-x0, l.y-y0); dd < bd {
				best, bd = k, dd
			}
		}
		if best >= 0 {
			path(x0, y0, leads[best].x, leads[best].y)
			leads = append(leads[:best], leads[best+1:]...)
		} else {
			ex, ey := x0-ax*1.1, y0-ay*1.1
			if ex > 1.5 && ey > 1.5 && ex < d.wmm-1.5 && ey < d.hmm-1.5 {
				traces = append(traces, capsule(x0, y0, ex, ey, tw, pal.maskCu))
				via(ex, ey)
			}
		}
	}
	for _, l := range leads {
		if b.r.Float64() < 0.5 {
			via(l.x, l.y)
		}
	}
	// A few wide power traces along the board edges.
	for k := 0; k < 2; k++ {
		y := 5.5 + float64(k)*0.9
		traces = append(traces, capsule(6.5, y, d.wmm-6.5, y, 0.5, pal.maskCu))
		y = d.hmm - 5.5 - float64(k)*0.9
		traces = append(traces, capsule(6.5, y, d.wmm-6.5, y, 0.5, pal.maskCu))
	}
	// Pour goes right above the substrate (the first primitive).
	pour := b.pour(traces, vias)
	d.under = append(append(append([]lprim{}, d.under[:1]...), pour...), d.under[1:]...)
	d.under = append(d.under, traces...)
	d.under = append(d.under, vias...)
}

// pour returns copper pour areas under the mask with their clearances around traces, vias
// and pads (drawn before the traces and pads themselves).
func (b *builder) pour(traces, vias []lprim) []lprim {
	d := b.d
	pal := d.pal
	var out []lprim
	cu := func(x0, y0, x1, y1 float64) {
		p := box((x0+x1)/2, (y0+y1)/2, (x1-x0)/2, (y1-y0)/2, pal.maskCu)
		p.r, p.sh, p.p0, p.p1 = 0.4, shMask, 0.035, 0.05
		out = append(out, p)
	}
	if b.r.Float64() < 0.5 {
		cu(1.0, 1.0, d.wmm-1.0, d.hmm-1.0)
	} else {
		for k := 0; k < 2+b.r.IntN(3); k++ {
			w, h := b.uniform(6, d.wmm*0.5), b.uniform(6, d.hmm*0.5)
			x, y := b.uniform(1, d.wmm-1-w), b.uniform(1, d.hmm-1-h)
			cu(x, y, x+w, y+h)
		}
	}
	gap := 0.2
	clear := func(p lprim, g float64) {
		p.hx, p.hy, p.r = p.hx+g, p.hy+g, p.r+g
		p.col, p.sh, p.p0, p.p1, p.alpha = pal.mask, shMask, 0.035, 0.05, 1
		out = append(out, p)
	}
	for _, t := range traces {
		clear(t, gap)
	}
	for _, v := range vias {
		if v.hx > 0.2 {
			clear(v, gap)
		}
	}
	for i := range d.comps {
		c := &d.comps[i]
		for _, p := range c.pads {
			p.x, p.y = c.toBoard(p.x, p.y)
			p.a += c.a
			clear(p, gap+0.05)
		}
	}
	for _, h := range d.under {
		switch h.col { // mounting holes' rings and fiducials keep their distance
		case pal.pad:
			clear(h, 0.5)
		case pal.maskBare:
			clear(h, 0.3)
		}
	}
	return out
}

// marks reserves room for the board name and a data-matrix-like code before parts are placed.
func (b *builder) marks() {
	d := b.d
	pal := d.pal
	// Board name, revision and a data-matrix-like code in free corners.
	name := fmt.Sprintf("HSD-%03d REV %c", b.r.IntN(1000), 'A'+rune(b.r.IntN(4)))
	for t := 0; t < 60; t++ {
		h := 1.1
		n := float64(len(name)*4-1) * h / 5
		x, y := b.uniform(2, d.wmm-2-n), b.uniform(2, d.hmm-2-h)
		r := rectMM{x, y, x + n, y + h}
		if b.fits(r) {
			d.occ = append(d.occ, r)
			b.markPrims = append(b.markPrims, textPrims(name, x+n/2, y+h/2, h, 0, pal.silk, 0.93)...)
			break
		}
	}
	for t := 0; t < 60; t++ {
		s := 3.0
		x, y := b.uniform(2, d.wmm-2-s), b.uniform(2, d.hmm-2-s)
		r := rectMM{x - 0.3, y - 0.3, x + s + 0.3, y + s + 0.3}
		if !b.fits(r) {
			continue
		}
		d.occ = append(d.occ, r)
		bg := box(x+s/2, y+s/2, s/2+0.2, s/2+0.2, pal.silk)
		b.markPrims = append(b.markPrims, bg)
		cell := s / 12
		for i := 0; i < 12; i++ {
			for j := 0; j < 12; j++ {
				on := i == 0 || j == 11 || (i == 11 && j%2 == 0) || (j == 0 && i%2 == 1) || (i > 0 && j < 11 && b.r.Float64() < 0.5)
				if on {
					b.markPrims = append(b.markPrims, box(x+(float64(j)+0.5)*cell, y+(float64(i)+0.5)*cell, cell/2, cell/2, rgb(24, 30, 26)))
				}
			}
		}
		break
	}
}

// silkFree reports whether silkscreen text fits at r: on the board, off every part and hole,
// and off other text (it may cross copper and outlines, as on real boards).
func (b *builder) silkFree(r rectMM) bool {
	d := b.d
	if r.x0 < 1 || r.y0 < 1 || r.x1 > d.wmm-1 || r.y1 > d.hmm-1 {
		return false
	}
	for i := range d.comps {
		if r.overlaps(keepout(&d.comps[i], 0.05)) {
			return false
		}
	}
	for _, o := range d.occ[:b.fixed] {
		if r.overlaps(o) {
			return false
		}
	}
	for _, t := range b.texts {
		if r.overlaps(t) {
			return false
		}
	}
	return true
}

// silk prints outlines, designators, polarity marks, the board name and a 2D code.
func (b *builder) silk() {
	d := b.d
	pal := d.pal
	lw := 0.14
	var out []lprim

	line := func(x0, y0, x1, y1 float64) {
		p := capsule(x0, y0, x1, y1, lw, pal.silk)
		p.alpha = 0.93
		out = append(out, p)
	}
	for i := range d.comps {
		c := &d.comps[i]
		ko := keepout(c, 0.25)
		switch {
		case !c.passive && c.kind != "header":
			line(ko.x0, ko.y0, ko.x1, ko.y0)
			line(ko.x1, ko.y0, ko.x1, ko.y1)
			line(ko.x1, ko.y1, ko.x0, ko.y1)
			line(ko.x0, ko.y1, ko.x0, ko.y0)
			if c.kind == "tantalum" || c.kind == "elcap" || c.kind == "sod123" {
				px, py := c.toBoard(-c.hx-0.6, -c.hy-0.2)
				out = append(out, textPrims("+", px, py, 0.8, 0, pal.silk, 0.93)...)
			}
		case c.kind == "header":
			line(ko.x0, ko.y0, ko.x1, ko.y0)
			line(ko.x0, ko.y1, ko.x1, ko.y1)
		}
		// Designator next to the part where there is room: above, below, right or left.
		h := 0.65
		n := float64(len(c.ref)*4-1) * h / 5
		for _, at := range [][2]float64{
			{(ko.x0 + ko.x1) / 2, ko.y0 - h/2 - 0.12}, {(ko.x0 + ko.x1) / 2, ko.y1 + h/2 + 0.12},
			{ko.x1 + n/2 + 0.15, (ko.y0 + ko.y1) / 2}, {ko.x0 - n/2 - 0.15, (ko.y0 + ko.y1) / 2},
		} {
			r := rectMM{at[0] - n/2, at[1] - h/2, at[0] + n/2, at[1] + h/2}
			if b.silkFree(r) {
				b.texts = append(b.texts, r)
				d.occ = append(d.occ, r)
				out = append(out, textPrims(c.ref, at[0], at[1], h, 0, pal.silk, 0.93)...)
				break
			}
		}
	}
	out = append(out, b.markPrims...)
	d.silkFrom = len(d.under)
	d.under = append(d.under, out...)
}
