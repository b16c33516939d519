package engine

import (
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

// Range returns the range of the map's values (0, 0 for an empty map).
func (m *Map) Range() (lo, hi float32) {
	if len(m.V) == 0 {
		return 0, 0
	}
	lo, hi = m.V[0], m.V[0]
	for _, v := range m.V {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// MinMax is the per-image min-max normalisation of the paper: (raw − min)/(max − min),
// all zeros when max = min (contract step 6).
func MinMax(raw *Map) *Map {
	out := NewMap(raw.W, raw.H)
	lo, hi := raw.Range()
	if !(hi > lo) {
		return out
	}
	k := 1 / (float64(hi) - float64(lo))
	parallel(len(raw.V), func(a, b int) {
		for i := a; i < b; i++ {
			out.V[i] = float32((float64(raw.V[i]) - float64(lo)) * k)
		}
	})
	return out
}

// Calibrated is the calibrated score max(0, (raw − q50)/(q999 − q50)) of the contract;
// ErrNoCalibration when c is nil.
func Calibrated(raw *Map, c *Calibration) (*Map, error) {
	if c == nil {
		return nil, ErrNoCalibration
	}
	if !(c.Q999 > c.Q50) {
		return nil, fmt.Errorf("calibrated score: %w: q999 %g must exceed q50 %g", ErrContract, c.Q999, c.Q50)
	}
	out := NewMap(raw.W, raw.H)
	q50, k := c.Q50, 1/(c.Q999-c.Q50)
	parallel(len(raw.V), func(a, b int) {
		for i := a; i < b; i++ {
			out.V[i] = float32(max(0, (float64(raw.V[i])-q50)*k))
		}
	})
	return out, nil
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
// Accumulation is float32 in tap order. sigma ≤ 0 returns a copy.
func Blur(m *Map, sigma float64) *Map {
	out := NewMap(m.W, m.H)
	if sigma <= 0 {
		copy(out.V, m.V)
		return out
	}
	w := GaussianKernel(sigma)
	r := len(w) / 2
	W, H := m.W, m.H
	tmp := make([]float32, W*H)
	// Horizontal pass.
	parallel(H, func(lo, hi int) {
		idx := make([]int, W+2*r)
		for x := range idx {
			idx[x] = Reflect(x-r, W)
		}
		for y := lo; y < hi; y++ {
			src, dst := m.V[y*W:(y+1)*W], tmp[y*W:(y+1)*W]
			for x := 0; x < W; x++ {
				var s float32
				if x >= r && x+r < W {
					win := src[x-r : x+r+1]
					for k, wk := range w {
						s += wk * win[k]
					}
				} else {
					for k, wk := range w {
						s += wk * src[idx[x+k]]
					}
				}
				dst[x] = s
			}
		}
	})
	// Vertical pass, a row at a time.
	parallel(H, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			dst := out.V[y*W : (y+1)*W]
			for k, wk := range w {
				sy := Reflect(y+k-r, H)
				src := tmp[sy*W : (sy+1)*W]
				if k == 0 {
					for x := range dst {
						dst[x] = wk * src[x]
					}
					continue
				}
				for x := range dst {
					dst[x] += wk * src[x]
				}
			}
		}
	})
	return out
}
