package evaluate

import "math"

// GoldenOptions configure the golden-template baseline, the classic AOI approach: compare
// the image with a defect-free reference of the same board after a small alignment search,
// tolerating a pixel of residual misregistration.
type GoldenOptions struct {
	Search    int // global alignment search radius in pixels (integer shifts)
	Tolerance int // per-pixel tolerance radius: the difference is the min over shifts within it
}

// DefaultGoldenOptions search ±8 px globally and tolerate ±1 px locally.
func DefaultGoldenOptions() GoldenOptions { return GoldenOptions{Search: 8, Tolerance: 1} }

// GoldenDiff returns the raw anomaly map of img (planar RGB, w×h) against ref (planar RGB of
// the same size): the channel mean of |img − ref| after the best global shift, minimised over
// local shifts within the tolerance. Pixels whose shifted reference falls outside the image
// use the nearest border pixel.
func GoldenDiff(img, ref []float32, w, h int, o GoldenOptions) []float32 {
	dx, dy := alignShift(img, ref, w, h, o.Search)
	out := make([]float32, w*h)
	for i := range out {
		out[i] = float32(math.Inf(1))
	}
	plane := w * h
	for ty := -o.Tolerance; ty <= o.Tolerance; ty++ {
		for tx := -o.Tolerance; tx <= o.Tolerance; tx++ {
			sx, sy := dx+tx, dy+ty
			for y := 0; y < h; y++ {
				ry := clampInt(y+sy, 0, h-1)
				row, rrow := y*w, ry*w
				for x := 0; x < w; x++ {
					rx := clampInt(x+sx, 0, w-1)
					i, j := row+x, rrow+rx
					d := (abs32(img[i]-ref[j]) + abs32(img[plane+i]-ref[plane+j]) + abs32(img[2*plane+i]-ref[2*plane+j])) / 3
					if d < out[i] {
						out[i] = d
					}
				}
			}
		}
	}
	return out
}

// alignShift finds the integer shift (dx, dy) within ±radius that minimises the mean absolute
// difference of the green channels, coarse-to-fine on a 4× subsampled grid then refined.
func alignShift(img, ref []float32, w, h, radius int) (int, int) {
	if radius <= 0 {
		return 0, 0
	}
	g1, g2 := img[w*h:2*w*h], ref[w*h:2*w*h]
	cost := func(dx, dy, step int) float64 {
		var s float64
		var n int
		for y := radius; y < h-radius; y += step {
			for x := radius; x < w-radius; x += step {
				s += math.Abs(float64(g1[y*w+x] - g2[(y+dy)*w+x+dx]))
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return s / float64(n)
	}
	if w <= 2*radius || h <= 2*radius {
		return 0, 0
	}
	best, bx, by := math.Inf(1), 0, 0
	for dy := -radius; dy <= radius; dy++ {
		for dx := -radius; dx <= radius; dx++ {
			if c := cost(dx, dy, 4); c < best {
				best, bx, by = c, dx, dy
			}
		}
	}
	best = math.Inf(1)
	cx, cy := bx, by
	for dy := max(-radius, cy-1); dy <= min(radius, cy+1); dy++ {
		for dx := max(-radius, cx-1); dx <= min(radius, cx+1); dx++ {
			if c := cost(dx, dy, 1); c < best {
				best, bx, by = c, dx, dy
			}
		}
	}
	return bx, by
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
