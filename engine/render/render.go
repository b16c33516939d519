// Package render draws what the engine finds: heatmaps of score maps through colour
// look-up tables, overlays on the photo, defect outlines with score labels (fogleman/gg),
// and fast PNG files (8-bit images, 16-bit grey maps). It works on Pix slices, never
// pixel by pixel through At/Set, so 4K images stay cheap.
package render

import (
	"image"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/hisirdesk/hisir/engine"
)

// Colormap maps a score in [0,1] to a colour through a 256-entry look-up table.
type Colormap struct {
	name string
	lut  [256][3]uint8
}

// Name is the colormap's lower-case name ("inferno", "jet", "grey").
func (c *Colormap) Name() string { return c.name }

// At returns the colour of score v (clamped to [0,1]; NaN counts as 0).
func (c *Colormap) At(v float32) (r, g, b uint8) {
	e := c.lut[lutIndex(v)]
	return e[0], e[1], e[2]
}

func newColormap(name string, f func(t float64) (r, g, b float64)) *Colormap {
	c := &Colormap{name: name}
	for i := range c.lut {
		r, g, b := f(float64(i) / 255)
		c.lut[i] = [3]uint8{to8(r), to8(g), to8(b)}
	}
	return c
}

func to8(v float64) uint8 {
	return uint8(math.Round(255 * math.Max(0, math.Min(1, v))))
}

// Built-in colormaps.
var (
	// Inferno is matplotlib's perceptually uniform black–purple–orange–yellow map
	// (degree-6 polynomial fit by Matt Zucker, CC0).
	Inferno = newColormap("inferno", inferno)
	// Jet is the classic blue–cyan–yellow–red map.
	Jet = newColormap("jet", func(t float64) (float64, float64, float64) {
		return 1.5 - math.Abs(4*t-3), 1.5 - math.Abs(4*t-2), 1.5 - math.Abs(4*t-1)
	})
	// Grey maps 0 to black and 1 to white.
	Grey = newColormap("grey", func(t float64) (float64, float64, float64) { return t, t, t })
)

// Colormaps lists the built-in colormaps by name.
var Colormaps = []*Colormap{Inferno, Jet, Grey}

// ColormapByName finds a built-in colormap, case-insensitively ("gray" is accepted).
func ColormapByName(name string) (*Colormap, bool) {
	name = strings.ToLower(name)
	if name == "gray" {
		name = "grey"
	}
	for _, c := range Colormaps {
		if c.name == name {
			return c, true
		}
	}
	return nil, false
}

func inferno(t float64) (float64, float64, float64) {
	c := [7][3]float64{
		{0.0002189403691192265, 0.001651004631001012, -0.01948089843709184},
		{0.1065134194856116, 0.5639564367884091, 3.932712388889277},
		{11.60249308247187, -3.972853965665698, -15.9423941062914},
		{-41.70399613139459, 17.43639888205313, 44.35414519872813},
		{77.162935699427, -33.40235894210092, -81.80730925738993},
		{-71.31942824499214, 32.62606426397723, 73.20951985803202},
		{25.13112622477341, -12.24266895238567, -23.07032500287172},
	}
	var out [3]float64
	for ch := 0; ch < 3; ch++ {
		v := c[6][ch]
		for k := 5; k >= 0; k-- {
			v = c[k][ch] + t*v
		}
		out[ch] = v
	}
	return out[0], out[1], out[2]
}

// lutIndex maps a score to its look-up table entry: clamp to [0,1], NaN to 0, round.
func lutIndex(v float32) int {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	return int(v*255 + 0.5)
}

// parallelRows runs f over [0,h) split into contiguous row ranges, one per CPU.
func parallelRows(h int, f func(y0, y1 int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > h {
		workers = h
	}
	if workers <= 1 || h < 64 {
		f(0, h)
		return
	}
	var wg sync.WaitGroup
	step := (h + workers - 1) / workers
	for y0 := 0; y0 < h; y0 += step {
		y1 := min(y0+step, h)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(y0, y1)
		}()
	}
	wg.Wait()
}

// Heatmap colours a score map (values in [0,1]; above 1 saturates, NaN is 0) with cmap.
// The result is opaque and the size of the map.
func Heatmap(score *engine.Map, cmap *Colormap) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, score.W, score.H))
	lut := &cmap.lut
	parallelRows(score.H, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			src := score.V[y*score.W : (y+1)*score.W]
			dst := out.Pix[y*out.Stride : y*out.Stride+4*score.W]
			for x, v := range src {
				e := lut[lutIndex(v)]
				d := dst[4*x : 4*x+4 : 4*x+4]
				d[0], d[1], d[2], d[3] = e[0], e[1], e[2], 255
			}
		}
	})
	return out
}

// Overlay blends heat over base: out = base·(1−a) + heat·a with a = opacity·heat alpha
// (opacity clamped to [0,1]). The result has base's bounds and alpha; where heat does not
// cover base, base shows through unchanged.
func Overlay(base *image.NRGBA, heat *image.NRGBA, opacity float64) *image.NRGBA {
	out := image.NewNRGBA(base.Rect)
	if base.Stride == out.Stride {
		copy(out.Pix, base.Pix)
	} else {
		// Sub-image base: copy row by row.
		w := 4 * base.Rect.Dx()
		for y := 0; y < base.Rect.Dy(); y++ {
			copy(out.Pix[y*out.Stride:y*out.Stride+w], base.Pix[y*base.Stride:y*base.Stride+w])
		}
	}
	op := uint32(math.Round(255 * math.Max(0, math.Min(1, opacity))))
	if op == 0 {
		return out
	}
	r := base.Rect.Intersect(heat.Rect)
	if r.Empty() {
		return out
	}
	w := r.Dx()
	parallelRows(r.Dy(), func(y0, y1 int) {
		for y := r.Min.Y + y0; y < r.Min.Y+y1; y++ {
			o := out.Pix[out.PixOffset(r.Min.X, y):][: 4*w : 4*w]
			h := heat.Pix[heat.PixOffset(r.Min.X, y):][: 4*w : 4*w]
			for i := 0; i < 4*w; i += 4 {
				a := op * uint32(h[i+3]) // in [0, 255²]
				na := 255*255 - a
				o[i] = uint8((uint32(o[i])*na + uint32(h[i])*a + 32512) / 65025)
				o[i+1] = uint8((uint32(o[i+1])*na + uint32(h[i+1])*a + 32512) / 65025)
				o[i+2] = uint8((uint32(o[i+2])*na + uint32(h[i+2])*a + 32512) / 65025)
			}
		}
	})
	return out
}

// BlendHeatmap colours score with cmap and blends it over dst in place with the given
// opacity (clamped to [0,1]): the same pixels as Overlay(dst, Heatmap(score, cmap), opacity)
// in one pass and without the heatmap's allocation, for 4K previews. Only the part of dst
// the map covers (from dst's top-left corner) changes; alpha is kept.
func BlendHeatmap(dst *image.NRGBA, score *engine.Map, cmap *Colormap, opacity float64) {
	op := uint32(math.Round(255 * math.Max(0, math.Min(1, opacity))))
	if op == 0 {
		return
	}
	// Pre-multiplied colour table: the heat part of every blend, rounded like Overlay.
	var heat [256][3]uint32
	for i, e := range cmap.lut {
		for ch := 0; ch < 3; ch++ {
			heat[i][ch] = uint32(e[ch])*op*255 + 32512
		}
	}
	na := 255*255 - op*255
	w := min(score.W, dst.Rect.Dx())
	h := min(score.H, dst.Rect.Dy())
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			src := score.V[y*score.W : y*score.W+w]
			o := dst.Pix[y*dst.Stride:][: 4*w : 4*w]
			for x, v := range src {
				e := &heat[lutIndex(v)]
				p := o[4*x : 4*x+3 : 4*x+3]
				p[0] = uint8((uint32(p[0])*na + e[0]) / 65025)
				p[1] = uint8((uint32(p[1])*na + e[1]) / 65025)
				p[2] = uint8((uint32(p[2])*na + e[2]) / 65025)
			}
		}
	})
}
