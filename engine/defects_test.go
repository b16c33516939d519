package engine_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// parseMap reads a picture: '#' scores 1, digits score d/10, '.' scores 0.
func parseMap(pic string) *engine.Map {
	lines := strings.Fields(pic)
	m := engine.NewMap(len(lines[0]), len(lines))
	for y, l := range lines {
		for x, ch := range l {
			switch {
			case ch == '#':
				m.V[y*m.W+x] = 1
			case ch >= '0' && ch <= '9':
				m.V[y*m.W+x] = float32(ch-'0') / 10
			}
		}
	}
	return m
}

func TestFindDefectsHandCases(t *testing.T) {
	type want struct {
		area     int
		box      geom.Rect
		peak     float32
		polyArea float64
	}
	cases := []struct {
		name    string
		pic     string
		thr     float32
		minArea int
		want    []want
	}{
		{"single pixel", `... .#. ...`, 0.5, 1, []want{{1, rect(1, 1, 2, 2), 1, 1}}},
		{"diagonal touch merges", `#.. .#. ..#`, 0.5, 1, []want{{3, rect(0, 0, 3, 3), 1, 3}}},
		{"anti-diagonal merges", `..# .#. #..`, 0.5, 1, []want{{3, rect(0, 0, 3, 3), 1, 3}}},
		{"gap of one pixel splits", `#.# ... ...`, 0.5, 1, []want{{1, rect(0, 0, 1, 1), 1, 1}, {1, rect(2, 0, 3, 1), 1, 1}}},
		{"threshold is inclusive", `5.4 ... ..6`, 0.5, 1, []want{{1, rect(2, 2, 3, 3), 0.6, 1}, {1, rect(0, 0, 1, 1), 0.5, 1}}},
		{"min area drops small", `##.... ##...# ......`, 0.5, 2, []want{{4, rect(0, 0, 2, 2), 1, 4}}},
		{"hole is cut out of the outline", `##### #...# #.#.# #...# #####`, 0.5, 1,
			[]want{{16, rect(0, 0, 5, 5), 1, 16}, {1, rect(2, 2, 3, 3), 1, 1}}},
		{"two holes", `##### #.#.# ##### #.### #####`, 0.5, 1, []want{{22, rect(0, 0, 5, 5), 1, 22}}},
		{"hole touching diagonally stays a hole", `#### #..# #.## ####`, 0.5, 1, []want{{13, rect(0, 0, 4, 4), 1, 13}}},
		{"sorted by peak", `3..9 3..9 ....`, 0.1, 1, []want{{2, rect(3, 0, 4, 2), 0.9, 2}, {2, rect(0, 0, 1, 2), 0.3, 2}}},
		{"U shape", `#.# #.# ###`, 0.5, 1, []want{{7, rect(0, 0, 3, 3), 1, 7}}},
		{"nothing", `... ...`, 0.5, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseMap(c.pic)
			ds := engine.FindDefects(m, c.thr, c.minArea)
			if len(ds) != len(c.want) {
				t.Fatalf("got %d defects %+v, want %d", len(ds), ds, len(c.want))
			}
			for i, w := range c.want {
				d := ds[i]
				if d.Area != w.area || d.Box != w.box || d.Peak != w.peak || d.Polygon.Area() != w.polyArea {
					t.Errorf("defect %d: area %d box %v peak %g polygon area %g (%v); want %+v",
						i, d.Area, d.Box, d.Peak, d.Polygon.Area(), d.Polygon, w)
				}
			}
		})
	}
}

// randomMask makes blobby random masks: noise smoothed by a 3×3 box, thresholded.
func randomMask(w, h int, seed uint64, level float32) *engine.Mask {
	r := rand.New(rand.NewPCG(seed, 1))
	noise := make([]float32, w*h)
	for i := range noise {
		noise[i] = r.Float32()
	}
	m := engine.NewMask(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float32
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					s += noise[engine.Reflect(y+dy, h)*w+engine.Reflect(x+dx, w)]
				}
			}
			if s/9 > level {
				m.Pix[y*w+x] = 1
			}
		}
	}
	return m
}

// bruteComponents labels 8-connected components by flood fill.
func bruteComponents(m *engine.Mask) ([]int, int) {
	lab := make([]int, len(m.Pix))
	for i := range lab {
		lab[i] = -1
	}
	n := 0
	for start := range m.Pix {
		if m.Pix[start] == 0 || lab[start] >= 0 {
			continue
		}
		stack := []int{start}
		lab[start] = n
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%m.W, p/m.W
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= m.W || ny >= m.H {
						continue
					}
					q := ny*m.W + nx
					if m.Pix[q] != 0 && lab[q] < 0 {
						lab[q] = n
						stack = append(stack, q)
					}
				}
			}
		}
		n++
	}
	return lab, n
}

func TestComponentsAndOutlinesOnRandomMasks(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		for _, level := range []float32{0.5, 0.55, 0.6} {
			t.Run(fmt.Sprintf("seed%d_level%g", seed, level), func(t *testing.T) {
				const w, h = 41, 29
				m := randomMask(w, h, seed, level)
				lab, n := bruteComponents(m)
				regions := engine.Regions(m, 1)
				if len(regions) != n {
					t.Fatalf("%d regions, brute force finds %d", len(regions), n)
				}
				score := engine.NewMap(w, h)
				for i, v := range m.Pix {
					score.V[i] = float32(v)
				}
				defects := engine.FindDefects(score, 0.5, 1)
				if len(defects) != n {
					t.Fatalf("%d defects, brute force finds %d", len(defects), n)
				}
				exactOutlines := engine.ExactOutlines(m)
				for c := 0; c < n; c++ {
					// Regions come in raster order, like the brute-force labels.
					area := 0
					for _, l := range lab {
						if l == c {
							area++
						}
					}
					if regions[c].Area != area {
						t.Fatalf("component %d: area %d, want %d", c, regions[c].Area, area)
					}
					if got := exactOutlines[c].Area(); got != float64(area) {
						t.Fatalf("component %d: outline area %g, want %d pixels", c, got, area)
					}
					exact := make([]uint8, w*h)
					geom.Fill(exact, w, h, exactOutlines[c], 1)
					simp := make([]uint8, w*h)
					geom.Fill(simp, w, h, regions[c].Polygon, 1)
					inter, union := 0, 0
					for i := range lab {
						want := lab[i] == c
						if (exact[i] != 0) != want {
							t.Fatalf("component %d: exact outline fills pixel (%d,%d) = %v, want %v",
								c, i%w, i/w, exact[i] != 0, want)
						}
						if simp[i] != 0 && want {
							inter++
						}
						if simp[i] != 0 || want {
							union++
						}
					}
					if area >= 20 && float64(inter)/float64(union) < 0.85 {
						t.Errorf("component %d (area %d): simplified outline IoU %.3f", c, area, float64(inter)/float64(union))
					}
				}
			})
		}
	}
}

func rect(x0, y0, x1, y1 int) geom.Rect { return geom.Rect{X0: x0, Y0: y0, X1: x1, Y1: y1} }

func TestDefectPeakAndMean(t *testing.T) {
	m := parseMap(`.35. .7.. ....`)
	ds := engine.FindDefects(m, 0.2, 1)
	if len(ds) != 1 {
		t.Fatalf("%d defects, want 1", len(ds))
	}
	if d := ds[0]; d.Area != 3 || d.Peak != 0.7 || math.Abs(float64(d.Mean)-0.5) > 1e-6 {
		t.Fatalf("area %d peak %g mean %g; want 3, 0.7, 0.5", d.Area, d.Peak, d.Mean)
	}
	r := engine.Regions(&engine.Mask{W: 3, H: 1, Pix: []uint8{1, 0, 9}}, 1)
	if len(r) != 2 || r[0].Peak != 1 || r[0].Mean != 1 || r[1].Box != rect(2, 0, 3, 1) {
		t.Fatalf("regions %+v", r)
	}
}

// paintSpans turns labelled spans back into per-pixel labels (−1 background).
func paintSpans(spans []engine.Span, w, h int) []int {
	lab := make([]int, w*h)
	for i := range lab {
		lab[i] = -1
	}
	for _, s := range spans {
		for x := s.X0; x < s.X1; x++ {
			lab[int(s.Y)*w+int(x)] = int(s.Comp)
		}
	}
	return lab
}

func TestLabelMaskAndMapMatchFloodFill(t *testing.T) {
	var mspans, sspans []engine.Span // reused across cases, as callers do
	for seed := uint64(1); seed <= 12; seed++ {
		for _, level := range []float32{0.45, 0.5, 0.55, 0.6} {
			t.Run(fmt.Sprintf("seed%d_level%g", seed, level), func(t *testing.T) {
				const w, h = 37, 23
				m := randomMask(w, h, seed, level)
				want, wn := bruteComponents(m)
				var n int
				mspans, n = engine.LabelMask(mspans, m)
				if n != wn {
					t.Fatalf("LabelMask: %d components, brute force finds %d", n, wn)
				}
				score := engine.NewMap(w, h)
				for i, v := range m.Pix {
					score.V[i] = 0.25 + 0.5*float32(v) // set pixels 0.75, others 0.25
				}
				sspans, n = engine.LabelMap(sspans, score, 0.75) // inclusive, like FindDefects
				if n != wn {
					t.Fatalf("LabelMap: %d components, brute force finds %d", n, wn)
				}
				for name, spans := range map[string][]engine.Span{"LabelMask": mspans, "LabelMap": sspans} {
					got := paintSpans(spans, w, h)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("%s: pixel (%d,%d) in component %d, want %d (raster order)", name, i%w, i/w, got[i], want[i])
						}
					}
					for k := 1; k < len(spans); k++ {
						a, b := spans[k-1], spans[k]
						if a.Y > b.Y || (a.Y == b.Y && a.X1 >= b.X0) {
							t.Fatalf("%s: spans %v then %v are not in raster order", name, a, b)
						}
					}
				}
			})
		}
	}
}

func TestLabelHandCases(t *testing.T) {
	cases := []struct {
		name string
		pic  string
		n    int
	}{
		{"empty", `... ...`, 0},
		{"diagonal touch merges", `#.. .#. ..#`, 1},
		{"anti-diagonal merges", `..# .#. #..`, 1},
		{"two apart", `#..#`, 2},
		{"ring with hole is one", `### #.# ###`, 1},
		{"U shape joins late", `#.# ###`, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseMap(c.pic)
			if _, n := engine.LabelMap(nil, m, 0.5); n != c.n {
				t.Errorf("LabelMap: %d components, want %d", n, c.n)
			}
			mask := engine.NewMask(m.W, m.H)
			for i, v := range m.V {
				if v >= 0.5 {
					mask.Pix[i] = 1
				}
			}
			if _, n := engine.LabelMask(nil, mask); n != c.n {
				t.Errorf("LabelMask: %d components, want %d", n, c.n)
			}
		})
	}
}
