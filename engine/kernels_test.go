package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// kernelInput returns n floats in [0,1] with a few specials sprinkled in.
func kernelInput(r *rand.Rand, n int, specials bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()
		if specials && r.IntN(9) == 0 {
			v[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0, 1}[r.IntN(6)]
		}
	}
	return v
}

func sameFloat(x, y float32) bool {
	return (x != x && y != y) || math.Float32bits(x) == math.Float32bits(y)
}

// TestKernelsAgainstNaive checks the unrolled kernels against one-line loops for every
// length 0…41, with and without NaN, ±Inf and −0.
func TestKernelsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, specials := range []bool{false, true} {
		for n := 0; n <= 41; n++ {
			t.Run(fmt.Sprintf("n%d_specials%v", n, specials), func(t *testing.T) {
				in := make([][]float32, 7)
				for k := range in {
					in[k] = kernelInput(r, n, specials)
				}
				// max |a−b|, NaN if any difference is NaN
				want := float32(0.3)
				for i := range in[0] {
					d := float32(math.Abs(float64(in[0][i] - in[1][i])))
					if d != d || want != want {
						want = float32(math.NaN())
					} else if d > want {
						want = d
					}
				}
				if got := math.Float32frombits(maxAbsDiffBits(in[0], in[1], math.Float32bits(0.3))); !sameFloat(got, want) {
					t.Fatalf("maxAbsDiffBits %g, want %g", got, want)
				}
				got := make([]float32, n)
				mean4(got, in[0], in[1], in[2], in[3])
				for i := range got {
					if w := (in[0][i] + in[1][i] + in[2][i] + in[3][i]) / 4; !sameFloat(got[i], w) {
						t.Fatalf("mean4[%d] %g, want %g", i, got[i], w)
					}
				}
				for _, useMax := range []bool{false, true} {
					absDiff3(got, in[0], in[1], in[2], in[3], in[4], in[5], useMax)
					for i := range got {
						d0 := float32(math.Abs(float64(in[0][i] - in[3][i])))
						d1 := float32(math.Abs(float64(in[1][i] - in[4][i])))
						d2 := float32(math.Abs(float64(in[2][i] - in[5][i])))
						w := (d0 + d1 + d2) / 3
						if useMax {
							w = max(d0, d1, d2)
						}
						if !sameFloat(got[i], w) {
							t.Fatalf("absDiff3 max=%v [%d] %g, want %g", useMax, i, got[i], w)
						}
					}
				}
			})
		}
	}
}

func TestKernelsHandWorked(t *testing.T) {
	a := []float32{0.5, 0.25, 1, 0}
	b := []float32{0.25, 0.75, 1, 0.125}
	if got := math.Float32frombits(maxAbsDiffBits(a, b, 0)); got != 0.5 {
		t.Fatalf("max |a−b| = %g, want 0.5", got)
	}
	dst := make([]float32, 4)
	mean4(dst, a, b, a, b)
	if dst[0] != 0.375 || dst[1] != 0.5 || dst[2] != 1 || dst[3] != 0.0625 {
		t.Fatalf("mean4 %v", dst)
	}
	out := make([]float32, 1)
	absDiff3(out, []float32{0.5}, []float32{0.25}, []float32{1}, []float32{0.25}, []float32{0.5}, []float32{0.25}, false)
	if out[0] != float32(0.25+0.25+0.75)/3 {
		t.Fatalf("mean reduce %g", out[0])
	}
	absDiff3(out, []float32{0.5}, []float32{0.25}, []float32{1}, []float32{0.25}, []float32{0.5}, []float32{0.25}, true)
	if out[0] != 0.75 {
		t.Fatalf("max reduce %g", out[0])
	}
}
