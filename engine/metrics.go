package engine

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/hisirdesk/hisir/engine/geom"
)

// ErrMetric reports inputs a metric is not defined for (no positives, no negatives, sizes
// that disagree, NaN scores).
var ErrMetric = errors.New("metric undefined for these inputs")

// ImageAUROC is the area under the ROC curve of image scores against image labels
// (Mann–Whitney: the probability that an anomalous image outscores a normal one, ties
// counting one half).
func ImageAUROC(scores []float64, anomalous []bool) (float64, error) {
	if len(scores) != len(anomalous) {
		return 0, fmt.Errorf("image auroc: %w: %d scores for %d labels", ErrMetric, len(scores), len(anomalous))
	}
	var pos, neg []float64
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, fmt.Errorf("image auroc: %w: score %d is NaN", ErrMetric, i)
		}
		if anomalous[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	if len(pos) == 0 || len(neg) == 0 {
		return 0, fmt.Errorf("image auroc: %w: %d anomalous and %d normal images (need both)", ErrMetric, len(pos), len(neg))
	}
	slices.Sort(pos)
	slices.Sort(neg)
	return mannWhitney(pos, neg), nil
}

// mannWhitney returns P(pos > neg) + ½ P(pos = neg) for sorted samples.
func mannWhitney[T cmp.Ordered](pos, neg []T) float64 {
	var wins float64 // twice the count, to keep halves exact
	lo, hi := 0, 0   // neg[:lo] < v, neg[:hi] <= v
	for i := 0; i < len(pos); {
		v := pos[i]
		j := i
		for j < len(pos) && pos[j] == v {
			j++
		}
		for lo < len(neg) && neg[lo] < v {
			lo++
		}
		hi = max(hi, lo)
		for hi < len(neg) && neg[hi] <= v {
			hi++
		}
		wins += float64(j-i) * float64(2*lo+(hi-lo))
		i = j
	}
	return wins / 2 / (float64(len(pos)) * float64(len(neg)))
}

// checkPairs validates matching lists of score maps and masks.
func checkPairs(what string, scores []*Map, masks []*Mask) error {
	if len(scores) != len(masks) {
		return fmt.Errorf("%s: %w: %d score maps for %d masks", what, ErrMetric, len(scores), len(masks))
	}
	for i := range scores {
		s, m := scores[i], masks[i]
		if s == nil || m == nil || s.W != m.W || s.H != m.H || len(s.V) != s.W*s.H || len(m.Pix) != m.W*m.H {
			return fmt.Errorf("%s: %w: image %d: score map and mask sizes disagree", what, ErrMetric, i)
		}
	}
	return nil
}

// PixelAUROC is the ROC area over all pixels of all images, mask pixels being positive.
// It is exact (ties count one half) and holds a copy of every score while it runs.
func PixelAUROC(scores []*Map, masks []*Mask) (float64, error) {
	if err := checkPairs("pixel auroc", scores, masks); err != nil {
		return 0, err
	}
	var pos, neg []float32
	for i := range scores {
		for k, v := range scores[i].V {
			if v != v {
				return 0, fmt.Errorf("pixel auroc: %w: image %d pixel %d is NaN", ErrMetric, i, k)
			}
			if masks[i].Pix[k] != 0 {
				pos = append(pos, v)
			} else {
				neg = append(neg, v)
			}
		}
	}
	if len(pos) == 0 || len(neg) == 0 {
		return 0, fmt.Errorf("pixel auroc: %w: %d anomalous and %d normal pixels (need both)", ErrMetric, len(pos), len(neg))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); slices.Sort(pos) }()
	slices.Sort(neg)
	wg.Wait()
	return mannWhitney(pos, neg), nil
}

// AUPRO is the area under the per-region-overlap curve (MVTec AD): for every threshold,
// PRO is the mean over all ground-truth regions (8-connected components of the masks, over
// all images) of the fraction of the region at or above the threshold, and FPR the fraction
// of normal pixels at or above it. The curve, from (0,0) through every distinct threshold,
// is integrated with the trapezoid rule up to fprLimit (interpolating linearly there) and
// divided by fprLimit, so a perfect detector scores 1.
func AUPRO(scores []*Map, masks []*Mask, fprLimit float64) (float64, error) {
	if err := checkPairs("aupro", scores, masks); err != nil {
		return 0, err
	}
	if !(fprLimit > 0 && fprLimit <= 1) {
		return 0, fmt.Errorf("aupro: %w: fpr limit %g must lie in (0,1]", ErrMetric, fprLimit)
	}
	type px struct {
		v   float32
		reg int32 // region index, −1 for normal pixels
	}
	var all []px
	var sizes []int
	for i := range scores {
		runs := runsOfMask(masks[i])
		n := label(runs)
		base := int32(len(sizes))
		sizes = append(sizes, make([]int, n)...)
		reg := make([]int32, len(masks[i].Pix))
		for k := range reg {
			reg[k] = -1
		}
		W := masks[i].W
		for _, r := range runs {
			sizes[base+r.comp] += int(r.x1 - r.x0)
			for x := r.x0; x < r.x1; x++ {
				reg[int(r.y)*W+int(x)] = base + r.comp
			}
		}
		for k, v := range scores[i].V {
			if v != v {
				return 0, fmt.Errorf("aupro: %w: image %d pixel %d is NaN", ErrMetric, i, k)
			}
			all = append(all, px{v, reg[k]})
		}
	}
	nNeg := 0
	for _, p := range all {
		if p.reg < 0 {
			nNeg++
		}
	}
	if len(sizes) == 0 || nNeg == 0 {
		return 0, fmt.Errorf("aupro: %w: %d anomalous regions and %d normal pixels (need both)", ErrMetric, len(sizes), nNeg)
	}
	slices.SortFunc(all, func(a, b px) int { return cmp.Compare(b.v, a.v) })
	// Sweep thresholds from high to low; a point after each group of equal scores.
	fprs, pros := []float64{0}, []float64{0}
	k := float64(len(sizes))
	fp := 0
	var pro float64
	for i := 0; i < len(all); {
		v := all[i].v
		for ; i < len(all) && all[i].v == v; i++ {
			if r := all[i].reg; r < 0 {
				fp++
			} else {
				pro += 1 / (k * float64(sizes[r]))
			}
		}
		fprs = append(fprs, float64(fp)/float64(nNeg))
		pros = append(pros, pro)
	}
	return trapezoid(fprs, pros, fprLimit) / fprLimit, nil
}

// trapezoid integrates the piecewise-linear curve (x[i], y[i]), x ascending, from x[0] to
// limit.
func trapezoid(x, y []float64, limit float64) float64 {
	var area float64
	for i := 1; i < len(x); i++ {
		x0, x1, y0, y1 := x[i-1], x[i], y[i-1], y[i]
		if x0 >= limit {
			break
		}
		if x1 > limit {
			yl := y0 + (y1-y0)*(limit-x0)/(x1-x0)
			area += (limit - x0) * (y0 + yl) / 2
			break
		}
		area += (x1 - x0) * (y0 + y1) / 2
	}
	return area
}

// Match counts one-to-one matches between predicted and ground-truth regions.
type Match struct {
	TP, FP, FN int
	Precision  float64 // TP/(TP+FP); 1 when there are no predictions
	Recall     float64 // TP/(TP+FN); 1 when there is no ground truth
}

// NewMatch computes precision and recall from counts.
func NewMatch(tp, fp, fn int) Match {
	m := Match{TP: tp, FP: fp, FN: fn, Precision: 1, Recall: 1}
	if tp+fp > 0 {
		m.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		m.Recall = float64(tp) / float64(tp+fn)
	}
	return m
}

// Add sums the counts of two matches (e.g. over images) and recomputes the ratios.
func (m Match) Add(o Match) Match { return NewMatch(m.TP+o.TP, m.FP+o.FP, m.FN+o.FN) }

// raster is a polygon rasterised into its bounding box.
type raster struct {
	box  geom.Rect
	pix  []uint8
	area int
}

func rasterise(p geom.Polygon) raster {
	b := p.Bounds()
	r := raster{box: b}
	if b.Empty() {
		return r
	}
	r.pix = make([]uint8, b.Area())
	geom.Fill(r.pix, b.Dx(), b.Dy(), p.Translate(-float64(b.X0), -float64(b.Y0)), 1)
	for _, v := range r.pix {
		r.area += int(v)
	}
	return r
}

// PixelIoU is the intersection over union of the pixel sets of two polygons (pixel centres
// inside, even-odd rule, as geom.Fill).
func PixelIoU(a, b geom.Polygon) float64 { return rasterIoU(rasterise(a), rasterise(b)) }

func rasterIoU(a, b raster) float64 {
	in := 0
	ib := a.box.Intersect(b.box)
	for y := ib.Y0; y < ib.Y1; y++ {
		ra := a.pix[(y-a.box.Y0)*a.box.Dx():]
		rb := b.pix[(y-b.box.Y0)*b.box.Dx():]
		for x := ib.X0; x < ib.X1; x++ {
			in += int(ra[x-a.box.X0] & rb[x-b.box.X0])
		}
	}
	u := a.area + b.area - in
	if u == 0 {
		return 0
	}
	return float64(in) / float64(u)
}

// MatchDefects pairs predicted and ground-truth regions one to one by the IoU of their pixel
// masks (each polygon rasterised as geom.Fill does, even-odd, so the holes of a defect
// outline stay outside). A pair matches when its IoU exceeds iouThr; pairs are taken greedily by
// decreasing IoU (ties: lower prediction index, then lower ground-truth index). With
// iouThr ≥ 0.5 and disjoint regions the matching is unique, so greedy is optimal.
// Unmatched predictions are false positives, unmatched ground truth false negatives.
func MatchDefects(pred, gt []geom.Polygon, iouThr float64) Match {
	pr := make([]raster, len(pred))
	for i, p := range pred {
		pr[i] = rasterise(p)
	}
	gr := make([]raster, len(gt))
	for i, g := range gt {
		gr[i] = rasterise(g)
	}
	type pair struct {
		iou  float64
		p, g int
	}
	var pairs []pair
	for i := range pr {
		for j := range gr {
			if pr[i].box.Intersect(gr[j].box).Empty() {
				continue
			}
			if v := rasterIoU(pr[i], gr[j]); v > iouThr {
				pairs = append(pairs, pair{v, i, j})
			}
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(b.iou, a.iou) })
	usedP := make([]bool, len(pred))
	usedG := make([]bool, len(gt))
	tp := 0
	for _, q := range pairs {
		if usedP[q.p] || usedG[q.g] {
			continue
		}
		usedP[q.p], usedG[q.g] = true, true
		tp++
	}
	return NewMatch(tp, len(pred)-tp, len(gt)-tp)
}

// Polygons returns the outlines of defects, e.g. for MatchDefects.
func Polygons(ds []Defect) []geom.Polygon {
	out := make([]geom.Polygon, len(ds))
	for i, d := range ds {
		out[i] = d.Polygon
	}
	return out
}

// BoxPolygon is the outline of a rectangle, e.g. a ground-truth bounding box.
func BoxPolygon(r geom.Rect) geom.Polygon {
	x0, y0, x1, y1 := float64(r.X0), float64(r.Y0), float64(r.X1), float64(r.Y1)
	return geom.Polygon{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}
