//go:build !purego

package engine

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels of kernels_amd64.s; tests switch it off to compare
// the two paths.
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func maxAbsDiffAVX2(a, b *float32, sa, sb, rows, cols int, m uint32) uint32

//go:noescape
func addAVX2(dst, a, b *float32, sd, sa, sb, rows, cols int)

//go:noescape
func meanAbsAVX2(dst, p, q, d, im *float32, sd, sp, sq, sdd, si, rows, cols, op int)

//go:noescape
func absAVX2(dst, src, im *float32, sd, ss, si, rows, cols, op int)

//go:noescape
func blurHAVX2(dst, src *float32, n int, taps *float32, r int)

//go:noescape
func blurVAVX2(dst *float32, rows **float32, n int, taps *float32, r int)

//go:noescape
func rangeAVX2(v *float32, n int) (lo, hi float32)

//go:noescape
func scaleAVX2(dst, src *float32, n int, lo, k float64, clamp bool)

// runtimeHasAVX2 reports whether the CPU and OS support AVX2 (for the tests).
func runtimeHasAVX2() bool { return cpu.X86.HasAVX2 }

//go:noescape
func copyAVX2(dst, src *float32, sd, ss, rows, cols int)
