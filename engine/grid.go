package engine

import (
	"runtime"
	"sync"
)

// Grid is the padding and tiling of a W×H image into P×P patches at stride S = P/2
// (docs/model-contract.md, steps 1–3). Padded coordinates run over [0,Wp)×[0,Hp); image
// pixel (x, y) sits at padded (x+S, y+S).
type Grid struct {
	W, H   int // unpadded image size
	P, S   int // patch size and stride
	Wp, Hp int // padded size, multiples of S
	Cols   int // patches per row at stride S: (Wp−P)/S + 1
	Rows   int // patch rows at stride S
}

// NewGrid lays out a w×h image for patch size p (even, ≥ 2).
func NewGrid(w, h, p int) Grid {
	s := p / 2
	pad := func(n int) int { return n + s + s + (s-n%s)%s }
	g := Grid{W: w, H: h, P: p, S: s, Wp: pad(w), Hp: pad(h)}
	g.Cols = (g.Wp-p)/s + 1
	g.Rows = (g.Hp-p)/s + 1
	return g
}

// Patches is the number of patches at stride S.
func (g Grid) Patches() int { return g.Rows * g.Cols }

// Origin is the top-left corner of patch (i, j) in padded coordinates.
func (g Grid) Origin(i, j int) (x, y int) { return j * g.S, i * g.S }

// Position is the contract's position input of patch (i, j): its centre in unpadded
// coordinates divided by the image size.
func (g Grid) Position(i, j int) (x, y float32) {
	cx := float64(j*g.S + g.P/2 - g.S)
	cy := float64(i*g.S + g.P/2 - g.S)
	return float32(cx / float64(g.W)), float32(cy / float64(g.H))
}

// ImageCells is the number of cell columns and rows holding image pixels; they are the
// padded cells 1…cx and 1…cy.
func (g Grid) ImageCells() (cx, cy int) {
	return (g.W + g.S - 1) / g.S, (g.H + g.S - 1) / g.S
}

// Reflect maps index i onto [0,n) by reflect-101 padding, repeated for indices far
// outside (period 2(n−1)); every index maps to 0 when n = 1.
func Reflect(i, n int) int {
	if n <= 1 {
		return 0
	}
	p := 2 * (n - 1)
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// workers is the number of goroutines used for parallel loops.
func workers() int { return max(1, min(runtime.GOMAXPROCS(0), 8)) }

// parallel runs fn over [0,n) split into contiguous chunks, one goroutine per chunk. Chunks
// write disjoint outputs, so the result does not depend on scheduling.
func parallel(n int, fn func(lo, hi int)) {
	k := workers()
	if n < 2 || k == 1 {
		fn(0, n)
		return
	}
	k = min(k, n)
	var wg sync.WaitGroup
	for t := 0; t < k; t++ {
		lo, hi := t*n/k, (t+1)*n/k
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
