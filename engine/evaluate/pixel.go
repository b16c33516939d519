package evaluate

import (
	"errors"
	"fmt"
	"math"

	"github.com/hisirdesk/hisir/engine"
)

// DefaultBins is the histogram resolution of the pixel metrics; scores are quantised to
// 1/DefaultBins, far below any difference the metrics can show.
const DefaultBins = 1 << 14

// ErrNoData reports a metric asked of an accumulator that lacks positives or negatives.
var ErrNoData = errors.New("not enough data for the metric")

// Pixel accumulates per-pixel scores in [0,1] with their ground truth, streaming: each image
// is added once and dropped. It yields pixel AUROC and AUPRO (MVTec definition).
type Pixel struct {
	bins  int
	pos   []uint64   // histogram of anomalous pixels' scores
	neg   []uint64   // histogram of normal pixels' scores
	comps [][]uint32 // per ground-truth component: histogram of its pixels' scores
	sizes []uint64   // per component: pixel count
}

// NewPixel returns an empty accumulator with the given number of histogram bins
// (DefaultBins when bins <= 0).
func NewPixel(bins int) *Pixel {
	if bins <= 0 {
		bins = DefaultBins
	}
	return &Pixel{bins: bins, pos: make([]uint64, bins), neg: make([]uint64, bins)}
}

func (p *Pixel) bin(s float32) int {
	if !(s > 0) { // also NaN
		return 0
	}
	b := int(float64(s) * float64(p.bins))
	if b >= p.bins {
		b = p.bins - 1
	}
	return b
}

// Add adds one image: scores and mask are row-major w×h; mask != 0 marks anomalous pixels,
// whose 8-connected components are the regions of AUPRO.
func (p *Pixel) Add(scores []float32, mask []uint8, w, h int) error {
	if len(scores) != w*h || len(mask) != w*h {
		return fmt.Errorf("evaluate: scores (%d) and mask (%d) must both hold %d×%d values", len(scores), len(mask), w, h)
	}
	spans, n := engine.LabelMask(nil, &engine.Mask{W: w, H: h, Pix: mask})
	base := len(p.comps)
	for i := 0; i < n; i++ {
		p.comps = append(p.comps, make([]uint32, p.bins))
		p.sizes = append(p.sizes, 0)
	}
	// Every pixel into the normal histogram, then the defect pixels moved to their region's.
	for _, s := range scores {
		p.neg[p.bin(s)]++
	}
	for _, sp := range spans {
		c := base + int(sp.Comp)
		row := scores[int(sp.Y)*w:]
		for x := sp.X0; x < sp.X1; x++ {
			b := p.bin(row[x])
			p.neg[b]--
			p.pos[b]++
			p.comps[c][b]++
		}
		p.sizes[c] += uint64(sp.X1 - sp.X0)
	}
	return nil
}

// Regions is the number of ground-truth components seen so far.
func (p *Pixel) Regions() int { return len(p.comps) }

// AUROC is the area under the pixel ROC curve; tied scores count one half.
func (p *Pixel) AUROC() (float64, error) {
	var np, nn float64
	for b := range p.pos {
		np += float64(p.pos[b])
		nn += float64(p.neg[b])
	}
	if np == 0 || nn == 0 {
		return 0, fmt.Errorf("pixel auroc: %w: %v anomalous and %v normal pixels", ErrNoData, np, nn)
	}
	// sum over positive bins of (negatives below + half the negatives in the same bin)
	var below, acc float64
	for b := 0; b < p.bins; b++ {
		acc += float64(p.pos[b]) * (below + 0.5*float64(p.neg[b]))
		below += float64(p.neg[b])
	}
	return acc / (np * nn), nil
}

// AUPRO is the area under the per-region-overlap curve up to fprLimit (0.3 in MVTec AD),
// divided by fprLimit so that a perfect detector scores 1.
func (p *Pixel) AUPRO(fprLimit float64) (float64, error) {
	if len(p.comps) == 0 {
		return 0, fmt.Errorf("aupro: %w: no anomalous regions", ErrNoData)
	}
	var nn float64
	for _, c := range p.neg {
		nn += float64(c)
	}
	if nn == 0 {
		return 0, fmt.Errorf("aupro: %w: no normal pixels", ErrNoData)
	}
	if !(fprLimit > 0 && fprLimit <= 1) {
		return 0, fmt.Errorf("aupro: fpr limit %v must be in (0,1]", fprLimit)
	}
	// Sweep thresholds from high to low: at threshold bin b, pixels in bins >= b are positive.
	fprs := make([]float64, 0, p.bins+1)
	pros := make([]float64, 0, p.bins+1)
	fprs, pros = append(fprs, 0), append(pros, 0)
	above := make([]uint64, len(p.comps))
	var negAbove float64
	for b := p.bins - 1; b >= 0; b-- {
		negAbove += float64(p.neg[b])
		var pro float64
		for c := range p.comps {
			above[c] += uint64(p.comps[c][b])
			pro += float64(above[c]) / float64(p.sizes[c])
		}
		fprs = append(fprs, negAbove/nn)
		pros = append(pros, pro/float64(len(p.comps)))
	}
	return trapezoidTo(fprs, pros, fprLimit) / fprLimit, nil
}

// trapezoidTo integrates y(x) over [0, limit] for non-decreasing xs, interpolating y at limit.
func trapezoidTo(xs, ys []float64, limit float64) float64 {
	var area float64
	for i := 1; i < len(xs); i++ {
		x0, x1, y0, y1 := xs[i-1], xs[i], ys[i-1], ys[i]
		if x0 >= limit {
			break
		}
		if x1 > limit {
			y1 = y0 + (y1-y0)*(limit-x0)/(x1-x0)
			x1 = limit
		}
		area += (x1 - x0) * (y0 + y1) / 2
	}
	return area
}

// ImageAUROC is the ROC area of image scores (e.g. the max of each map) against image labels,
// ties counting one half, computed exactly.
func ImageAUROC(scores []float64, anomalous []bool) (float64, error) {
	if len(scores) != len(anomalous) {
		return 0, fmt.Errorf("image auroc: %d scores for %d labels", len(scores), len(anomalous))
	}
	var acc, np, nn float64
	for i, si := range scores {
		if !anomalous[i] {
			continue
		}
		np++
		for j, sj := range scores {
			if anomalous[j] {
				continue
			}
			switch {
			case si > sj:
				acc++
			case si == sj || (math.IsNaN(si) && math.IsNaN(sj)):
				acc += 0.5
			}
		}
	}
	for _, a := range anomalous {
		if !a {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return 0, fmt.Errorf("image auroc: %w: %v anomalous and %v normal images", ErrNoData, np, nn)
	}
	return acc / (np * nn), nil
}
