package synth

import (
	"image"
	"math"
	"runtime"
	"sync"

	"github.com/hisirdesk/hisir/engine/geom"
)

// shade selects how a primitive colours the pixels it covers.
type shade uint8

const (
	shFlat  shade = iota // flat colour
	shBevel              // flat with a band of width p0 along the edge scaled by (1+p1)
	shCylX               // metal cylinder along local x: highlight at u=p0, width p1, strength p2
	shCylY               // same across local y (v)
	shDome               // sphere-like: light from the top left, specular p2, exponent p1, flatness p0
	shMask               // solder mask over the glass weave: weave p0, blotches p1, lighter rim p2 (mm → px)
	shGrain              // matte surface: colour × (1 + p0·hash noise)
)

// prim is one anti-aliased rounded box in panel pixel coordinates: every drawn thing is one
// (a circle is a box with r = hx = hy, a trace a capsule with r = hy).
type prim struct {
	cx, cy     float32 // centre
	ux, uy     float32 // local x axis (unit)
	hx, hy     float32 // half extents
	r          float32 // corner radius ≤ min(hx, hy)
	soft       float32 // edge ramp width in pixels (≥ 1 for anti-aliasing; larger for shadows)
	alpha      float32
	col        [3]float32
	sh         shade
	p0, p1, p2 float32
	bb         geom.Rect // pixels the primitive may touch
}

// finish computes the bounding box of p.
func (p *prim) finish() {
	ax := float64(abs32(p.ux)*p.hx + abs32(p.uy)*p.hy)
	ay := float64(abs32(p.uy)*p.hx + abs32(p.ux)*p.hy)
	m := float64(p.soft)/2 + 1
	p.bb = geom.Rect{
		X0: int(math.Floor(float64(p.cx) - ax - m)), Y0: int(math.Floor(float64(p.cy) - ay - m)),
		X1: int(math.Ceil(float64(p.cx) + ax + m)), Y1: int(math.Ceil(float64(p.cy) + ay + m)),
	}
	if p.r > p.hx {
		p.r = p.hx
	}
	if p.r > p.hy {
		p.r = p.hy
	}
}

// corners returns the corners of p's box grown by m pixels, in panel coordinates.
func (p *prim) corners(m float64) [4]geom.Point {
	hx, hy := float64(p.hx)+m, float64(p.hy)+m
	ux, uy := float64(p.ux), float64(p.uy)
	cx, cy := float64(p.cx), float64(p.cy)
	var out [4]geom.Point
	for i, s := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		lx, ly := s[0]*hx, s[1]*hy
		out[i] = geom.Point{X: cx + lx*ux - ly*uy, Y: cy + lx*uy + ly*ux}
	}
	return out
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// look is the per-panel camera: lighting, colour temperature and sensor noise.
type look struct {
	seed    uint64
	gain    float32
	gx, gy  float32 // linear gradient across the panel (relative gain change from centre to edge)
	vig     float32 // vignetting strength
	hot     float32 // strength of the broad reflection of the ring light (hot spot)
	hotX    []float32
	hotY    []float32 // separable Gaussian profile of the hot spot
	ct      [3]float32
	noise   float32 // sensor noise sigma in 8-bit levels
	shot    float32 // extra noise proportional to sqrt(level)
	carrier [3]float32
}

// texture holds the panel-wide tables the shaders read: weave profiles and low-frequency noise.
type texture struct {
	w, h     int
	weaveX   []float32 // per column
	weaveY   []float32 // per row
	cell     int       // low-frequency grid spacing
	gw, gh   int
	lowGrid  []float32 // (gw+1)×(gh+1) random values in [-1,1]
	gauss    []float32 // standard normal table, len gaussN
	noiseKey uint64
}

const gaussN = 4096

func newTexture(w, h int, seed uint64, pxPerMM float64) *texture {
	t := &texture{w: w, h: h, noiseKey: seed}
	r := newRand(seed, 0x7e47)
	// Glass weave: bundles about 0.45 mm apart, seen faintly through the mask.
	period := 0.45 * pxPerMM
	if period < 3 {
		period = 3
	}
	fx := 2 * math.Pi / period
	phx, phy := r.Float64()*6.28, r.Float64()*6.28
	t.weaveX = make([]float32, w)
	for x := range t.weaveX {
		t.weaveX[x] = float32(math.Sin(float64(x)*fx + phx))
	}
	t.weaveY = make([]float32, h)
	for y := range t.weaveY {
		t.weaveY[y] = float32(math.Sin(float64(y)*fx + phy))
	}
	t.cell = max(8, int(1.5*pxPerMM))
	t.gw, t.gh = w/t.cell+2, h/t.cell+2
	t.lowGrid = make([]float32, t.gw*t.gh)
	for i := range t.lowGrid {
		t.lowGrid[i] = float32(r.Float64()*2 - 1)
	}
	t.gauss = gaussTable()
	return t
}

var (
	gaussOnce sync.Once
	gaussTab  []float32
)

// gaussTable is a fixed table of standard normal values (Box–Muller from a fixed seed).
func gaussTable() []float32 {
	gaussOnce.Do(func() {
		r := newRand(0x9a55, 1)
		gaussTab = make([]float32, gaussN)
		for i := 0; i < gaussN; i += 2 {
			u1 := 1 - r.Float64()
			u2 := r.Float64()
			m := math.Sqrt(-2 * math.Log(u1))
			gaussTab[i] = float32(m * math.Cos(2*math.Pi*u2))
			gaussTab[i+1] = float32(m * math.Sin(2*math.Pi*u2))
		}
	})
	return gaussTab
}

// low is the smooth low-frequency noise in [-1,1] at pixel (x, y).
func (t *texture) low(x, y int) float32 {
	gx, gy := x/t.cell, y/t.cell
	fx := float32(x-gx*t.cell) / float32(t.cell)
	fy := float32(y-gy*t.cell) / float32(t.cell)
	i := gy*t.gw + gx
	a, b := t.lowGrid[i], t.lowGrid[i+1]
	c, d := t.lowGrid[i+t.gw], t.lowGrid[i+t.gw+1]
	top := a + (b-a)*fx
	bot := c + (d-c)*fx
	return top + (bot-top)*fy
}

// scene is everything needed to render any rectangle of a panel.
type scene struct {
	w, h  int
	prims []prim // in painting order
	look  look
	tex   *texture
}

// bandRows is the height of the row bands rendered in parallel.
const bandRows = 32

// render draws the rectangle r of the scene into dst (whose bounds must hold r), splitting it
// into row bands processed by up to GOMAXPROCS goroutines.
func (s *scene) render(dst *image.NRGBA, r geom.Rect) {
	r = r.Intersect(geom.Rect{X1: s.w, Y1: s.h})
	if r.Empty() {
		return
	}
	nb := (r.Dy() + bandRows - 1) / bandRows
	workers := min(runtime.GOMAXPROCS(0), nb)
	// Bin primitives by band once.
	bins := make([][]int32, nb)
	for i := range s.prims {
		bb := s.prims[i].bb.Intersect(r)
		if bb.Empty() {
			continue
		}
		b0 := (bb.Y0 - r.Y0) / bandRows
		b1 := (bb.Y1 - 1 - r.Y0) / bandRows
		for b := b0; b <= b1; b++ {
			bins[b] = append(bins[b], int32(i))
		}
	}
	var wg sync.WaitGroup
	next := make(chan int, nb)
	for b := 0; b < nb; b++ {
		next <- b
	}
	close(next)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float32, 4*r.Dx()*bandRows)
			for b := range next {
				y0 := r.Y0 + b*bandRows
				band := geom.Rect{X0: r.X0, Y0: y0, X1: r.X1, Y1: min(y0+bandRows, r.Y1)}
				n := band.Dx() * band.Dy()
				s.renderBand(dst, band, bins[b], buf[:3*n], buf[3*n:4*n])
			}
		}()
	}
	wg.Wait()
}

// renderBand renders one band: carrier background, primitives, then camera and quantisation.
// low holds the band's low-frequency noise, shared by the carrier and the mask shader.
func (s *scene) renderBand(dst *image.NRGBA, band geom.Rect, ids []int32, buf, low []float32) {
	bw := band.Dx()
	// Carrier: dark anodised fixture with a little low-frequency variation.
	car := s.look.carrier
	for y := band.Y0; y < band.Y1; y++ {
		row := buf[(y-band.Y0)*bw*3 : (y-band.Y0+1)*bw*3]
		lrow := low[(y-band.Y0)*bw : (y-band.Y0+1)*bw]
		for x := band.X0; x < band.X1; x++ {
			l := s.tex.low(x, y)
			lrow[x-band.X0] = l
			f := 1 + 0.08*l
			i := (x - band.X0) * 3
			row[i], row[i+1], row[i+2] = car[0]*f, car[1]*f, car[2]*f
		}
	}
	for _, id := range ids {
		s.drawPrim(&s.prims[id], band, buf, low)
	}
	s.develop(dst, band, buf)
}

// drawPrim blends one primitive into the band buffer.
func (s *scene) drawPrim(p *prim, band geom.Rect, buf, low []float32) {
	bb := p.bb.Intersect(band)
	if bb.Empty() {
		return
	}
	bw := band.Dx()
	invSoft := 1 / p.soft
	ihx, ihy := 1/p.hx, 1/p.hy
	bx, by := p.hx-p.r, p.hy-p.r
	for y := bb.Y0; y < bb.Y1; y++ {
		fy := float32(y) + 0.5 - p.cy
		row := buf[(y-band.Y0)*bw*3:]
		lrow := low[(y-band.Y0)*bw:]
		for x := bb.X0; x < bb.X1; x++ {
			fx := float32(x) + 0.5 - p.cx
			lx := fx*p.ux + fy*p.uy
			ly := fy*p.ux - fx*p.uy
			qx := abs32(lx) - bx
			qy := abs32(ly) - by
			var d float32
			if qx > 0 && qy > 0 {
				d = float32(math.Sqrt(float64(qx*qx+qy*qy))) - p.r
			} else {
				d = max(qx, qy) - p.r
			}
			a := 0.5 - d*invSoft
			if a <= 0 {
				continue
			}
			if a > 1 {
				a = 1
			}
			a *= p.alpha
			cr, cg, cb := p.col[0], p.col[1], p.col[2]
			switch p.sh {
			case shFlat:
			case shBevel:
				e := clamp01(1 + d/p.p0)
				f := 1 + p.p1*e
				cr, cg, cb = cr*f, cg*f, cb*f
			case shCylX, shCylY:
				u := lx * ihx
				if p.sh == shCylY {
					u = ly * ihy
				}
				t := (u - p.p0) / p.p1
				f := 0.75 - 0.25*u*u + p.p2*float32(math.Exp(float64(-t*t)))
				cr, cg, cb = cr*f, cg*f, cb*f
			case shDome:
				// panel-aligned normalised offsets so the highlight always faces the light
				nx, ny := fx*ihx, fy*ihy
				rr := nx*nx + ny*ny
				f := 0.55 + 0.45*float32(math.Sqrt(float64(clamp01(1-rr))))
				if p.p0 > 0 { // flattened top (cans): mostly even with a darker rolled rim
					f += p.p0 * (0.92 - 0.3*clamp01((rr-0.7)*4) - f)
				}
				hx, hy := nx+0.35, ny+0.35
				f += p.p2 * float32(math.Exp(float64(-(hx*hx+hy*hy)*p.p1)))
				cr, cg, cb = cr*f, cg*f, cb*f
			case shMask:
				w := s.tex.weaveX[x] * s.tex.weaveY[y]
				f := 1 + p.p0*w + p.p1*lrow[x-band.X0]
				if p.p2 > 0 { // lighter routed edge of the board, p2 pixels wide
					f *= 1 + 0.3*clamp01(1+d/p.p2)
				}
				cr, cg, cb = cr*f, cg*f, cb*f
			case shGrain:
				n := s.tex.gauss[hash2(uint32(x), uint32(y), 0x51ab)&(gaussN-1)]
				f := 1 + p.p0*n
				cr, cg, cb = cr*f, cg*f, cb*f
			}
			i := (x - band.X0) * 3
			row[i] += a * (cr - row[i])
			row[i+1] += a * (cg - row[i+1])
			row[i+2] += a * (cb - row[i+2])
		}
	}
}

// develop applies the camera (gain, gradient, vignetting, colour temperature, sensor noise)
// and writes 8-bit pixels.
func (s *scene) develop(dst *image.NRGBA, band geom.Rect, buf []float32) {
	bw := band.Dx()
	L := &s.look
	iw, ih := 1/float32(s.w), 1/float32(s.h)
	g := s.tex.gauss
	for y := band.Y0; y < band.Y1; y++ {
		src := buf[(y-band.Y0)*bw*3 : (y-band.Y0+1)*bw*3]
		off := dst.PixOffset(band.X0, y)
		out := dst.Pix[off : off+4*bw]
		ny := float32(y)*ih - 0.5
		hotY := L.hotY[y]
		for x := band.X0; x < band.X1; x++ {
			nx := float32(x)*iw - 0.5
			f := L.gain * (1 + L.gx*nx + L.gy*ny) * (1 - L.vig*(nx*nx+ny*ny)) * (1 + L.hot*L.hotX[x]*hotY)
			h := hash2(uint32(x), uint32(y), uint32(L.seed))
			i := (x - band.X0) * 3
			o := (x - band.X0) * 4
			for c := 0; c < 3; c++ {
				v := src[i+c] * f * L.ct[c]
				sig := L.noise
				if v > 0 {
					sig += L.shot * sqrtTab[min(int(v), len(sqrtTab)-1)]
				}
				v += sig * g[(h>>(c*10))&(gaussN-1)]
				v += 0.5
				if v < 0 {
					v = 0
				} else if v > 255 {
					v = 255
				}
				out[o+c] = uint8(v)
			}
			out[o+3] = 255
		}
	}
}

// sqrtTab holds √i for the shot noise: a level-exact square root is not needed.
var sqrtTab = func() []float32 {
	t := make([]float32, 512)
	for i := range t {
		t[i] = float32(math.Sqrt(float64(i) + 0.5))
	}
	return t
}()

// hash2 is a small integer hash of a pixel position and a key.
func hash2(x, y, k uint32) uint32 {
	h := x*0x9E3779B1 ^ y*0x85EBCA77 ^ k*0xC2B2AE3D
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 12
	h *= 0x297A2D39
	h ^= h >> 15
	return h
}
