package main

import (
	"context"
	"errors"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/store"
	"github.com/hisirdesk/hisir/ui"
)

// tuningImage is one image of the tuning sweep: its score map and ground-truth regions
// rasterised as ids (0 background, k+1 for region k).
type tuningImage struct {
	scores *engine.Map
	gt     []int32
	nGT    int
}

// tuningCurve sweeps steps+1 thresholds over [lo, hi] on the images that have a GUI score
// map and ground truth: their labels, else their accepted detections once every detection
// is decided. A predicted region (score ≥ t, 8-connected, at least guiMinArea pixels) is a
// true positive when it touches a ground-truth region, else a false positive; a
// ground-truth region is found when a predicted region touches it. It returns the points,
// the number of images used and how many of them are defect-free.
func (b *backend) tuningCurve(ctx context.Context, lo, hi float64, steps int) ([]ui.TuningPoint, int, int, error) {
	sums, err := b.st.Summaries(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	var items []tuningImage
	clean := 0
	for _, s := range sums {
		if s.RunID == 0 || (s.Labels == 0 && s.Pending > 0) {
			continue
		}
		data, err := b.st.Map(ctx, s.RunID, s.ImageID, scoreMapKind)
		if errors.Is(err, store.ErrNotFound) {
			continue // run by the headless tools: no GUI score map
		}
		if err != nil {
			return nil, 0, 0, err
		}
		m, err := decodeScores(data)
		if err != nil {
			return nil, 0, 0, err
		}
		var polys []geom.Polygon
		if s.Labels > 0 {
			ls, err := b.st.Labels(ctx, s.ImageID)
			if err != nil {
				return nil, 0, 0, err
			}
			for _, l := range ls {
				polys = append(polys, l.Polygon)
			}
		} else {
			ds, err := b.st.Detections(ctx, s.ImageID, s.RunID)
			if err != nil {
				return nil, 0, 0, err
			}
			for _, d := range ds {
				if d.Status == store.Accepted {
					polys = append(polys, d.Polygon)
				}
			}
		}
		if len(polys) == 0 {
			clean++
		}
		items = append(items, tuningImage{scores: m, gt: rasterIDs(m.W, m.H, polys), nGT: len(polys)})
	}
	if len(items) == 0 {
		return nil, 0, 0, nil
	}
	pts := make([]ui.TuningPoint, 0, steps+1)
	lab := make([]int32, 0)
	for i := 0; i <= steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		t := lo + (hi-lo)*float64(i)/float64(steps)
		var tp, fp, found, total, cleanFP int
		for _, it := range items {
			n := it.scores.W * it.scores.H
			if cap(lab) < n {
				lab = make([]int32, n)
			}
			r := regionHits(it.scores, float32(t), guiMinArea, it.gt, it.nGT, lab[:n])
			tp, fp, found, total = tp+r.tp, fp+r.fp, found+r.found, total+it.nGT
			if it.nGT == 0 {
				cleanFP += r.fp
			}
		}
		p := ui.TuningPoint{Threshold: t, Precision: 1, Recall: 1}
		if tp+fp > 0 {
			p.Precision = float64(tp) / float64(tp+fp)
		}
		if total > 0 {
			p.Recall = float64(found) / float64(total)
		}
		if clean > 0 {
			p.FPPerBoard = float64(cleanFP) / float64(clean)
		}
		pts = append(pts, p)
	}
	return pts, len(items), clean, nil
}

// rasterIDs paints polygon k as k+1 on a w×h grid.
func rasterIDs(w, h int, polys []geom.Polygon) []int32 {
	ids := make([]int32, w*h)
	mask := make([]uint8, w*h)
	for k, p := range polys {
		b := p.Bounds().Intersect(geom.Rect{X1: w, Y1: h})
		geom.Fill(mask, w, h, p, 1)
		for y := b.Y0; y < b.Y1; y++ {
			for x := b.X0; x < b.X1; x++ {
				if i := y*w + x; mask[i] == 1 {
					ids[i], mask[i] = int32(k+1), 0
				}
			}
		}
	}
	return ids
}

// regionCount are the region counts of one image at one threshold.
type regionCount struct{ tp, fp, found int }

// regionHits labels the 8-connected regions of score ≥ t (flood fill with an explicit
// stack over the pixel slice, lab as scratch) and matches them to ground truth by contact.
func regionHits(m *engine.Map, t float32, minArea int, gt []int32, nGT int, lab []int32) regionCount {
	w, h := m.W, m.H
	for i := range lab {
		lab[i] = 0
	}
	found := make([]bool, nGT+1)
	var r regionCount
	stack := make([]int32, 0, 1024)
	touched := make([]int32, 0, 8)
	for start, v := range m.V {
		if v < t || lab[start] != 0 {
			continue
		}
		lab[start] = 1
		stack = append(stack[:0], int32(start))
		area := 0
		touched = touched[:0]
		for len(stack) > 0 {
			i := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			area++
			if g := gt[i]; g != 0 && (len(touched) == 0 || touched[len(touched)-1] != g) {
				touched = append(touched, g)
			}
			x, y := i%w, i/w
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					j := yy*w + xx
					if lab[j] == 0 && m.V[j] >= t {
						lab[j] = 1
						stack = append(stack, int32(j))
					}
				}
			}
		}
		if area < minArea {
			continue
		}
		if len(touched) == 0 {
			r.fp++
			continue
		}
		r.tp++
		for _, g := range touched {
			found[g] = true
		}
	}
	for _, f := range found[1:] {
		if f {
			r.found++
		}
	}
	return r
}
