package evaluate

import (
	"fmt"
	"sort"
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
	var gt []int32
	var ngt int
	if mask != nil {
		gt, ngt = Components(mask, w, h)
	}
	gtArea := make([]int, ngt+1)
	for _, l := range gt {
		gtArea[l]++
	}
	bin := make([]uint8, w*h)
	for k := range d.Counts {
		t := d.Counts[k].Threshold
		for i, s := range scores {
			if s >= t {
				bin[i] = 1
			} else {
				bin[i] = 0
			}
		}
		pred, npred := Components(bin, w, h)
		tp, fp, fn := match(pred, npred, gt, ngt, gtArea, d.MinArea)
		c := &d.Counts[k]
		if defectFree {
			c.FPDefectFree += fp
			c.DefectFreeImages++
		} else {
			c.FP += fp
		}
		c.TP += tp
		c.FN += fn
	}
	return nil
}

// match pairs predicted and ground-truth components one-to-one by pixel IoU > IoUThreshold,
// greedily from the highest IoU, and returns TP, FP (kept predictions left unmatched) and FN.
func match(pred []int32, npred int, gt []int32, ngt int, gtArea []int, minArea int) (tp, fp, fn int) {
	predArea := make([]int, npred+1)
	for _, l := range pred {
		predArea[l]++
	}
	type pair struct{ p, g int32 }
	inter := map[pair]int{}
	if ngt > 0 {
		for i, l := range pred {
			if l != 0 && gt[i] != 0 {
				inter[pair{l, gt[i]}]++
			}
		}
	}
	type cand struct {
		p, g int32
		iou  float64
	}
	var cands []cand
	for pg, in := range inter {
		if predArea[pg.p] < minArea {
			continue
		}
		iou := float64(in) / float64(predArea[pg.p]+gtArea[pg.g]-in)
		if iou > IoUThreshold {
			cands = append(cands, cand{pg.p, pg.g, iou})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].iou != cands[j].iou {
			return cands[i].iou > cands[j].iou
		}
		if cands[i].p != cands[j].p {
			return cands[i].p < cands[j].p
		}
		return cands[i].g < cands[j].g
	})
	usedP := make([]bool, npred+1)
	usedG := make([]bool, ngt+1)
	for _, c := range cands {
		if usedP[c.p] || usedG[c.g] {
			continue
		}
		usedP[c.p], usedG[c.g] = true, true
		tp++
	}
	for l := 1; l <= npred; l++ {
		if predArea[l] >= minArea && !usedP[l] {
			fp++
		}
	}
	fn = ngt - tp
	return tp, fp, fn
}
