package main

import (
	"context"
	"errors"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/evaluate"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/store"
	"github.com/hisirdesk/hisir/ui"
)

// tuningImage is one image of the tuning sweep: its score map and its ground-truth regions,
// labelled once for every threshold.
type tuningImage struct {
	scores *engine.Map
	truth  *evaluate.Truth
	// defectFree: the image has no ground-truth defect, so it counts as a defect-free board
	// (hisir eval's defect-free set): its predicted defects are false positives per
	// defect-free board and stay out of precision.
	defectFree bool
}

// tuningCurve sweeps steps+1 thresholds over [lo, hi] on the images that have a GUI score
// map and ground truth: their labels, else their accepted detections once every detection
// is decided. Defects are counted exactly as `hisir eval` counts them (engine/evaluate, the
// paper's protocol) at the GUI's minimum area. It returns the points, the number of images
// used and how many of them are defect-free.
func (b *backend) tuningCurve(ctx context.Context, lo, hi float64, steps int) ([]ui.TuningPoint, int, int, error) {
	items, err := b.tuningImages(ctx)
	if err != nil || len(items) == 0 {
		return nil, 0, 0, err
	}
	pts, err := tuningSweep(ctx, items, lo, hi, steps, guiMinArea)
	if err != nil {
		return nil, 0, 0, err
	}
	clean := 0
	for _, it := range items {
		if it.defectFree {
			clean++
		}
	}
	return pts, len(items), clean, nil
}

// tuningImages loads the score map and ground truth of every image the sweep can use.
func (b *backend) tuningImages(ctx context.Context) ([]tuningImage, error) {
	sums, err := b.st.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	var items []tuningImage
	for _, s := range sums {
		if s.RunID == 0 || (s.Labels == 0 && s.Pending > 0) {
			continue
		}
		data, err := b.st.Map(ctx, s.RunID, s.ImageID, scoreMapKind)
		if errors.Is(err, store.ErrNotFound) {
			continue // run by the headless tools: no GUI score map
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeScores(data)
		if err != nil {
			return nil, err
		}
		var polys []geom.Polygon
		if s.Labels > 0 {
			ls, err := b.st.Labels(ctx, s.ImageID)
			if err != nil {
				return nil, err
			}
			for _, l := range ls {
				polys = append(polys, l.Polygon)
			}
		} else {
			ds, err := b.st.Detections(ctx, s.ImageID, s.RunID)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				if d.Status == store.Accepted {
					polys = append(polys, d.Polygon)
				}
			}
		}
		it, err := newTuningImage(m, polys)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// newTuningImage rasterises the ground-truth polygons into one defect mask, as a SIPCBA
// export writes it (geom.Fill, so touching or overlapping polygons make one region), and
// labels its regions.
func newTuningImage(scores *engine.Map, polys []geom.Polygon) (tuningImage, error) {
	var mask []uint8
	if len(polys) > 0 {
		mask = make([]uint8, scores.W*scores.H)
		for _, p := range polys {
			geom.Fill(mask, scores.W, scores.H, p, 1)
		}
	}
	truth, err := evaluate.NewTruth(mask, scores.W, scores.H)
	if err != nil {
		return tuningImage{}, err
	}
	return tuningImage{scores: scores, truth: truth, defectFree: len(polys) == 0}, nil
}

// tuningSweep measures steps+1 thresholds over [lo, hi]: predicted defects (score ≥ t,
// 8-connected, at least minArea pixels) matched one-to-one to ground-truth regions at
// IoU > 0.5 by evaluate.Matcher, counted and turned into precision, recall and false
// positives per defect-free board by evaluate.DefectCounts — the numbers `hisir eval --json`
// reports as defect_precision, defect_recall and fp_per_defect_free_image. Each image is
// labelled once per threshold with one set of buffers; ctx is checked before every image.
func tuningSweep(ctx context.Context, items []tuningImage, lo, hi float64, steps, minArea int) ([]ui.TuningPoint, error) {
	var m evaluate.Matcher
	pts := make([]ui.TuningPoint, 0, steps+1)
	for i := 0; i <= steps; i++ {
		t := lo
		if steps > 0 {
			t = lo + (hi-lo)*float64(i)/float64(steps)
		}
		c := evaluate.DefectCounts{Threshold: float32(t)}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			tp, fp, fn, err := m.Match(it.scores, it.truth, c.Threshold, minArea)
			if err != nil {
				return nil, err
			}
			c.Add(tp, fp, fn, it.defectFree)
		}
		pts = append(pts, ui.TuningPoint{Threshold: t, Precision: c.Precision(), Recall: c.Recall(), FPPerBoard: c.FPPerDefectFreeImage()})
	}
	return pts, nil
}
