//go:build !amd64 || purego

package engine

// Without the amd64 assembly every kernel runs its Go loop.
var useAVX2 = false

func maxAbsDiffAVX2(a, b *float32, sa, sb, rows, cols int, m uint32) uint32 { panic("no avx2") }
func addAVX2(dst, a, b *float32, sd, sa, sb, rows, cols int)                { panic("no avx2") }
func meanAbsAVX2(dst, p, q, d, im *float32, sd, sp, sq, sdd, si, rows, cols, op int) {
	panic("no avx2")
}
func absAVX2(dst, src, im *float32, sd, ss, si, rows, cols, op int)       { panic("no avx2") }
func blurHAVX2(dst, src *float32, n int, taps *float32, r int)            { panic("no avx2") }
func blurVAVX2(dst *float32, rows **float32, n int, taps *float32, r int) { panic("no avx2") }
func copyAVX2(dst, src *float32, sd, ss, rows, cols int)                  { panic("no avx2") }
func rangeAVX2(v *float32, n int) (lo, hi float32)                        { panic("no avx2") }
func scaleAVX2(dst, src *float32, n int, lo, k float64, clamp bool)       { panic("no avx2") }

func runtimeHasAVX2() bool { return false }
