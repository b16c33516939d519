package evaluate

import (
	"math"
	"math/rand"
	"testing"

	"github.com/hisirdesk/hisir/engine"
)

// floodLabels is the brute-force reference for Components: BFS flood fill, 8-connected.
func floodLabels(mask []uint8, w, h int) ([]int32, int) {
	labels := make([]int32, w*h)
	var n int32
	for i := range mask {
		if mask[i] == 0 || labels[i] != 0 {
			continue
		}
		n++
		stack := []int{i}
		labels[i] = n
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					q := yy*w + xx
					if mask[q] != 0 && labels[q] == 0 {
						labels[q] = n
						stack = append(stack, q)
					}
				}
			}
		}
	}
	return labels, int(n)
}

func TestComponentsMatchesFloodFill(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		w, h := 1+rng.Intn(30), 1+rng.Intn(30)
		density := rng.Float64()
		mask := make([]uint8, w*h)
		for i := range mask {
			if rng.Float64() < density {
				mask[i] = 255
			}
		}
		got, n := Components(mask, w, h)
		want, wn := floodLabels(mask, w, h)
		if n != wn {
			t.Fatalf("trial %d (%dx%d): %d components, want %d", trial, w, h, n, wn)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("trial %d: pixel %d label %d, want %d", trial, i, got[i], want[i])
			}
		}
	}
}

func TestComponentsHandCases(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		mask string
		n    int
	}{
		{"empty", 3, 2, "000000", 0},
		{"diagonal touch merges", 3, 3, "100010001", 1},
		{"anti-diagonal", 3, 3, "001010100", 1},
		{"two apart", 4, 1, "1001", 2},
		{"ring with hole is one", 3, 3, "111101111", 1},
		{"U shape joins late", 3, 2, "101111", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := make([]uint8, len(tc.mask))
			for i, c := range tc.mask {
				if c == '1' {
					m[i] = 1
				}
			}
			if _, n := Components(m, tc.w, tc.h); n != tc.n {
				t.Fatalf("got %d components, want %d", n, tc.n)
			}
		})
	}
}

func quantise(s float32, bins int) float32 {
	b := int(float64(s) * float64(bins))
	if b >= bins {
		b = bins - 1
	}
	return float32(b) / float32(bins)
}

// TestPixelAUROCMatchesEngine checks the streaming histogram AUROC against the engine's exact
// in-memory one (pair counting with ties one half) on quantised scores, where both must agree.
func TestPixelAUROCMatchesEngine(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for trial := 0; trial < 20; trial++ {
		const bins = 64 // coarse bins make ties common
		w, h := 17, 11
		p := NewPixel(bins)
		var maps []*engine.Map
		var masks []*engine.Mask
		for img := 0; img < 3; img++ {
			m, mk := engine.NewMap(w, h), engine.NewMask(w, h)
			for i := range m.V {
				v := rng.Float64() * 0.7
				if rng.Float64() < 0.3 {
					mk.Pix[i] = 1
					v = math.Min(1, rng.Float64()*0.6+0.3)
				}
				m.V[i] = quantise(float32(v), bins)
			}
			if err := p.Add(m.V, mk.Pix, w, h); err != nil {
				t.Fatal(err)
			}
			maps, masks = append(maps, m), append(masks, mk)
		}
		got, err := p.AUROC()
		if err != nil {
			t.Fatal(err)
		}
		want, err := engine.PixelAUROC(maps, masks)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: auroc %v, engine %v", trial, got, want)
		}
	}
}

func TestPixelAUROCHandCases(t *testing.T) {
	tests := []struct {
		name   string
		scores []float32
		mask   []uint8
		want   float64
	}{
		{"perfect", []float32{0.1, 0.2, 0.8, 0.9}, []uint8{0, 0, 1, 1}, 1},
		{"inverted", []float32{0.8, 0.9, 0.1, 0.2}, []uint8{0, 0, 1, 1}, 0},
		{"all tied", []float32{0.5, 0.5, 0.5, 0.5}, []uint8{0, 0, 1, 1}, 0.5},
		{"one swap", []float32{0.1, 0.6, 0.5, 0.9}, []uint8{0, 0, 1, 1}, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPixel(0)
			if err := p.Add(tc.scores, tc.mask, 4, 1); err != nil {
				t.Fatal(err)
			}
			got, err := p.AUROC()
			if err != nil || math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("auroc %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

// TestAUPROMatchesEngine checks the streaming AUPRO against the engine's exact threshold sweep.
func TestAUPROMatchesEngine(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	const bins = 128
	for trial := 0; trial < 10; trial++ {
		w, h := 20, 14
		p := NewPixel(bins)
		var maps []*engine.Map
		var masks []*engine.Mask
		for k := 0; k < 3; k++ {
			m, mk := engine.NewMap(w, h), engine.NewMask(w, h)
			// a few rectangular regions of varying detectability
			for r := 0; r < 2; r++ {
				x0, y0 := rng.Intn(w-4), rng.Intn(h-4)
				for y := y0; y < y0+2+rng.Intn(3); y++ {
					for x := x0; x < x0+2+rng.Intn(3); x++ {
						mk.Pix[y*w+x] = 1
					}
				}
			}
			for i := range m.V {
				v := rng.Float64() * 0.6
				if mk.Pix[i] != 0 {
					v += rng.Float64() * 0.5
				}
				m.V[i] = quantise(float32(math.Min(v, 1)), bins)
			}
			if err := p.Add(m.V, mk.Pix, w, h); err != nil {
				t.Fatal(err)
			}
			maps, masks = append(maps, m), append(masks, mk)
		}
		got, err := p.AUPRO(0.3)
		if err != nil {
			t.Fatal(err)
		}
		want, err := engine.AUPRO(maps, masks, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d: aupro %v, engine %v", trial, got, want)
		}
	}
}

func TestAUPROPerfectAndErrors(t *testing.T) {
	p := NewPixel(0)
	if _, err := p.AUPRO(0.3); err == nil {
		t.Fatal("aupro of nothing must fail")
	}
	p.Add([]float32{0, 0, 1, 1}, []uint8{0, 0, 1, 1}, 4, 1)
	got, err := p.AUPRO(0.3)
	if err != nil || math.Abs(got-1) > 1e-12 {
		t.Fatalf("perfect aupro %v (%v), want 1", got, err)
	}
	if _, err := p.AUPRO(0); err == nil {
		t.Fatal("fpr limit 0 must fail")
	}
}

func TestImageAUROC(t *testing.T) {
	got, err := ImageAUROC([]float64{0.9, 0.1, 0.5, 0.5}, []bool{true, false, true, false})
	if err != nil || got != 0.875 {
		t.Fatalf("image auroc %v (%v), want 0.875", got, err)
	}
	if _, err := ImageAUROC([]float64{1}, []bool{true}); err == nil {
		t.Fatal("no normal images must fail")
	}
}

func TestDefectMatching(t *testing.T) {
	// 10×6 image; gt: a 3×3 block at (1,1) and a 2×2 block at (7,3).
	const w, h = 10, 6
	gt := make([]uint8, w*h)
	set := func(m []uint8, x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				m[y*w+x] = 1
			}
		}
	}
	set(gt, 1, 1, 4, 4)
	set(gt, 7, 3, 9, 5)
	tests := []struct {
		name       string
		pred       func(s []float32)
		tp, fp, fn int
	}{
		{"exact", func(s []float32) { fill(s, w, 1, 1, 4, 4); fill(s, w, 7, 3, 9, 5) }, 2, 0, 0},
		{"iou exactly 0.5 does not count", func(s []float32) { fill(s, w, 1, 1, 4, 4); fill(s, w, 7, 3, 9, 5); fill(s, w, 7, 1, 9, 3) }, 1, 1, 1},
		{"shifted by one: 6/12", func(s []float32) { fill(s, w, 2, 1, 5, 4) }, 0, 1, 2},
		{"spurious blob", func(s []float32) { fill(s, w, 1, 1, 4, 4); fill(s, w, 6, 0, 7, 1) }, 1, 1, 1},
		{"nothing", func(s []float32) {}, 0, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := make([]float32, w*h)
			tc.pred(s)
			d := NewDefects([]float32{0.5}, 1)
			if err := d.Add(s, gt, w, h, false); err != nil {
				t.Fatal(err)
			}
			c := d.Counts[0]
			if c.TP != tc.tp || c.FP != tc.fp || c.FN != tc.fn {
				t.Fatalf("tp/fp/fn = %d/%d/%d, want %d/%d/%d", c.TP, c.FP, c.FN, tc.tp, tc.fp, tc.fn)
			}
		})
	}
}

func fill(s []float32, w, x0, y0, x1, y1 int) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			s[y*w+x] = 1
		}
	}
}

func TestDefectFreeAndMinArea(t *testing.T) {
	const w, h = 6, 6
	s := make([]float32, w*h)
	fill(s, w, 0, 0, 1, 1) // 1 px
	fill(s, w, 3, 3, 6, 6) // 9 px
	d := NewDefects([]float32{0.9, 0.5}, 4)
	if err := d.Add(s, nil, w, h, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Counts {
		if c.FPDefectFree != 1 || c.FP != 0 || c.DefectFreeImages != 1 || c.FPPerDefectFreeImage() != 1 {
			t.Fatalf("threshold %v: %+v", c.Threshold, c)
		}
	}
	if d.Counts[0].Threshold != 0.5 {
		t.Fatal("thresholds must be sorted ascending")
	}
}
