package engine_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// pairAUROC counts all positive–negative pairs: wins 1, ties ½.
func pairAUROC(pos, neg []float64) float64 {
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

func TestImageAUROC(t *testing.T) {
	hand := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5}, []bool{true, false, false}, 0.5},
		{"one swap", []float64{0.1, 0.6, 0.5, 0.9}, []bool{false, false, true, true}, 0.75},
		{"tie across", []float64{0.1, 0.5, 0.5, 0.9}, []bool{false, false, true, true}, 0.875},
	}
	for _, c := range hand {
		t.Run(c.name, func(t *testing.T) {
			got, err := engine.ImageAUROC(c.scores, c.labels)
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
	for seed := uint64(0); seed < 20; seed++ {
		t.Run(fmt.Sprintf("random%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 3))
			n := 2 + r.IntN(60)
			scores := make([]float64, n)
			labels := make([]bool, n)
			var pos, neg []float64
			for i := range scores {
				scores[i] = float64(r.IntN(7)) // many ties
				labels[i] = r.IntN(3) == 0
				if i == 0 {
					labels[i] = true
				}
				if i == 1 {
					labels[i] = false
				}
				if labels[i] {
					pos = append(pos, scores[i])
				} else {
					neg = append(neg, scores[i])
				}
			}
			got, err := engine.ImageAUROC(scores, labels)
			if err != nil {
				t.Fatal(err)
			}
			if want := pairAUROC(pos, neg); math.Abs(got-want) > 1e-12 {
				t.Fatalf("got %v, pair counting %v", got, want)
			}
		})
	}
	if _, err := engine.ImageAUROC([]float64{1, 2}, []bool{true, true}); !errors.Is(err, engine.ErrMetric) {
		t.Fatalf("no normal images: got %v, want ErrMetric", err)
	}
	if _, err := engine.ImageAUROC([]float64{1}, []bool{true, false}); !errors.Is(err, engine.ErrMetric) {
		t.Fatalf("length mismatch: got %v, want ErrMetric", err)
	}
}

// randomCase makes score maps with quantised values (ties) and blobby masks.
func randomCase(seed uint64, n, w, h int) ([]*engine.Map, []*engine.Mask) {
	r := rand.New(rand.NewPCG(seed, 5))
	var scores []*engine.Map
	var masks []*engine.Mask
	for i := 0; i < n; i++ {
		m := randomMask(w, h, seed*31+uint64(i), 0.58)
		s := engine.NewMap(w, h)
		for k := range s.V {
			v := float32(r.IntN(10)) / 10
			if m.Pix[k] != 0 {
				v += float32(r.IntN(6)) / 10 // anomalous pixels score higher on average
			}
			s.V[k] = v
		}
		scores = append(scores, s)
		masks = append(masks, m)
	}
	return scores, masks
}

func TestPixelAUROCAgainstPairs(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			scores, masks := randomCase(seed, 3, 17, 11)
			var pos, neg []float64
			for i := range scores {
				for k, v := range scores[i].V {
					if masks[i].Pix[k] != 0 {
						pos = append(pos, float64(v))
					} else {
						neg = append(neg, float64(v))
					}
				}
			}
			got, err := engine.PixelAUROC(scores, masks)
			if err != nil {
				t.Fatal(err)
			}
			if want := pairAUROC(pos, neg); math.Abs(got-want) > 1e-12 {
				t.Fatalf("got %v, pair counting %v", got, want)
			}
		})
	}
}

// bruteAUPRO evaluates FPR and PRO directly at every distinct threshold and integrates
// each segment clipped to [0, limit].
func bruteAUPRO(scores []*engine.Map, masks []*engine.Mask, limit float64) float64 {
	var thr []float32
	for _, s := range scores {
		thr = append(thr, s.V...)
	}
	slices.Sort(thr)
	thr = slices.Compact(thr)
	slices.Reverse(thr)
	type region struct{ img, label, size int }
	var regions []region
	labs := make([][]int, len(masks))
	nNeg := 0
	for i, m := range masks {
		lab, n := bruteComponents(m)
		labs[i] = lab
		for c := 0; c < n; c++ {
			size := 0
			for _, l := range lab {
				if l == c {
					size++
				}
			}
			regions = append(regions, region{i, c, size})
		}
		for _, v := range m.Pix {
			if v == 0 {
				nNeg++
			}
		}
	}
	xs, ys := []float64{0}, []float64{0}
	for _, t := range thr {
		fp := 0
		for i, s := range scores {
			for k, v := range s.V {
				if v >= t && masks[i].Pix[k] == 0 {
					fp++
				}
			}
		}
		var pro float64
		for _, rg := range regions {
			hit := 0
			for k, l := range labs[rg.img] {
				if l == rg.label && scores[rg.img].V[k] >= t {
					hit++
				}
			}
			pro += float64(hit) / float64(rg.size)
		}
		xs = append(xs, float64(fp)/float64(nNeg))
		ys = append(ys, pro/float64(len(regions)))
	}
	var area float64
	for i := 1; i < len(xs); i++ {
		a, b := xs[i-1], math.Min(xs[i], limit)
		if b <= a {
			continue
		}
		at := func(x float64) float64 { return ys[i-1] + (ys[i]-ys[i-1])*(x-xs[i-1])/(xs[i]-xs[i-1]) }
		area += (b - a) * (at(a) + at(b)) / 2
	}
	return area / limit
}

func TestAUPROAgainstBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		for _, limit := range []float64{0.05, 0.3, 1} {
			t.Run(fmt.Sprintf("seed%d_limit%g", seed, limit), func(t *testing.T) {
				scores, masks := randomCase(seed, 2, 19, 13)
				got, err := engine.AUPRO(scores, masks, limit)
				if err != nil {
					t.Fatal(err)
				}
				if want := bruteAUPRO(scores, masks, limit); math.Abs(got-want) > 1e-9 {
					t.Fatalf("got %v, brute force %v", got, want)
				}
			})
		}
	}
}

func TestAUPROHandCases(t *testing.T) {
	mask := &engine.Mask{W: 4, H: 2, Pix: []uint8{1, 0, 0, 1, 0, 0, 0, 0}} // two regions of one pixel
	perfect := &engine.Map{W: 4, H: 2, V: []float32{1, 0, 0, 1, 0, 0, 0, 0}}
	half := &engine.Map{W: 4, H: 2, V: []float32{1, 0, 0, 0, 0, 0, 0, 0}} // finds one region of two
	cases := []struct {
		name  string
		score *engine.Map
		limit float64
		want  float64
	}{
		{"perfect", perfect, 0.3, 1},
		// PRO is ½ from FPR 0 until the lowest threshold (FPR 1, PRO 1).
		{"half up to 0.3", half, 0.3, 0.5 + 0.5*0.3/2},
		{"half to 1", half, 1, 0.75},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := engine.AUPRO([]*engine.Map{c.score}, []*engine.Mask{mask}, c.limit)
			if err != nil || math.Abs(got-c.want) > 1e-12 {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
	empty := engine.NewMask(4, 2)
	if _, err := engine.AUPRO([]*engine.Map{perfect}, []*engine.Mask{empty}, 0.3); !errors.Is(err, engine.ErrMetric) {
		t.Fatalf("no regions: got %v, want ErrMetric", err)
	}
	if _, err := engine.AUPRO([]*engine.Map{perfect}, []*engine.Mask{mask}, 0); !errors.Is(err, engine.ErrMetric) {
		t.Fatalf("zero limit: got %v, want ErrMetric", err)
	}
}

func TestMatchDefects(t *testing.T) {
	box := func(x0, y0, x1, y1 int) geom.Polygon { return engine.BoxPolygon(rect(x0, y0, x1, y1)) }
	cases := []struct {
		name       string
		pred, gt   []geom.Polygon
		thr        float64
		tp, fp, fn int
	}{
		{"identical", []geom.Polygon{box(0, 0, 4, 4)}, []geom.Polygon{box(0, 0, 4, 4)}, 0.5, 1, 0, 0},
		{"shifted, IoU 1/3", []geom.Polygon{box(0, 0, 4, 4)}, []geom.Polygon{box(2, 0, 6, 4)}, 0.5, 0, 1, 1},
		{"IoU exactly 0.5 does not match", []geom.Polygon{box(0, 0, 4, 2)}, []geom.Polygon{box(0, 0, 4, 4)}, 0.5, 0, 1, 1},
		{"IoU 0.75 matches", []geom.Polygon{box(0, 0, 4, 3)}, []geom.Polygon{box(0, 0, 4, 4)}, 0.5, 1, 0, 0},
		{"two predictions, one truth", []geom.Polygon{box(0, 0, 4, 4), box(0, 0, 4, 3)}, []geom.Polygon{box(0, 0, 4, 4)}, 0.5, 1, 1, 0},
		{"one prediction, two truths", []geom.Polygon{box(0, 0, 10, 10)}, []geom.Polygon{box(0, 0, 10, 9), box(0, 9, 10, 10)}, 0.5, 1, 0, 1},
		{"triangle vs its box", []geom.Polygon{{{X: 0, Y: 0}, {X: 8, Y: 0}, {X: 0, Y: 8}}}, []geom.Polygon{box(0, 0, 8, 8)}, 0.3, 1, 0, 0},
		{"nothing", nil, nil, 0.5, 0, 0, 0},
		{"missed", nil, []geom.Polygon{box(1, 1, 2, 2)}, 0.5, 0, 0, 1},
		{"greedy takes the best pair", []geom.Polygon{box(0, 0, 10, 10), box(1, 0, 11, 10)}, []geom.Polygon{box(1, 0, 11, 10), box(0, 0, 10, 10)}, 0.5, 2, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := engine.MatchDefects(c.pred, c.gt, c.thr)
			want := engine.NewMatch(c.tp, c.fp, c.fn)
			if m != want {
				t.Fatalf("got %+v, want %+v", m, want)
			}
		})
	}
	if m := engine.NewMatch(0, 0, 0); m.Precision != 1 || m.Recall != 1 {
		t.Fatalf("empty match: %+v", m)
	}
	if m := engine.NewMatch(1, 1, 0).Add(engine.NewMatch(1, 0, 2)); m.TP != 2 || m.Precision != 2.0/3 || m.Recall != 0.5 {
		t.Fatalf("sum: %+v", m)
	}
}

func TestPixelIoUAndSimplify(t *testing.T) {
	box := func(x0, y0, x1, y1 int) geom.Polygon { return engine.BoxPolygon(rect(x0, y0, x1, y1)) }
	cases := []struct {
		name string
		a, b geom.Polygon
		want float64
	}{
		{"same", box(0, 0, 3, 3), box(0, 0, 3, 3), 1},
		{"half", box(0, 0, 4, 2), box(0, 0, 4, 4), 0.5},
		{"disjoint", box(0, 0, 2, 2), box(5, 5, 6, 6), 0},
		{"negative coordinates", box(-4, -4, 0, 0), box(-2, -4, 2, 0), 8.0 / 24},
	}
	for _, c := range cases {
		if got := engine.PixelIoU(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: IoU %v, want %v", c.name, got, c.want)
		}
	}
	// A 45° staircase collapses onto its diagonal; a rectangle's corners stay.
	stair := geom.Polygon{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}, {X: 2, Y: 1}, {X: 2, Y: 2}, {X: 3, Y: 2}, {X: 3, Y: 3}, {X: 0, Y: 3}}
	if s := engine.Simplify(stair, 0.75); len(s) != 3 {
		t.Errorf("staircase simplified to %v, want a triangle", s)
	}
	if s := engine.Simplify(stair, 0.1); len(s) != len(stair) {
		t.Errorf("tight tolerance dropped corners: %v", s)
	}
	rectRing := geom.Polygon{{X: 0, Y: 0}, {X: 5, Y: 0}, {X: 10, Y: 0}, {X: 10, Y: 4}, {X: 0, Y: 4}}
	if s := engine.Simplify(rectRing, 0.5); len(s) != 4 {
		t.Errorf("collinear point kept: %v", s)
	}
}
