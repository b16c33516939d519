package geom

import "testing"

func TestFillMatchesContains(t *testing.T) {
	polys := map[string]Polygon{
		"square":   {{1, 1}, {5, 1}, {5, 5}, {1, 5}},
		"triangle": {{0.2, 0.3}, {9.7, 2.1}, {3.3, 8.8}},
		"concave":  {{0, 0}, {10, 0}, {10, 10}, {5, 3}, {0, 10}},
		"outside":  {{-5, -5}, {20, -3}, {4, 30}},
		"sliver":   {{2, 2}, {2.2, 2}, {2.2, 9}},
	}
	const w, h = 12, 11
	for name, p := range polys {
		t.Run(name, func(t *testing.T) {
			m := make([]uint8, w*h)
			Fill(m, w, h, p, 1)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					want := p.Contains(Point{float64(x) + 0.5, float64(y) + 0.5})
					if got := m[y*w+x] == 1; got != want {
						t.Fatalf("pixel (%d,%d): fill %v, contains %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestFillSquareArea(t *testing.T) {
	m := make([]uint8, 100)
	Fill(m, 10, 10, Polygon{{1, 1}, {5, 1}, {5, 5}, {1, 5}}, 255)
	n := 0
	for _, v := range m {
		if v == 255 {
			n++
		}
	}
	if n != 16 {
		t.Fatalf("4×4 square filled %d pixels, want 16", n)
	}
}

func TestRect(t *testing.T) {
	tests := []struct {
		a, b Rect
		iou  float64
	}{
		{Rect{0, 0, 2, 2}, Rect{0, 0, 2, 2}, 1},
		{Rect{0, 0, 2, 2}, Rect{1, 0, 3, 2}, 2.0 / 6},
		{Rect{0, 0, 2, 2}, Rect{5, 5, 6, 6}, 0},
		{Rect{}, Rect{}, 0},
	}
	for _, tc := range tests {
		if got := tc.a.IoU(tc.b); got != tc.iou {
			t.Errorf("%v IoU %v = %v, want %v", tc.a, tc.b, got, tc.iou)
		}
	}
	if got := (Rect{0, 0, 2, 2}).Union(Rect{3, 3, 4, 5}); got != (Rect{0, 0, 4, 5}) {
		t.Errorf("union = %v", got)
	}
}

func TestPolygonArea(t *testing.T) {
	if a := (Polygon{{0, 0}, {4, 0}, {4, 3}}).Area(); a != 6 {
		t.Fatalf("area %v, want 6", a)
	}
}
