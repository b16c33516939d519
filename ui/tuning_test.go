package ui

import (
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func tuningPoints() []TuningPoint {
	var ps []TuningPoint
	for i := 0; i <= 30; i++ {
		th := 0.5 + float64(i)*0.1
		ps = append(ps, TuningPoint{
			Threshold:  th,
			Precision:  1 - math.Exp(-th),
			Recall:     math.Exp(-(th - 0.5) / 2),
			FPPerBoard: 6 * math.Exp(-1.5*(th-0.5)),
		})
	}
	return ps
}

func TestTuningChartThresholdAt(t *testing.T) {
	c := NewTuningChart()
	c.SetPoints(tuningPoints()) // 0.5 … 3.5
	const width = 40 + 300 + 44
	tests := []struct {
		x    float32
		want float64
	}{{0, 0.5}, {40, 0.5}, {190, 2}, {340, 3.5}, {width, 3.5}, {115, 1.25}}
	for _, tt := range tests {
		if got := c.ThresholdAt(tt.x, width); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("ThresholdAt(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestTuningChartTapPicksThreshold(t *testing.T) {
	test.NewTempApp(t)
	c := NewTuningChart()
	c.SetPoints(tuningPoints())
	win := test.NewTempWindow(t, c)
	win.SetPadded(false)
	win.Resize(fyne.NewSize(384, 200))
	var got float64
	c.OnTapped = func(v float64) { got = v; c.SetThreshold(v) }
	test.TapAt(c, fyne.NewPos(190, 100))
	if math.Abs(got-2) > 1e-6 {
		t.Errorf("tap in the middle picked %v, want 2", got)
	}
	if p, ok := c.at(2); !ok || math.Abs(p.Recall-math.Exp(-0.75)) > 0.01 {
		t.Errorf("interpolated point at 2 = %+v", p)
	}
}

func TestTuningChartGolden(t *testing.T) {
	test.NewTempApp(t)
	c := NewTuningChart()
	c.SetPoints(tuningPoints())
	c.SetThreshold(1.5)
	win := test.NewTempWindow(t, c)
	win.SetPadded(false)
	win.Resize(fyne.NewSize(480, 240))
	test.AssertRendersToImage(t, "tuning.png", win.Canvas())
}
