package evaluate

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// Scores are what a method makes of one image.
type Scores struct {
	// Raw is the method's anomaly map; pixel metrics use its per-image min-max (the paper's).
	Raw *engine.Map
	// Global is the map on the method's line-wide scale, thresholded by one global threshold
	// for the defect-level metrics (calibrated score for HiSIR, intensity difference for the
	// golden template).
	Global *engine.Map
}

// Method is one anomaly-location method under evaluation.
type Method interface {
	Name() string
	// Score maps one dataset item; img is the decoded item image.
	Score(ctx context.Context, it sipcba.Item, img *engine.Image) (Scores, error)
	// Thresholds is the default sweep of global thresholds for this method's scale.
	Thresholds() []float32
}

// Config controls an evaluation run.
type Config struct {
	Thresholds []float32 // global thresholds to sweep; nil: the method's default sweep
	Threshold  float32   // operating threshold of the headline numbers; <= 0: best F1 of the sweep
	MinArea    int       // predicted defects under this many pixels are dropped
	FPRLimit   float64   // AUPRO integration limit; 0 means 0.3
	Limit      int       // at most this many images per split (0: all), for quick runs
	Progress   func(done, total int, name string)
}

// Report is the paper-style result of one method on one dataset. JSON keys are stable: tools
// and docs/evaluation.md read them.
type Report struct {
	Method               string         `json:"method"`
	Dataset              string         `json:"dataset"`
	Images               int            `json:"images"`
	PixelAUROC           *float64       `json:"pixel_auroc"` // null when the dataset has no masks
	AUPRO                *float64       `json:"aupro"`
	DefectPrecision      *float64       `json:"defect_precision"`
	DefectRecall         *float64       `json:"defect_recall"`
	FPPerDefectFreeImage *float64       `json:"fp_per_defect_free_image"`
	ImageAUROC           *float64       `json:"image_auroc"`
	SecondsPerImage      float64        `json:"seconds_per_image"`
	Threshold            float32        `json:"threshold"`
	ThresholdRule        string         `json:"threshold_rule"` // "given" or "best-f1 on this set"
	Regions              int            `json:"regions"`        // ground-truth defect regions
	Curve                []DefectCounts `json:"curve"`          // defect counts per swept threshold
}

// Run evaluates method on the test and defect-free splits of ds.
func Run(ctx context.Context, ds *sipcba.Dataset, m Method, cfg Config) (*Report, error) {
	if cfg.FPRLimit == 0 {
		cfg.FPRLimit = 0.3
	}
	ths := cfg.Thresholds
	if len(ths) == 0 {
		ths = m.Thresholds()
	}
	if cfg.Threshold > 0 {
		ths = append(append([]float32(nil), ths...), cfg.Threshold)
	}
	type job struct {
		it         sipcba.Item
		defectFree bool
	}
	var jobs []job
	for _, sp := range []struct {
		split      sipcba.Split
		defectFree bool
	}{{sipcba.Test, false}, {sipcba.DefectFree, true}} {
		items := ds.Items(sp.split)
		if cfg.Limit > 0 && len(items) > cfg.Limit {
			items = items[:cfg.Limit]
		}
		for _, it := range items {
			jobs = append(jobs, job{it, sp.defectFree})
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("evaluate %s: dataset %s has no test or defect-free images", m.Name(), ds.Dir)
	}
	pix := NewPixel(0)
	def := NewDefects(ths, cfg.MinArea)
	var imgScores []float64
	var imgLabels []bool
	var elapsed time.Duration
	masksSeen, anomalous := 0, 0
	for k, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if cfg.Progress != nil {
			cfg.Progress(k, len(jobs), j.it.Name)
		}
		start := time.Now()
		img, err := engine.Decode(j.it.Image)
		if err != nil {
			return nil, err
		}
		sc, err := m.Score(ctx, j.it, img)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s on %s: %w", m.Name(), j.it.Image, err)
		}
		elapsed += time.Since(start)
		w, h := sc.Raw.W, sc.Raw.H
		isAnomalous := j.it.Class != "" || len(j.it.Defects) > 0 || j.it.Mask != ""
		var mask []uint8
		if j.it.Mask != "" {
			g, err := ds.LoadMask(j.it)
			if err != nil {
				return nil, err
			}
			if mask, err = grayPix(g, w, h); err != nil {
				return nil, fmt.Errorf("evaluate: mask %s: %w", j.it.Mask, err)
			}
			masksSeen++
		} else if !isAnomalous {
			mask = make([]uint8, w*h)
		}
		if isAnomalous {
			anomalous++
		}
		_, hi := sc.Raw.Range()
		imgScores = append(imgScores, float64(hi))
		imgLabels = append(imgLabels, isAnomalous)
		if mask != nil && !j.defectFree {
			if err := pix.Add(engine.MinMax(sc.Raw).V, mask, w, h); err != nil {
				return nil, err
			}
		}
		if mask != nil {
			if err := def.Add(sc.Global.V, mask, w, h, j.defectFree); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(len(jobs), len(jobs), "")
	}
	r := &Report{
		Method:          m.Name(),
		Dataset:         ds.Dir,
		Images:          len(jobs),
		SecondsPerImage: elapsed.Seconds() / float64(len(jobs)),
		Regions:         pix.Regions(),
		Curve:           def.Counts,
	}
	if v, err := ImageAUROC(imgScores, imgLabels); err == nil {
		r.ImageAUROC = &v
	} else if !errors.Is(err, ErrNoData) {
		return nil, err
	}
	if masksSeen > 0 {
		if v, err := pix.AUROC(); err == nil {
			r.PixelAUROC = &v
		}
		if v, err := pix.AUPRO(cfg.FPRLimit); err == nil {
			r.AUPRO = &v
		}
		c := pick(def.Counts, cfg.Threshold)
		r.Threshold = c.Threshold
		r.ThresholdRule = "best-f1 on this set"
		if cfg.Threshold > 0 {
			r.ThresholdRule = "given"
		}
		p, rc, fp := c.Precision(), c.Recall(), c.FPPerDefectFreeImage()
		r.DefectPrecision, r.DefectRecall = &p, &rc
		if c.DefectFreeImages > 0 {
			r.FPPerDefectFreeImage = &fp
		}
	}
	return r, nil
}

// pick returns the counts at the given threshold, or with the best F1 when t <= 0
// (ties: the higher threshold, which makes fewer false calls).
func pick(cs []DefectCounts, t float32) DefectCounts {
	if t > 0 {
		for _, c := range cs {
			if c.Threshold == t {
				return c
			}
		}
	}
	best, bestF := DefectCounts{}, -1.0
	for _, c := range cs {
		p, r := c.Precision(), c.Recall()
		f := 0.0
		if p+r > 0 {
			f = 2 * p * r / (p + r)
		}
		if f >= bestF {
			best, bestF = c, f
		}
	}
	return best
}

// grayPix returns the mask's pixels as a tight w×h slice.
func grayPix(g *image.Gray, w, h int) ([]uint8, error) {
	b := g.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("mask is %d×%d, image is %d×%d", b.Dx(), b.Dy(), w, h)
	}
	if g.Stride == w && b.Min == (image.Point{}) {
		return g.Pix[:w*h], nil
	}
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		copy(out[y*w:(y+1)*w], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
	}
	return out, nil
}

// GeometricThresholds returns n thresholds spaced geometrically from lo to hi.
func GeometricThresholds(lo, hi float64, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo * math.Pow(hi/lo, float64(i)/float64(n-1)))
	}
	return out
}
