package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
	"github.com/fogleman/gg"
)

// TuningPoint is the detector's quality at one threshold, measured on labelled boards the
// way `hisir eval` measures it: predicted defects matched one-to-one to ground-truth regions
// at IoU > 0.5.
type TuningPoint struct {
	Threshold  float64
	Precision  float64 // matched predictions / predictions on boards with defects
	Recall     float64 // matched ground-truth regions / all regions
	FPPerBoard float64 // predicted defects per defect-free board
}

// TuningChart draws defect precision, recall (left axis, 0–1) and false positives per
// defect-free board (right axis) against the threshold, with the current threshold
// marked and the matching rule (IoU > 0.5, one-to-one) stated. Tapping the chart picks the
// threshold under the pointer.
type TuningChart struct {
	widget.BaseWidget

	// OnTapped receives the threshold under a tap.
	OnTapped func(float64)

	points    []TuningPoint
	threshold float64
}

var (
	_ fyne.Widget   = (*TuningChart)(nil)
	_ fyne.Tappable = (*TuningChart)(nil)
)

// NewTuningChart returns an empty chart.
func NewTuningChart() *TuningChart {
	c := &TuningChart{}
	c.ExtendBaseWidget(c)
	return c
}

// SetPoints sets the curves (sorted by threshold by the caller).
func (c *TuningChart) SetPoints(ps []TuningPoint) {
	c.points = ps
	c.Refresh()
}

// SetThreshold moves the marker.
func (c *TuningChart) SetThreshold(t float64) {
	c.threshold = t
	c.Refresh()
}

// Chart margins in pixels of the drawn image (scaled with the canvas).
const chartLeft, chartRight, chartTop, chartBottom = 40, 44, 46, 26

// tRange is the threshold span of the x axis.
func (c *TuningChart) tRange() (float64, float64) {
	if len(c.points) == 0 {
		return 0, 1
	}
	lo, hi := c.points[0].Threshold, c.points[len(c.points)-1].Threshold
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// ThresholdAt maps an x position (widget units) of a chart of the given width to a threshold.
func (c *TuningChart) ThresholdAt(x, width float32) float64 {
	lo, hi := c.tRange()
	pw := float64(width) - chartLeft - chartRight
	if pw <= 0 {
		return lo
	}
	f := math.Max(0, math.Min(1, (float64(x)-chartLeft)/pw))
	return lo + f*(hi-lo)
}

// Tapped picks the threshold under the pointer.
func (c *TuningChart) Tapped(ev *fyne.PointEvent) {
	if c.OnTapped != nil && len(c.points) > 0 {
		c.OnTapped(c.ThresholdAt(ev.Position.X, c.Size().Width))
	}
}

// Curve colours.
var (
	precisionColor = color.RGBA{66, 133, 244, 255}
	recallColor    = color.RGBA{52, 168, 83, 255}
	fpColor        = color.RGBA{234, 67, 53, 255}
)

// Draw renders the chart into a w×h image (scale multiplies margins and line widths).
func (c *TuningChart) Draw(w, h int, scale float64) image.Image {
	dc := gg.NewContext(w, h)
	dc.SetRGB255(30, 32, 36)
	dc.Clear()
	l, r, t, b := chartLeft*scale, chartRight*scale, chartTop*scale, chartBottom*scale
	pw, ph := float64(w)-l-r, float64(h)-t-b
	if pw <= 10 || ph <= 10 {
		return dc.Image()
	}
	lo, hi := c.tRange()
	x := func(v float64) float64 { return l + (v-lo)/(hi-lo)*pw }
	y := func(v float64) float64 { return t + (1-v)*ph }
	fpMax := 1.0
	for _, p := range c.points {
		fpMax = math.Max(fpMax, p.FPPerBoard)
	}
	fpMax = niceCeil(fpMax)
	// grid and axes
	dc.SetLineWidth(1)
	dc.SetRGB255(70, 72, 78)
	for i := 0; i <= 4; i++ {
		yy := y(float64(i) / 4)
		dc.DrawLine(l, yy, l+pw, yy)
		dc.Stroke()
	}
	dc.SetRGB255(200, 200, 200)
	dc.DrawRectangle(l, t, pw, ph)
	dc.Stroke()
	for i := 0; i <= 4; i++ {
		v := float64(i) / 4
		dc.DrawStringAnchored(fmt.Sprintf("%.2g", v), l-4, y(v), 1, 0.35)
		dc.DrawStringAnchored(fmt.Sprintf("%.3g", v*fpMax), l+pw+4, y(v), 0, 0.35)
		tv := lo + v*(hi-lo)
		dc.DrawStringAnchored(fmt.Sprintf("%.2f", tv), x(tv), t+ph+4, 0.5, 1)
	}
	curve := func(col color.RGBA, val func(TuningPoint) float64) {
		if len(c.points) == 0 {
			return
		}
		dc.SetColor(col)
		dc.SetLineWidth(2 * scale)
		for i, p := range c.points {
			if i == 0 {
				dc.MoveTo(x(p.Threshold), y(val(p)))
			} else {
				dc.LineTo(x(p.Threshold), y(val(p)))
			}
		}
		dc.Stroke()
	}
	curve(precisionColor, func(p TuningPoint) float64 { return p.Precision })
	curve(recallColor, func(p TuningPoint) float64 { return p.Recall })
	curve(fpColor, func(p TuningPoint) float64 { return p.FPPerBoard / fpMax })
	// current threshold
	if len(c.points) > 0 && c.threshold >= lo && c.threshold <= hi {
		xx := x(c.threshold)
		dc.SetRGB255(255, 255, 255)
		dc.SetLineWidth(1.5 * scale)
		dc.SetDash(4*scale, 3*scale)
		dc.DrawLine(xx, t, xx, t+ph)
		dc.Stroke()
		dc.SetDash()
		if p, ok := c.at(c.threshold); ok {
			dc.DrawStringAnchored(fmt.Sprintf("t=%.2f P %.2f R %.2f FP/board %.2f", c.threshold, p.Precision, p.Recall, p.FPPerBoard),
				l, t*0.25, 0, 0.35)
		}
	}
	// matching rule, as in `hisir eval` and the paper: one-to-one at IoU > 0.5
	dc.SetRGB255(160, 160, 160)
	dc.DrawStringAnchored("IoU>0.5, 1-to-1", float64(w)-4*scale, t*0.25, 1, 0.35)
	// legend
	lx := l
	for _, e := range []struct {
		name string
		col  color.RGBA
	}{{"precision", precisionColor}, {"recall", recallColor}, {"FP per defect-free board (right axis)", fpColor}} {
		dc.SetColor(e.col)
		dc.DrawRectangle(lx, t*0.68-5, 10, 10)
		dc.Fill()
		dc.SetRGB255(230, 230, 230)
		dc.DrawStringAnchored(e.name, lx+14, t*0.68, 0, 0.35)
		tw, _ := dc.MeasureString(e.name)
		lx += tw + 30
	}
	return dc.Image()
}

// at interpolates the curves at threshold t.
func (c *TuningChart) at(t float64) (TuningPoint, bool) {
	for i := 1; i < len(c.points); i++ {
		a, b := c.points[i-1], c.points[i]
		if t >= a.Threshold && t <= b.Threshold {
			f := 0.0
			if b.Threshold > a.Threshold {
				f = (t - a.Threshold) / (b.Threshold - a.Threshold)
			}
			mix := func(u, v float64) float64 { return u + f*(v-u) }
			return TuningPoint{t, mix(a.Precision, b.Precision), mix(a.Recall, b.Recall), mix(a.FPPerBoard, b.FPPerBoard)}, true
		}
	}
	if len(c.points) == 1 {
		return c.points[0], true
	}
	return TuningPoint{}, false
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// CreateRenderer implements fyne.Widget.
func (c *TuningChart) CreateRenderer() fyne.WidgetRenderer {
	r := canvas.NewRaster(func(w, h int) image.Image {
		s := 1.0
		if sz := c.Size(); sz.Width > 0 {
			s = float64(w) / float64(sz.Width)
		}
		return c.Draw(w, h, s)
	})
	r.ScaleMode = canvas.ImageScalePixels
	return &tuningRenderer{raster: r}
}

type tuningRenderer struct{ raster *canvas.Raster }

func (r *tuningRenderer) Layout(s fyne.Size)           { r.raster.Resize(s) }
func (r *tuningRenderer) MinSize() fyne.Size           { return fyne.NewSize(320, 160) }
func (r *tuningRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.raster} }
func (r *tuningRenderer) Refresh()                     { r.raster.Refresh() }
func (r *tuningRenderer) Destroy()                     {}
