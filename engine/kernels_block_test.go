package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// withGo runs f with the assembly kernels switched off.
func withGo(f func()) {
	saved := useAVX2
	useAVX2 = false
	defer func() { useAVX2 = saved }()
	f()
}

func sameSlices(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameFloat(got[i], want[i]) {
			t.Fatalf("%s[%d] = %g (%#x), Go loop gives %g (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestBlockKernelsMatchGo checks every block kernel against its Go loop, bit for bit, for
// windows of 1–4 rows and 1–41 columns with strides wider than the window, with and
// without NaN, ±Inf and −0. Without AVX2 both sides run the Go loop and the test checks
// only the loops against themselves, so it also checks the machine has AVX2.
func TestBlockKernelsMatchGo(t *testing.T) {
	if !useAVX2 && runtimeHasAVX2() {
		t.Fatal("the CPU has AVX2 but the assembly kernels are off")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, specials := range []bool{false, true} {
		for rows := 1; rows <= 4; rows++ {
			for cols := 1; cols <= 41; cols++ {
				t.Run(fmt.Sprintf("r%d_c%d_sp%v", rows, cols, specials), func(t *testing.T) {
					st := [6]int{}
					in := [6][]float32{}
					for k := range st {
						st[k] = cols + r.IntN(9)
						in[k] = kernelInput(r, (rows-1)*st[k]+cols+r.IntN(3), specials)
					}
					m0 := math.Float32bits(r.Float32() * 0.5)
					got := blockMaxAbsDiff(in[0], st[0], in[1], st[1], rows, cols, m0)
					var want uint32
					withGo(func() { want = blockMaxAbsDiff(in[0], st[0], in[1], st[1], rows, cols, m0) })
					if got != want {
						t.Fatalf("blockMaxAbsDiff %#x, Go loop %#x", got, want)
					}
					// the Go loop itself against a one-line reference
					ref := m0
					for y := 0; y < rows; y++ {
						for x := 0; x < cols; x++ {
							ref = max(ref, math.Float32bits(in[0][y*st[0]+x]-in[1][y*st[1]+x])&absMask)
						}
					}
					if want != ref {
						t.Fatalf("Go blockMaxAbsDiff %#x, reference %#x", want, ref)
					}

					dst := kernelInput(r, (rows-1)*st[5]+cols, specials)
					g, w := slices.Clone(dst), slices.Clone(dst)
					blockAdd(g, st[5], in[0], st[0], in[1], st[1], rows, cols)
					withGo(func() { blockAdd(w, st[5], in[0], st[0], in[1], st[1], rows, cols) })
					sameSlices(t, "blockAdd", g, w)
					for y := 0; y < rows; y++ {
						for x := 0; x < cols; x++ {
							if e := in[0][y*st[0]+x] + in[1][y*st[1]+x]; !sameFloat(w[y*st[5]+x], e) {
								t.Fatalf("Go blockAdd wrong at %d,%d", y, x)
							}
						}
					}
					for op := opSet; op <= opMax; op++ {
						g, w := slices.Clone(dst), slices.Clone(dst)
						blockMeanAbs(g, st[5], in[0], st[0], in[1], st[1], in[2], st[2], in[3], st[3], rows, cols, op)
						withGo(func() {
							blockMeanAbs(w, st[5], in[0], st[0], in[1], st[1], in[2], st[2], in[3], st[3], rows, cols, op)
						})
						sameSlices(t, fmt.Sprintf("blockMeanAbs op %d", op), g, w)
						for y := 0; y < rows; y++ {
							for x := 0; x < cols; x++ {
								m := (in[0][y*st[0]+x] + in[1][y*st[1]+x] + in[2][y*st[2]+x]) / 4
								e := applyOp(op, dst[y*st[5]+x], float32(math.Abs(float64(m-in[3][y*st[3]+x]))))
								if !sameFloat(w[y*st[5]+x], e) {
									t.Fatalf("Go blockMeanAbs op %d wrong at %d,%d: %g want %g", op, y, x, w[y*st[5]+x], e)
								}
							}
						}
						g, w = slices.Clone(dst), slices.Clone(dst)
						copyBlock(g, st[5], in[4], st[4], rows, cols)
						withGo(func() { copyBlock(w, st[5], in[4], st[4], rows, cols) })
						sameSlices(t, "copyBlock", g, w)
						for y := 0; y < rows; y++ {
							sameSlices(t, "Go copyBlock", w[y*st[5]:y*st[5]+cols], in[4][y*st[4]:y*st[4]+cols])
						}
						g, w = slices.Clone(dst), slices.Clone(dst)
						blockAbs(g, st[5], in[4], st[4], in[3], st[3], rows, cols, op)
						withGo(func() { blockAbs(w, st[5], in[4], st[4], in[3], st[3], rows, cols, op) })
						sameSlices(t, fmt.Sprintf("blockAbs op %d", op), g, w)
					}
				})
			}
		}
	}
}

// TestOpsHandWorked pins the four ops on small numbers.
func TestOpsHandWorked(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		op      int
		o, e, w float32
	}{
		{opSet, 7, 0.5, 0.5},
		{opAdd, 0.25, 0.5, 0.75},
		{opAddDiv3, 0.75, 0.75, 0.5},
		{opMax, 0.25, 0.5, 0.5},
		{opMax, 0.5, 0.25, 0.5},
		{opMax, 0.5, nan, nan},
		{opMax, float32(math.Inf(1)), nan, nan},
	}
	for _, c := range cases {
		if got := applyOp(c.op, c.o, c.e); !sameFloat(got, c.w) {
			t.Errorf("op %d (%g, %g) = %g, want %g", c.op, c.o, c.e, got, c.w)
		}
	}
}

// TestRowKernelsMatchGo checks the blur rows, the range and the min-max scaling against
// their Go loops for lengths 0–70 and radii 0–7.
func TestRowKernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 70; n++ {
		for _, specials := range []bool{false, true} {
			src := kernelInput(r, n, specials)
			for rad := 0; rad <= 7; rad++ {
				taps := make([]float32, 2*rad+1)
				for k := range taps {
					taps[k] = r.Float32()
				}
				g, w := make([]float32, n), make([]float32, n)
				blurRowH(g, src, taps)
				withGo(func() { blurRowH(w, src, taps) })
				sameSlices(t, fmt.Sprintf("blurRowH n%d r%d", n, rad), g, w)

				rows := make([][]float32, 2*rad+1)
				for k := range rows {
					rows[k] = kernelInput(r, n+r.IntN(3), specials)
				}
				ptrs := make([]*float32, len(rows))
				blurRowV(g, slices.Clone(rows), taps, ptrs)
				withGo(func() { blurRowV(w, slices.Clone(rows), taps, ptrs) })
				sameSlices(t, fmt.Sprintf("blurRowV n%d r%d", n, rad), g, w)
				for x := 0; x < n; x++ { // the Go loop against the formula
					s := taps[rad] * rows[0][x]
					for k := 0; k < rad; k++ {
						s += taps[rad+1+k] * (rows[1+2*k][x] + rows[2+2*k][x])
					}
					if !sameFloat(w[x], s) {
						t.Fatalf("Go blurRowV n%d r%d [%d] %g want %g", n, rad, x, w[x], s)
					}
				}
			}
			lo, hi := rangeNaN(src, float32(math.Inf(1)), float32(math.Inf(-1)))
			var wlo, whi float32
			withGo(func() { wlo, whi = rangeNaN(src, float32(math.Inf(1)), float32(math.Inf(-1))) })
			if !sameFloat(lo, wlo) || !sameFloat(hi, whi) {
				t.Fatalf("rangeNaN n%d (%g, %g), Go loop (%g, %g)", n, lo, hi, wlo, whi)
			}
			for _, clamp := range []bool{false, true} {
				g, w := make([]float32, n), make([]float32, n)
				scaleRange(g, src, 0.5, 1/0.7, clamp)
				withGo(func() { scaleRange(w, src, 0.5, 1/0.7, clamp) })
				sameSlices(t, fmt.Sprintf("scaleRange n%d clamp %v", n, clamp), g, w)
				for i, v := range src { // the Go loop against the formula
					e := float32((float64(v) - 0.5) / 0.7)
					if clamp {
						e = float32(max(0, (float64(v)-0.5)/0.7))
					}
					if math.Abs(float64(w[i]-e)) > 1e-6 || (e != e) != (w[i] != w[i]) {
						t.Fatalf("Go scaleRange n%d clamp %v [%d] %g, want %g", n, clamp, i, w[i], e)
					}
				}
			}
			// Clamping: −0 and values below lo give +0, NaN stays NaN (as Go's max).
			zs := []float32{float32(math.Copysign(0, -1)), 0.25, float32(math.NaN()), 0.5, 1, 0.5, 0.5, 0.5, 0}
			for _, avx := range []bool{true, false} {
				got := make([]float32, len(zs))
				if avx {
					scaleRange(got, zs, 0.5, 2, true)
				} else {
					withGo(func() { scaleRange(got, zs, 0.5, 2, true) })
				}
				if math.Float32bits(got[0]) != 0 || math.Float32bits(got[1]) != 0 || got[2] == got[2] || got[4] != 1 || math.Float32bits(got[3]) != 0 {
					t.Fatalf("clamped scaling (avx %v) of %v gave %v", avx, zs, got)
				}
			}
		}
	}
}
