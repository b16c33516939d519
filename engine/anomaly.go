package engine

import (
	"errors"
	"fmt"
	"math"
)

// Map holds one value per pixel, row-major: V[y*W+x].
type Map struct {
	W, H int
	V    []float32
}

// NewMap returns a zero w×h map.
func NewMap(w, h int) *Map { return &Map{W: w, H: h, V: make([]float32, w*h)} }

// reuse returns m resized to w×h, keeping its storage when large enough (values are left
// as they are: the caller overwrites them all), or a new map when m is nil.
func reuse(m *Map, w, h int) *Map {
	if m == nil {
		return NewMap(w, h)
	}
	m.W, m.H, m.V = w, h, grow(m.V, w*h)
	return m
}

// Range returns the range of the map's values (0, 0 for an empty map), ignoring NaN.
func (m *Map) Range() (lo, hi float32) {
	if len(m.V) == 0 {
		return 0, 0
	}
	const parts = 16 // fixed split: the result does not depend on the number of cores
	var los, his [parts]float32
	n := len(m.V)
	parallel(parts, func(a, b int) {
		for k := a; k < b; k++ {
			los[k], his[k] = rangeNaN(m.V[k*n/parts:(k+1)*n/parts], float32(math.Inf(1)), float32(math.Inf(-1)))
		}
	})
	lo, hi = los[0], his[0]
	for k := 1; k < parts; k++ {
		lo, hi = min(lo, los[k]), max(hi, his[k])
	}
	if lo > hi { // all NaN
		return 0, 0
	}
	return lo, hi
}

// MinMax is the per-image min-max normalisation of the paper: (raw − min)/(max − min),
// all zeros when max = min (contract step 6).
func MinMax(raw *Map) *Map { return MinMaxInto(nil, raw) }

// MinMaxInto is MinMax writing into dst, resized to raw and entirely overwritten (nil
// allocates; dst may be raw itself, normalising in place). It returns dst.
func MinMaxInto(dst, raw *Map) *Map {
	lo, hi := raw.Range()
	dst = reuse(dst, raw.W, raw.H)
	if !(hi > lo) {
		clear(dst.V)
		return dst
	}
	k := 1 / (float64(hi) - float64(lo))
	parallel(len(raw.V), func(a, b int) {
		scaleRange(dst.V[a:b], raw.V[a:b], float64(lo), k, false)
	})
	return dst
}

// Calibrated is the calibrated score max(0, (raw − q50)/(q999 − q50)) of the contract;
// ErrNoCalibration when c is nil.
func Calibrated(raw *Map, c *Calibration) (*Map, error) { return CalibratedInto(nil, raw, c) }

// CalibratedInto is Calibrated writing into dst, resized to raw and entirely overwritten
// (nil allocates; dst may be raw itself). It returns dst.
func CalibratedInto(dst, raw *Map, c *Calibration) (*Map, error) {
	if c == nil {
		return nil, ErrNoCalibration
	}
	if !(c.Q999 > c.Q50) {
		return nil, fmt.Errorf("calibrated score: %w: q999 %g must exceed q50 %g", ErrContract, c.Q999, c.Q50)
	}
	dst = reuse(dst, raw.W, raw.H)
	q50, k := c.Q50, 1/(c.Q999-c.Q50)
	parallel(len(raw.V), func(a, b int) {
		scaleRange(dst.V[a:b], raw.V[a:b], q50, k, true)
	})
	return dst, nil
}

// ErrCalibrationMismatch reports a calibration computed with other pipeline settings than
// the ones in use: its quantiles do not describe this pipeline's raw maps.
var ErrCalibrationMismatch = errors.New("calibration was computed with other pipeline settings")

// CheckCalibration reports whether raw maps of a pipeline with options o may be scored with
// calibration c: merge, cell statistic, reduction and blur must agree (empty fields of c
// count as the contract defaults). ErrNoCalibration when c is nil.
func CheckCalibration(c *Calibration, o Options) error {
	if c == nil {
		return ErrNoCalibration
	}
	o, err := o.normalise()
	if err != nil {
		return err
	}
	cal, _ := Options{Merge: c.Merge, CellStat: c.CellStat, Reduce: c.Reduce}.normalise()
	switch {
	case cal.Merge != o.Merge:
		return fmt.Errorf("%w: merge %s, pipeline %s", ErrCalibrationMismatch, cal.Merge, o.Merge)
	case cal.CellStat != o.CellStat && o.Merge == MergeROPS:
		return fmt.Errorf("%w: cell statistic %s, pipeline %s", ErrCalibrationMismatch, cal.CellStat, o.CellStat)
	case cal.Reduce != o.Reduce:
		return fmt.Errorf("%w: channel reduction %s, pipeline %s", ErrCalibrationMismatch, cal.Reduce, o.Reduce)
	case math.Abs(c.BlurSigma-o.BlurSigma) > 1e-9:
		return fmt.Errorf("%w: blur sigma %g, pipeline %g", ErrCalibrationMismatch, c.BlurSigma, o.BlurSigma)
	}
	return nil
}

// GaussianKernel returns the normalised taps w[0…2r] of a Gaussian with standard deviation
// sigma truncated at 3σ: r = ⌊3σ + 0.5⌋ (the rounding scipy.ndimage uses with truncate=3),
// w[k] ∝ exp(−(k−r)²/(2σ²)), summed in float64 and stored as float32.
func GaussianKernel(sigma float64) []float32 {
	r := int(3*sigma + 0.5)
	w := make([]float64, 2*r+1)
	var sum float64
	for k := range w {
		d := float64(k - r)
		w[k] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += w[k]
	}
	out := make([]float32, len(w))
	for k := range w {
		out[k] = float32(w[k] / sum)
	}
	return out
}

// Blur returns m convolved with a Gaussian of the given sigma (truncated at 3σ),
// separably: rows first, then columns, reflect-101 borders (repeated for tiny maps).
// Accumulation is float32: the centre tap, then the symmetric pairs outward
// (w[r+k]·(v[−k] + v[+k])). sigma ≤ 0 returns a copy.
func Blur(m *Map, sigma float64) *Map {
	out := NewMap(m.W, m.H)
	copy(out.V, m.V)
	if sigma > 0 {
		blurInPlace(out.V, m.W, m.H, GaussianKernel(sigma), make([]float32, len(m.V)))
	}
	return out
}

// blurInPlace blurs the w×h values v with the kernel taps, using tmp (w×h) for the
// horizontal pass; rows are split between goroutines.
func blurInPlace(v []float32, W, H int, taps []float32, tmp []float32) {
	r := len(taps) / 2
	wc, ws := taps[r], taps[r+1:]
	// Horizontal pass: v → tmp.
	parallel(H, func(lo, hi int) {
		idx := make([]int, W+2*r)
		for x := range idx {
			idx[x] = Reflect(x-r, W)
		}
		for y := lo; y < hi; y++ {
			src, dst := v[y*W:(y+1)*W], tmp[y*W:(y+1)*W]
			blurRowH(dst, src, taps) // the interior [r, W−r), when there is one
			for x := 0; x < W; x++ {
				if x == r && W > 2*r {
					x = W - r // skip the interior
				}
				s := wc * src[x]
				for k, wk := range ws {
					s += wk * (src[idx[x+r-1-k]] + src[idx[x+r+1+k]])
				}
				dst[x] = s
			}
		}
	})
	// Vertical pass: tmp → v, a row at a time.
	parallel(H, func(lo, hi int) {
		rows := make([][]float32, 2*r+1)
		ptrs := make([]*float32, 2*r+1)
		for y := lo; y < hi; y++ {
			rows[0] = tmp[y*W : (y+1)*W]
			for k := 0; k < r; k++ {
				ya, yb := Reflect(y-1-k, H), Reflect(y+1+k, H)
				rows[1+2*k], rows[2+2*k] = tmp[ya*W:(ya+1)*W], tmp[yb*W:(yb+1)*W]
			}
			blurRowV(v[y*W:(y+1)*W], rows, taps, ptrs)
		}
	})
}
