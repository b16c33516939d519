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

// TestKernelsAgainstNaive checks the unrolled max |a−b| row kernel against a one-line loop
// for every length 0…41, with and without NaN, ±Inf and −0 (the block kernels built on the
// same arithmetic: kernels_block_test.go).
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
	// The ROPS mean of four quarters, (a+b) summed beforehand, against a zero image.
	dst, zero := make([]float32, 4), make([]float32, 4)
	ab := []float32{0.75, 1, 2, 0.125}
	blockMeanAbs(dst, 4, ab, 4, a, 4, b, 4, zero, 4, 1, 4, opSet)
	if dst[0] != 0.375 || dst[1] != 0.5 || dst[2] != 1 || dst[3] != 0.0625 {
		t.Fatalf("mean of four %v", dst)
	}
	// Channel reductions of |merged − image| over three channels.
	reduce := func(ops [3]int) float32 {
		out := make([]float32, 1)
		for c, m := range []float32{0.5, 0.25, 1} {
			blockAbs(out, 1, []float32{m}, 1, []float32{[]float32{0.25, 0.5, 0.25}[c]}, 1, 1, 1, ops[c])
		}
		return out[0]
	}
	if got := reduce([3]int{opSet, opAdd, opAddDiv3}); got != float32(0.25+0.25+0.75)/3 {
		t.Fatalf("mean reduce %g", got)
	}
	out := []float32{reduce([3]int{opSet, opMax, opMax})}
	if out[0] != 0.75 {
		t.Fatalf("max reduce %g", out[0])
	}
}
