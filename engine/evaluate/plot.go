package evaluate

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/fogleman/gg"
)

// CurvePlot draws precision, recall, F1 and false positives per defect-free image against the
// global threshold (log scale), with the report's operating threshold marked.
func CurvePlot(r *Report, w, h int) image.Image {
	dc := gg.NewContext(w, h)
	dc.SetRGB(1, 1, 1)
	dc.Clear()
	const ml, mr, mt, mb = 60.0, 60.0, 36.0, 44.0
	pw, ph := float64(w)-ml-mr, float64(h)-mt-mb
	cs := r.Curve
	if len(cs) < 2 {
		dc.SetRGB(0, 0, 0)
		dc.DrawStringAnchored("not enough thresholds to plot", float64(w)/2, float64(h)/2, 0.5, 0.5)
		return dc.Image()
	}
	lo, hi := math.Log(float64(cs[0].Threshold)), math.Log(float64(cs[len(cs)-1].Threshold))
	if hi <= lo {
		hi = lo + 1
	}
	x := func(t float32) float64 { return ml + (math.Log(float64(t))-lo)/(hi-lo)*pw }
	y := func(v float64) float64 { return mt + (1-v)*ph }
	maxFP := 1.0
	for _, c := range cs {
		maxFP = math.Max(maxFP, c.FPPerDefectFreeImage())
	}
	// grid and axes
	dc.SetRGB(0.9, 0.9, 0.9)
	dc.SetLineWidth(1)
	for i := 0; i <= 10; i++ {
		yy := y(float64(i) / 10)
		dc.DrawLine(ml, yy, ml+pw, yy)
	}
	dc.Stroke()
	dc.SetRGB(0.2, 0.2, 0.2)
	dc.DrawRectangle(ml, mt, pw, ph)
	dc.Stroke()
	for i := 0; i <= 5; i++ {
		v := float64(i) / 5
		dc.DrawStringAnchored(fmt.Sprintf("%.1f", v), ml-6, y(v), 1, 0.5)
		dc.DrawStringAnchored(fmt.Sprintf("%.2g", v*maxFP), ml+pw+6, y(v), 0, 0.5)
	}
	for i := 0; i < len(cs); i += max(1, len(cs)/6) {
		dc.DrawStringAnchored(fmt.Sprintf("%.3g", cs[i].Threshold), x(cs[i].Threshold), mt+ph+14, 0.5, 0.5)
	}
	dc.DrawStringAnchored("global threshold (log)", ml+pw/2, float64(h)-10, 0.5, 0.5)
	dc.DrawStringAnchored(r.Method, ml+pw/2, 16, 0.5, 0.5)
	series := []struct {
		name    string
		r, g, b float64
		v       func(DefectCounts) float64
	}{
		{"precision", 0.12, 0.47, 0.71, DefectCounts.Precision},
		{"recall", 1.0, 0.5, 0.05, DefectCounts.Recall},
		{"F1", 0.4, 0.4, 0.4, func(c DefectCounts) float64 {
			p, r := c.Precision(), c.Recall()
			if p+r == 0 {
				return 0
			}
			return 2 * p * r / (p + r)
		}},
		{"FP / defect-free image (right)", 0.84, 0.15, 0.16, func(c DefectCounts) float64 { return c.FPPerDefectFreeImage() / maxFP }},
	}
	dc.SetLineWidth(2)
	for k, s := range series {
		dc.SetRGB(s.r, s.g, s.b)
		for i, c := range cs {
			if i == 0 {
				dc.MoveTo(x(c.Threshold), y(s.v(c)))
			} else {
				dc.LineTo(x(c.Threshold), y(s.v(c)))
			}
		}
		dc.Stroke()
		ly := mt + 12 + float64(k)*14
		dc.DrawLine(ml+8, ly, ml+24, ly)
		dc.Stroke()
		dc.SetRGB(0.1, 0.1, 0.1)
		dc.DrawStringAnchored(s.name, ml+30, ly, 0, 0.5)
	}
	if r.Threshold > 0 {
		dc.SetRGB(0, 0, 0)
		dc.SetDash(4, 3)
		dc.DrawLine(x(r.Threshold), mt, x(r.Threshold), mt+ph)
		dc.Stroke()
		dc.SetDash()
		dc.DrawStringAnchored(fmt.Sprintf("t = %.3g", r.Threshold), x(r.Threshold)+4, mt+ph-8, 0, 0.5)
	}
	return dc.Image()
}

// SaveCurvePlot writes CurvePlot at 900×500 as a PNG, atomically.
func SaveCurvePlot(path string, r *Report) error {
	img := CurvePlot(r, 900, 500)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plot-*.png")
	if err != nil {
		return fmt.Errorf("save plot: %w", err)
	}
	if err := png.Encode(tmp, img); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save plot %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save plot %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
