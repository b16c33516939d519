package ui

import (
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestThresholdSliderLiveAndCommit(t *testing.T) {
	test.NewTempApp(t)
	s := NewThresholdSlider(0, 4, 0.01)
	win := test.NewTempWindow(t, s)
	win.Resize(fyne.NewSize(500, 60))
	v := NewViewer()
	v.sync = true
	var live []float64
	var commits []float64
	s.OnChanged = func(x float64) { live = append(live, x); v.SetThreshold(x) }
	s.OnCommit = func(x float64) { commits = append(commits, x) }

	sl := s.Slider()
	w := sl.Size().Width
	// A real drag: many events, Position is the pointer inside the slider.
	for i := 1; i <= 10; i++ {
		x := w * float32(i) / 20
		sl.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(x, sl.Size().Height/2)}, Dragged: fyne.NewDelta(w/20, 0)})
	}
	if len(commits) != 0 {
		t.Fatalf("committed %v while still dragging", commits)
	}
	if len(live) < 5 {
		t.Fatalf("only %d live updates during a 10-step drag", len(live))
	}
	for i := 1; i < len(live); i++ {
		if live[i] <= live[i-1] {
			t.Errorf("live values not increasing: %v", live)
			break
		}
	}
	if got := v.Threshold(); math.Abs(got-live[len(live)-1]) > 1e-6 {
		t.Errorf("viewer threshold %v, want the last live value %v", got, live[len(live)-1])
	}
	sl.DragEnd()
	if len(commits) != 1 || commits[0] != s.Value() {
		t.Fatalf("commits %v after release, want exactly one with %v", commits, s.Value())
	}
	if s.Value() < 1.5 || s.Value() > 2.5 {
		t.Errorf("dragging to the middle gave %v, want about 2", s.Value())
	}
	// SetValue (from the model or the store) does not call back.
	s.SetValue(3.25)
	if len(commits) != 1 || s.Value() != 3.25 {
		t.Errorf("SetValue fired callbacks (%v) or did not set (%v)", commits, s.Value())
	}
	// Keyboard: arrows step the slider and commit.
	win.Canvas().Focus(sl)
	sl.TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight})
	if math.Abs(s.Value()-3.26) > 1e-9 {
		t.Errorf("right arrow gave %v, want 3.26", s.Value())
	}
}

func TestThresholdSliderRendersGolden(t *testing.T) {
	test.NewTempApp(t)
	s := NewThresholdSlider(0, 4, 0.01)
	s.SetValue(1.25)
	win := test.NewTempWindow(t, s)
	win.Resize(fyne.NewSize(360, 50))
	test.AssertRendersToMarkup(t, "threshold.xml", win.Canvas())
}
