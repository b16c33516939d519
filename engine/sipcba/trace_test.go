package sipcba

import (
	"math/rand/v2"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
)

func TestMaskPolygonIsExact(t *testing.T) {
	const w, h = 23, 17
	ascii := func(rows ...string) []uint8 {
		m := make([]uint8, w*h)
		for y, r := range rows {
			for x, c := range r {
				if c == '#' {
					m[y*w+x] = 1
				}
			}
		}
		return m
	}
	noise := func(seed uint64, p float64) []uint8 {
		rng := rand.New(rand.NewPCG(seed, 1))
		m := make([]uint8, w*h)
		for i := range m {
			if rng.Float64() < p {
				m[i] = 255
			}
		}
		return m
	}
	tests := []struct {
		name string
		mask []uint8
		r    geom.Rect
	}{
		{"empty", make([]uint8, w*h), geom.Rect{X1: w, Y1: h}},
		{"one pixel", ascii("", " #"), geom.Rect{X1: w, Y1: h}},
		{"ring with hole", ascii("#####", "#   #", "# # #", "#   #", "#####"), geom.Rect{X1: w, Y1: h}},
		{"pinch", ascii("##", "# #", " ##", "  ###"), geom.Rect{X1: w, Y1: h}},
		{"checkerboard", ascii("# # #", " # # ", "# # #"), geom.Rect{X1: w, Y1: h}},
		{"border", ascii("#######################", "#                     #", "#######################"), geom.Rect{X1: w, Y1: h}},
		{"noise 0.3", noise(1, 0.3), geom.Rect{X1: w, Y1: h}},
		{"noise 0.5", noise(2, 0.5), geom.Rect{X1: w, Y1: h}},
		{"noise 0.8", noise(3, 0.8), geom.Rect{X1: w, Y1: h}},
		{"noise inside a box", noise(4, 0.5), geom.Rect{X0: 3, Y0: 4, X1: 15, Y1: 11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MaskPolygon(tc.mask, w, h, tc.r)
			got := make([]uint8, w*h)
			geom.Fill(got, w, h, p, 1)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					in := x >= tc.r.X0 && x < tc.r.X1 && y >= tc.r.Y0 && y < tc.r.Y1
					want := in && tc.mask[y*w+x] != 0
					if (got[y*w+x] != 0) != want {
						t.Fatalf("pixel (%d,%d): fill %v, mask %v (polygon %d points)", x, y, got[y*w+x] != 0, want, len(p))
					}
				}
			}
		})
	}
}

func TestComponents(t *testing.T) {
	const w, h = 12, 6
	m := make([]uint8, w*h)
	for _, xy := range [][2]int{{1, 1}, {2, 2}, {3, 1}, {8, 3}, {9, 3}, {8, 4}, {11, 5}} {
		m[xy[1]*w+xy[0]] = 255
	}
	tests := []struct {
		min   int
		sizes []int
	}{{1, []int{3, 3, 1}}, {2, []int{3, 3}}, {4, nil}}
	for _, tc := range tests {
		polys, sizes := Components(m, w, h, tc.min)
		if len(sizes) != len(tc.sizes) || len(polys) != len(sizes) {
			t.Fatalf("min %d: sizes %v, want %v", tc.min, sizes, tc.sizes)
		}
		for i, p := range polys {
			if sizes[i] != tc.sizes[i] {
				t.Errorf("min %d: size[%d] = %d, want %d", tc.min, i, sizes[i], tc.sizes[i])
			}
			got := make([]uint8, w*h)
			geom.Fill(got, w, h, p, 1)
			n := 0
			for j, v := range got {
				if v != 0 {
					n++
					if m[j] == 0 {
						t.Errorf("component %d covers background pixel %d", i, j)
					}
				}
			}
			if n != sizes[i] {
				t.Errorf("component %d fill has %d pixels, want %d", i, n, sizes[i])
			}
		}
	}
}

// TestComponentsRandomMasks checks Components on random masks: every component's polygon fills
// exactly its pixels, the components partition the mask, none touches another 8-connectedly,
// and they come in raster order of their first pixel.
func TestComponentsRandomMasks(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for k := 0; k < 60; k++ {
		w, h := 1+r.IntN(30), 1+r.IntN(20)
		m := make([]uint8, w*h)
		p := r.Float64() * 0.6
		for i := range m {
			if r.Float64() < p {
				m[i] = 1
			}
		}
		polys, sizes := Components(m, w, h, 1)
		owner := make([]int, w*h)
		first := -1
		for c, poly := range polys {
			got := make([]uint8, w*h)
			geom.Fill(got, w, h, poly, 1)
			n, start := 0, -1
			for i, v := range got {
				if v == 0 {
					continue
				}
				if m[i] == 0 || owner[i] != 0 {
					t.Fatalf("mask %d: component %d covers pixel %d (mask %d, owner %d)", k, c, i, m[i], owner[i])
				}
				owner[i] = c + 1
				n++
				if start < 0 {
					start = i
				}
			}
			if n != sizes[c] || start <= first {
				t.Fatalf("mask %d: component %d has %d pixels (size %d), first pixel %d after %d", k, c, n, sizes[c], start, first)
			}
			first = start
		}
		for i, v := range m {
			if v != 0 && owner[i] == 0 {
				t.Fatalf("mask %d: pixel %d in no component", k, i)
			}
			if v == 0 {
				continue
			}
			x, y := i%w, i/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx >= 0 && ny >= 0 && nx < w && ny < h && m[ny*w+nx] != 0 && owner[ny*w+nx] != owner[i] {
						t.Fatalf("mask %d: touching pixels %d and %d in different components", k, i, ny*w+nx)
					}
				}
			}
		}
	}
}
