package evaluate

import (
	"context"
	"fmt"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// HiSIR evaluates a model through the engine pipeline. Its global scale is the calibrated score
// when the model is calibrated, else per-image min-max (which cannot be one line-wide scale,
// and the report's label says so through the method name).
type HiSIR struct {
	Label    string
	Pipeline *engine.Pipeline
	Info     engine.ModelInfo
}

// Name is the label given, or "hisir".
func (h *HiSIR) Name() string {
	if h.Label != "" {
		return h.Label
	}
	return "hisir"
}

// Score runs the pipeline.
func (h *HiSIR) Score(ctx context.Context, _ sipcba.Item, img *engine.Image) (Scores, error) {
	res, err := h.Pipeline.Run(ctx, img, nil)
	if err != nil {
		return Scores{}, err
	}
	s := Scores{Raw: res.Raw}
	if h.Info.Calibration != nil {
		if s.Global, err = engine.Calibrated(res.Raw, h.Info.Calibration); err != nil {
			return Scores{}, err
		}
	} else {
		s.Global = engine.MinMax(res.Raw)
	}
	return s, nil
}

// Thresholds sweeps the calibrated scale (1 = 99.9th percentile of normal pixels) from 0.5
// to 50, or [0.05, 0.99] of min-max.
func (h *HiSIR) Thresholds() []float32 {
	if h.Info.Calibration != nil {
		return GeometricThresholds(0.5, 50, 41)
	}
	return GeometricThresholds(0.05, 0.99, 31)
}

// Golden is the golden-template baseline: the difference against a defect-free reference
// (the item's registered twin, or one golden board image for all), aligned by a small search,
// with a pixel of tolerance, blurred like the HiSIR map.
type Golden struct {
	UseTwin   bool          // compare with the item's twin when it has one
	Reference *engine.Image // the golden board, used when UseTwin is false or there is no twin
	Options   GoldenOptions
	BlurSigma float64
}

// Name is "golden-template" plus the reference rule.
func (g *Golden) Name() string {
	if g.UseTwin {
		return "golden-template (twin)"
	}
	return "golden-template (golden board)"
}

// Score computes the aligned difference.
func (g *Golden) Score(_ context.Context, it sipcba.Item, img *engine.Image) (Scores, error) {
	ref := g.Reference
	if g.UseTwin && it.Twin != "" {
		var err error
		if ref, err = engine.Decode(it.Twin); err != nil {
			return Scores{}, err
		}
	}
	if ref == nil {
		return Scores{}, fmt.Errorf("golden template: no reference image for %s", it.Image)
	}
	if ref.W != img.W || ref.H != img.H {
		return Scores{}, fmt.Errorf("golden template: reference is %d×%d, image %s is %d×%d", ref.W, ref.H, it.Image, img.W, img.H)
	}
	d := &engine.Map{W: img.W, H: img.H, V: GoldenDiff(img.Pix, ref.Pix, img.W, img.H, g.Options)}
	if g.BlurSigma > 0 {
		d = engine.Blur(d, g.BlurSigma)
	}
	return Scores{Raw: d, Global: d}, nil
}

// Thresholds sweeps intensity differences from 0.01 to 0.8.
func (g *Golden) Thresholds() []float32 { return GeometricThresholds(0.01, 0.8, 41) }
