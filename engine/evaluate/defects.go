package evaluate

import (
	"fmt"
	"slices"
	"sort"

	"github.com/hisirdesk/hisir/engine"
)

// IoUThreshold is the paper's matching rule: a predicted defect matches a ground-truth
// defect when their pixel IoU is strictly greater than this.
const IoUThreshold = 0.5

// DefectCounts are defect-level results at one threshold.
type DefectCounts struct {
	Threshold        float32 `json:"threshold"`
	TP               int     `json:"tp"`
	FP               int     `json:"fp"`
	FN               int     `json:"fn"`
	FPDefectFree     int     `json:"fp_defect_free"`     // predicted defects on defect-free images
	DefectFreeImages int     `json:"defect_free_images"` // images counted for FPDefectFree
}

// Precision is TP/(TP+FP); 1 when nothing was predicted.
func (c DefectCounts) Precision() float64 {
	if c.TP+c.FP == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FP)
}

// Recall is TP/(TP+FN); 1 when there was nothing to find.
func (c DefectCounts) Recall() float64 {
	if c.TP+c.FN == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FN)
}

// FPPerDefectFreeImage is the mean number of false defects on a defect-free image.
func (c DefectCounts) FPPerDefectFreeImage() float64 {
	if c.DefectFreeImages == 0 {
		return 0
	}
	return float64(c.FPDefectFree) / float64(c.DefectFreeImages)
}

// Defects accumulates defect-level counts at several global thresholds at once.
type Defects struct {
	MinArea int
	Counts  []DefectCounts // one per threshold, ascending

	matcher Matcher
}

// NewDefects returns an accumulator for the given thresholds; predicted defects smaller than
// minArea pixels are dropped, as in the engine.
func NewDefects(thresholds []float32, minArea int) *Defects {
	ts := append([]float32(nil), thresholds...)
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	d := &Defects{MinArea: minArea, Counts: make([]DefectCounts, len(ts))}
	for i, t := range ts {
		d.Counts[i].Threshold = t
	}
	return d
}

// Add scores one image. mask marks ground-truth defect pixels (nil or all zero for a good
// image); defectFree says the image belongs to the independent defect-free set, whose
// predictions are counted as FPDefectFree instead of FP.
func (d *Defects) Add(scores []float32, mask []uint8, w, h int, defectFree bool) error {
	if len(scores) != w*h || (mask != nil && len(mask) != w*h) {
		return fmt.Errorf("evaluate: scores (%d) and mask (%d) must hold %d×%d values", len(scores), len(mask), w, h)
	}
	gt, err := NewTruth(mask, w, h)
	if err != nil {
		return err
	}
	m := &engine.Map{W: w, H: h, V: scores}
	for k := range d.Counts {
		tp, fp, fn, err := d.matcher.Match(m, gt, d.Counts[k].Threshold, d.MinArea)
		if err != nil {
			return err
		}
		d.Counts[k].Add(tp, fp, fn, defectFree)
	}
	return nil
}

// Add counts one image's matches at c.Threshold: on a defect-free image the false positives
// go to FPDefectFree (not FP, so not into precision) and the image to DefectFreeImages.
func (c *DefectCounts) Add(tp, fp, fn int, defectFree bool) {
	if defectFree {
		c.FPDefectFree += fp
		c.DefectFreeImages++
	} else {
		c.FP += fp
	}
	c.TP += tp
	c.FN += fn
}

// Truth is one image's ground truth for defect matching: the 8-connected regions of its
// defect mask, labelled once and matched against predictions at any number of thresholds.
type Truth struct {
	w, h  int
	spans []engine.Span // regions' pixels in raster order
	area  []int         // pixels per region
}

// NewTruth labels a w×h mask whose non-zero pixels are defects; nil means no defect.
func NewTruth(mask []uint8, w, h int) (*Truth, error) {
	if w < 0 || h < 0 || (mask != nil && len(mask) != w*h) {
		return nil, fmt.Errorf("evaluate: mask of %d values is not %d×%d", len(mask), w, h)
	}
	t := &Truth{w: w, h: h}
	if mask == nil {
		return t, nil
	}
	var n int
	t.spans, n = engine.LabelMask(nil, &engine.Mask{W: w, H: h, Pix: mask})
	t.area = make([]int, n)
	for _, s := range t.spans {
		t.area[s.Comp] += int(s.X1 - s.X0)
	}
	return t, nil
}

// Regions is the number of ground-truth defect regions.
func (t *Truth) Regions() int { return len(t.area) }

// Matcher matches predicted defects against ground truth. It keeps its buffers between
// calls: reuse one across thresholds and images. Not safe for concurrent use.
type Matcher struct {
	pred  []engine.Span
	area  []int
	inter map[[2]int32]int
	cands []candidate
	usedP []bool
	usedG []bool
}

// candidate is a predicted/ground-truth pair with IoU above the threshold.
type candidate struct {
	p, g int32
	iou  float64
}

// Match thresholds the score map at t (score ≥ t), groups the pixels into 8-connected
// predicted defects as engine.FindDefects does, drops those under minArea pixels, and pairs
// the rest one-to-one with gt's regions at pixel IoU > IoUThreshold, greedily from the highest
// IoU (ties: first prediction, then first region, in raster order). It returns the true
// positives, the false positives (kept predictions left unmatched) and the false negatives
// (regions left unmatched).
func (m *Matcher) Match(scores *engine.Map, gt *Truth, t float32, minArea int) (tp, fp, fn int, err error) {
	if scores.W != gt.w || scores.H != gt.h {
		return 0, 0, 0, fmt.Errorf("evaluate: score map %d×%d, ground truth %d×%d", scores.W, scores.H, gt.w, gt.h)
	}
	var npred int
	m.pred, npred = engine.LabelMap(m.pred, scores, t)
	m.area = slices.Grow(m.area[:0], npred)[:npred]
	clear(m.area)
	for _, s := range m.pred {
		m.area[s.Comp] += int(s.X1 - s.X0)
	}
	// Overlaps: both span lists are in raster order and disjoint within a row, so one
	// forward walk over the ground truth serves every prediction.
	if m.inter == nil {
		m.inter = map[[2]int32]int{}
	}
	clear(m.inter)
	j := 0
	for _, p := range m.pred {
		if m.area[p.Comp] < minArea {
			continue
		}
		for j < len(gt.spans) && (gt.spans[j].Y < p.Y || (gt.spans[j].Y == p.Y && gt.spans[j].X1 <= p.X0)) {
			j++
		}
		for k := j; k < len(gt.spans) && gt.spans[k].Y == p.Y && gt.spans[k].X0 < p.X1; k++ {
			g := gt.spans[k]
			m.inter[[2]int32{p.Comp, g.Comp}] += int(min(p.X1, g.X1) - max(p.X0, g.X0))
		}
	}
	m.cands = m.cands[:0]
	for pg, in := range m.inter {
		iou := float64(in) / float64(m.area[pg[0]]+gt.area[pg[1]]-in)
		if iou > IoUThreshold {
			m.cands = append(m.cands, candidate{pg[0], pg[1], iou})
		}
	}
	slices.SortFunc(m.cands, func(a, b candidate) int {
		if a.iou != b.iou {
			if a.iou > b.iou {
				return -1
			}
			return 1
		}
		if a.p != b.p {
			return int(a.p - b.p)
		}
		return int(a.g - b.g)
	})
	m.usedP = slices.Grow(m.usedP[:0], npred)[:npred]
	clear(m.usedP)
	m.usedG = slices.Grow(m.usedG[:0], len(gt.area))[:len(gt.area)]
	clear(m.usedG)
	for _, c := range m.cands {
		if m.usedP[c.p] || m.usedG[c.g] {
			continue
		}
		m.usedP[c.p], m.usedG[c.g] = true, true
		tp++
	}
	for l, a := range m.area {
		if a >= minArea && !m.usedP[l] {
			fp++
		}
	}
	return tp, fp, len(gt.area) - tp, nil
}
