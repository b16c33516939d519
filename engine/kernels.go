package engine

import "math"

// Kernels of the statistics, the merge, the blur and the normalisations: Go loops over
// slices, written so the compiler drops bounds checks, and for whole vectors of 8 their AVX2
// versions in kernels_amd64.s (see the block kernels below). An earlier SSE2 attempt changed
// nothing end to end because the pipeline then waited on memory; with one pass per cell
// (pipeline.go) the AVX2 kernels took the post-model work from 8× to 2.3–2.8× one copy of
// the patch outputs (docs/bench-engine.md).

const absMask = 1<<31 - 1

// maxAbsDiffBits returns the float32 bits of max(m, |a[i] − b[i]|): non-negative floats
// order like their bit patterns, which keeps the loop branch-free. NaN sorts above +Inf.
func maxAbsDiffBits(a, b []float32, m uint32) uint32 {
	b = b[:len(a)]
	m0, m1, m2, m3 := m, m, m, m
	i := 0
	for ; i+4 <= len(a); i += 4 {
		m0 = max(m0, math.Float32bits(a[i]-b[i])&absMask)
		m1 = max(m1, math.Float32bits(a[i+1]-b[i+1])&absMask)
		m2 = max(m2, math.Float32bits(a[i+2]-b[i+2])&absMask)
		m3 = max(m3, math.Float32bits(a[i+3]-b[i+3])&absMask)
	}
	for ; i < len(a); i++ {
		m0 = max(m0, math.Float32bits(a[i]-b[i])&absMask)
	}
	return max(m0, m1, m2, m3)
}

// Block kernels: the same arithmetic over a rows×cols window of slices with row strides
// (in floats). On amd64 with AVX2 the columns that fill whole vectors of 8 run in
// kernels_amd64.s and the rest here; both give bit-identical results (the tests compare
// them), so the choice never changes a map.

// Ops: how a channel's e = |merged − image| enters the map value dst.
const (
	opSet     = iota // dst = e
	opAdd            // dst = dst + e
	opAddDiv3        // dst = (dst + e) / 3 (the channel mean after opSet, opAdd)
	opMax            // dst = max(dst, e) on bits, NaN wins (the channel max after opSet)
)

// span checks that a window of rows × cols with stride s fits in v and returns it cut to
// size (so the Go loops drop bounds checks and the assembly never reads past it).
func span(v []float32, s, rows, cols int) []float32 {
	return v[:(rows-1)*s+cols]
}

// vec is the number of columns the assembly handles: whole vectors of 8, none without AVX2.
func vec(cols int) int {
	if !useAVX2 {
		return 0
	}
	return cols &^ 7
}

// blockMaxAbsDiff returns the float32 bits of the largest |a − b| over the window and m.
func blockMaxAbsDiff(a []float32, sa int, b []float32, sb int, rows, cols int, m uint32) uint32 {
	if rows <= 0 || cols <= 0 {
		return m
	}
	a, b = span(a, sa, rows, cols), span(b, sb, rows, cols)
	v := vec(cols)
	if v > 0 {
		m = maxAbsDiffAVX2(&a[0], &b[0], sa, sb, rows, v, m)
	}
	if v < cols {
		for r := 0; r < rows; r++ {
			m = maxAbsDiffBits(a[r*sa+v:r*sa+cols], b[r*sb+v:r*sb+cols], m)
		}
	}
	return m
}

// blockAdd sets dst = a + b over the window.
func blockAdd(dst []float32, sd int, a []float32, sa int, b []float32, sb int, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	dst, a, b = span(dst, sd, rows, cols), span(a, sa, rows, cols), span(b, sb, rows, cols)
	v := vec(cols)
	if v > 0 {
		addAVX2(&dst[0], &a[0], &b[0], sd, sa, sb, rows, v)
	}
	if v < cols {
		for r := 0; r < rows; r++ {
			d, x, y := dst[r*sd+v:r*sd+cols], a[r*sa+v:r*sa+cols], b[r*sb+v:r*sb+cols]
			x, y = x[:len(d)], y[:len(d)]
			for i := range d {
				d[i] = x[i] + y[i]
			}
		}
	}
}

// blockMeanAbs applies op with e = |(((p + q) + d) · 0.25) − im| over the window: the ROPS
// mean of four covering quarters when p already holds the sum of the first two.
func blockMeanAbs(dst []float32, sd int, p []float32, sp int, q []float32, sq int, d []float32, sdd int, im []float32, si int, rows, cols, op int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	dst, p, q = span(dst, sd, rows, cols), span(p, sp, rows, cols), span(q, sq, rows, cols)
	d, im = span(d, sdd, rows, cols), span(im, si, rows, cols)
	v := vec(cols)
	if v > 0 {
		meanAbsAVX2(&dst[0], &p[0], &q[0], &d[0], &im[0], sd, sp, sq, sdd, si, rows, v, op)
	}
	if v < cols {
		for r := 0; r < rows; r++ {
			o, a, b, c, m := dst[r*sd+v:r*sd+cols], p[r*sp+v:r*sp+cols], q[r*sq+v:r*sq+cols], d[r*sdd+v:r*sdd+cols], im[r*si+v:r*si+cols]
			a, b, c, m = a[:len(o)], b[:len(o)], c[:len(o)], m[:len(o)]
			for i := range o {
				o[i] = applyOp(op, o[i], abs32((((a[i]+b[i])+c[i])*0.25)-m[i]))
			}
		}
	}
}

// blockAbs applies op with e = |src − im| over the window.
func blockAbs(dst []float32, sd int, src []float32, ss int, im []float32, si int, rows, cols, op int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	dst, src, im = span(dst, sd, rows, cols), span(src, ss, rows, cols), span(im, si, rows, cols)
	v := vec(cols)
	if v > 0 {
		absAVX2(&dst[0], &src[0], &im[0], sd, ss, si, rows, v, op)
	}
	if v < cols {
		for r := 0; r < rows; r++ {
			o, a, m := dst[r*sd+v:r*sd+cols], src[r*ss+v:r*ss+cols], im[r*si+v:r*si+cols]
			a, m = a[:len(o)], m[:len(o)]
			for i := range o {
				o[i] = applyOp(op, o[i], abs32(a[i]-m[i]))
			}
		}
	}
}

// copyBlock copies a rows × cols window between strided slices.
func copyBlock(dst []float32, sd int, src []float32, ss int, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	dst, src = span(dst, sd, rows, cols), span(src, ss, rows, cols)
	v := vec(cols)
	if v > 0 {
		copyAVX2(&dst[0], &src[0], sd, ss, rows, v)
	}
	if v < cols {
		for r := 0; r < rows; r++ {
			copy(dst[r*sd+v:r*sd+cols], src[r*ss+v:r*ss+cols])
		}
	}
}

// applyOp folds e into the map value o.
func applyOp(op int, o, e float32) float32 {
	switch op {
	case opSet:
		return e
	case opAdd:
		return o + e
	case opAddDiv3:
		return (o + e) / 3
	default:
		return math.Float32frombits(max(math.Float32bits(o), math.Float32bits(e)))
	}
}

// blurRowH sets dst[x] for the interior x ∈ [r, len(src)−r) of one row to the centre tap
// times src[x] plus, for k = 0…r−1 in order, taps[r+1+k]·(src[x−1−k] + src[x+1+k]).
func blurRowH(dst, src, taps []float32) {
	r := len(taps) / 2
	n := len(src) - 2*r
	if n <= 0 {
		return
	}
	dst = dst[:len(src)]
	v := vec(n)
	if v > 0 {
		blurHAVX2(&dst[r], &src[0], v, &taps[0], r)
	}
	wc, ws := taps[r], taps[r+1:]
	for x := r + v; x < r+n; x++ {
		s := wc * src[x]
		for k, wk := range ws {
			s += wk * (src[x-1-k] + src[x+1+k])
		}
		dst[x] = s
	}
}

// blurRowV sets dst[x] to the centre tap times rows[0][x] plus, for k = 0…r−1 in order,
// taps[r+1+k]·(rows[1+2k][x] + rows[2+2k][x]). ptrs is scratch of len(rows).
func blurRowV(dst []float32, rows [][]float32, taps []float32, ptrs []*float32) {
	r := len(taps) / 2
	n := len(dst)
	if n == 0 {
		return
	}
	for k := range rows {
		rows[k] = rows[k][:n]
		ptrs[k] = &rows[k][0]
	}
	v := vec(n)
	if v > 0 {
		blurVAVX2(&dst[0], &ptrs[0], v, &taps[0], r)
	}
	wc, ws := taps[r], taps[r+1:]
	for x := v; x < n; x++ {
		s := wc * rows[0][x]
		for k, wk := range ws {
			s += wk * (rows[1+2*k][x] + rows[2+2*k][x])
		}
		dst[x] = s
	}
}

// rangeNaN returns the smallest and largest of v and lo, hi, ignoring NaN. A zero extreme
// is returned as +0 whichever zero came first, so the result does not depend on the order.
func rangeNaN(v []float32, lo, hi float32) (float32, float32) {
	n := vec(len(v))
	if n > 0 {
		l, h := rangeAVX2(&v[0], n)
		lo, hi = min(lo, l), max(hi, h)
	}
	for _, x := range v[n:] {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	if lo == 0 {
		lo = 0
	}
	if hi == 0 {
		hi = 0
	}
	return lo, hi
}

// scaleRange sets dst[i] = float32((float64(src[i]) − lo)·k), or with clamp
// float32(max(0, (float64(src[i]) − lo)·k)).
func scaleRange(dst, src []float32, lo, k float64, clamp bool) {
	src = src[:len(dst)]
	n := vec(len(dst))
	if n > 0 {
		scaleAVX2(&dst[0], &src[0], n, lo, k, clamp)
	}
	if clamp {
		for i := n; i < len(dst); i++ {
			dst[i] = float32(max(0, (float64(src[i])-lo)*k))
		}
		return
	}
	for i := n; i < len(dst); i++ {
		dst[i] = float32((float64(src[i]) - lo) * k)
	}
}
