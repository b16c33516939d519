package engine

import "math"

// Row kernels of the statistics and the merge: plain Go loops over slices, written so the
// compiler drops bounds checks. (SSE2 assembly versions were 1.3–3× faster on cache-resident
// rows but changed nothing measurable end to end, where the loops wait on memory, so the
// engine stays pure Go.)

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

// mean4 sets dst[i] = (((a[i] + b[i]) + c[i]) + d[i]) · 0.25.
func mean4(dst, a, b, c, d []float32) {
	a, b, c, d = a[:len(dst)], b[:len(dst)], c[:len(dst)], d[:len(dst)]
	for x := range dst {
		dst[x] = (((a[x] + b[x]) + c[x]) + d[x]) * 0.25
	}
}

// absDiff3 sets out[i] to the channel reduction of |m_c[i] − im_c[i]| over c = 0,1,2:
// ((|d0| + |d1|) + |d2|) / 3 for the mean, the largest for max (NaN if any is NaN).
func absDiff3(out, m0, m1, m2, i0, i1, i2 []float32, useMax bool) {
	n := len(out)
	m0, m1, m2, i0, i1, i2 = m0[:n], m1[:n], m2[:n], i0[:n], i1[:n], i2[:n]
	if useMax {
		for x := range out {
			// Bit-pattern max of non-negative floats: NaN wins.
			d := max(math.Float32bits(m0[x]-i0[x])&absMask, math.Float32bits(m1[x]-i1[x])&absMask,
				math.Float32bits(m2[x]-i2[x])&absMask)
			out[x] = math.Float32frombits(d)
		}
		return
	}
	for x := range out {
		out[x] = (abs32(m0[x]-i0[x]) + abs32(m1[x]-i1[x]) + abs32(m2[x]-i2[x])) / 3
	}
}
