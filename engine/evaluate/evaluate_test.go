package evaluate

import (
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/hisirdesk/hisir/engine"
)

// floodLabels is the brute-force reference for the ground-truth regions: BFS flood fill,
// 8-connected, labels 1..n in raster order of the first pixel.
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

func TestTruthMatchesFloodFill(t *testing.T) {
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
		gt, err := NewTruth(mask, w, h)
		if err != nil {
			t.Fatal(err)
		}
		want, wn := floodLabels(mask, w, h)
		if gt.Regions() != wn {
			t.Fatalf("trial %d (%dx%d): %d regions, want %d", trial, w, h, gt.Regions(), wn)
		}
		wantArea := make([]int, wn)
		for _, l := range want {
			if l > 0 {
				wantArea[l-1]++
			}
		}
		for _, s := range gt.spans {
			for x := s.X0; x < s.X1; x++ {
				if l := want[int(s.Y)*w+int(x)]; l != s.Comp+1 {
					t.Fatalf("trial %d: pixel (%d,%d) in region %d, want %d", trial, x, s.Y, s.Comp+1, l)
				}
			}
		}
		for c, a := range gt.area {
			if a != wantArea[c] {
				t.Fatalf("trial %d: region %d has %d pixels, want %d", trial, c+1, a, wantArea[c])
			}
		}
	}
}

func TestTruthHandCases(t *testing.T) {
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
			gt, err := NewTruth(m, tc.w, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			if gt.Regions() != tc.n {
				t.Fatalf("got %d regions, want %d", gt.Regions(), tc.n)
			}
		})
	}
	if gt, err := NewTruth(nil, 4, 3); err != nil || gt.Regions() != 0 {
		t.Fatalf("nil mask: %v regions, %v", gt, err)
	}
	if _, err := NewTruth(make([]uint8, 5), 2, 2); err == nil {
		t.Fatal("a mask of the wrong size must fail")
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

// refMatch is the pixel-by-pixel reference for Matcher.Match: flood-filled labels, overlaps
// counted per pixel, one-to-one greedy pairing from the highest IoU.
func refMatch(scores []float32, mask []uint8, w, h int, t float32, minArea int) (tp, fp, fn int) {
	bin := make([]uint8, w*h)
	for i, s := range scores {
		if s >= t {
			bin[i] = 1
		}
	}
	pred, np := floodLabels(bin, w, h)
	gt, ng := floodLabels(mask, w, h)
	pa, ga := make([]int, np+1), make([]int, ng+1)
	inter := map[[2]int32]int{}
	for i := range pred {
		pa[pred[i]]++
		ga[gt[i]]++
		if pred[i] != 0 && gt[i] != 0 {
			inter[[2]int32{pred[i], gt[i]}]++
		}
	}
	type cand struct {
		p, g int32
		iou  float64
	}
	var cs []cand
	for k, in := range inter {
		if pa[k[0]] < minArea {
			continue
		}
		if iou := float64(in) / float64(pa[k[0]]+ga[k[1]]-in); iou > IoUThreshold {
			cs = append(cs, cand{k[0], k[1], iou})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].iou != cs[j].iou {
			return cs[i].iou > cs[j].iou
		}
		if cs[i].p != cs[j].p {
			return cs[i].p < cs[j].p
		}
		return cs[i].g < cs[j].g
	})
	usedP, usedG := make([]bool, np+1), make([]bool, ng+1)
	for _, c := range cs {
		if !usedP[c.p] && !usedG[c.g] {
			usedP[c.p], usedG[c.g] = true, true
			tp++
		}
	}
	for l := 1; l <= np; l++ {
		if pa[l] >= minArea && !usedP[l] {
			fp++
		}
	}
	return tp, fp, ng - tp
}

func TestMatcherMatchesPixelReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	var m Matcher // one matcher for every image and threshold, as the callers use it
	for trial := 0; trial < 150; trial++ {
		w, h := 2+rng.Intn(40), 2+rng.Intn(30)
		scores := make([]float32, w*h)
		mask := make([]uint8, w*h)
		// blobs: ground truth rectangles, predictions jittered copies plus noise
		for k := rng.Intn(5); k > 0; k-- {
			x0, y0 := rng.Intn(w), rng.Intn(h)
			x1, y1 := min(w, x0+1+rng.Intn(8)), min(h, y0+1+rng.Intn(8))
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					mask[y*w+x] = 1
				}
			}
			dx, dy := rng.Intn(3)-1, rng.Intn(3)-1
			for y := max(0, y0+dy); y < min(h, y1+dy); y++ {
				for x := max(0, x0+dx); x < min(w, x1+dx); x++ {
					scores[y*w+x] = 0.5 + 0.5*rng.Float32()
				}
			}
		}
		for i := range scores {
			if rng.Float64() < 0.08 {
				scores[i] = rng.Float32()
			}
		}
		gt, err := NewTruth(mask, w, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range []float32{0.3, 0.5, 0.7, 0.9} {
			for _, minArea := range []int{1, 4} {
				tp, fp, fn, err := m.Match(&engine.Map{W: w, H: h, V: scores}, gt, th, minArea)
				if err != nil {
					t.Fatal(err)
				}
				rtp, rfp, rfn := refMatch(scores, mask, w, h, th, minArea)
				if tp != rtp || fp != rfp || fn != rfn {
					t.Fatalf("trial %d t=%v min %d: tp/fp/fn %d/%d/%d, reference %d/%d/%d", trial, th, minArea, tp, fp, fn, rtp, rfp, rfn)
				}
			}
		}
	}
	if _, _, _, err := m.Match(engine.NewMap(3, 2), &Truth{w: 2, h: 3}, 0.5, 1); err == nil {
		t.Fatal("a score map of another size than the ground truth must fail")
	}
}

func TestDefectCountsAdd(t *testing.T) {
	var c DefectCounts
	c.Add(2, 1, 1, false) // defective image: its false positive lowers precision
	c.Add(0, 3, 0, true)  // defect-free image: counted per defect-free image only
	c.Add(0, 1, 0, true)
	want := DefectCounts{TP: 2, FP: 1, FN: 1, FPDefectFree: 4, DefectFreeImages: 2}
	if c != want {
		t.Fatalf("%+v, want %+v", c, want)
	}
	if c.Precision() != 2.0/3 || c.Recall() != 2.0/3 || c.FPPerDefectFreeImage() != 2 {
		t.Fatalf("P %v R %v FP/img %v", c.Precision(), c.Recall(), c.FPPerDefectFreeImage())
	}
}
