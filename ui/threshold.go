package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// ThresholdSlider sets the one global threshold on calibrated scores. While it is dragged
// OnChanged fires on every step (recolour the mask live); on release OnCommit fires once
// (recompute the defects and save the threshold).
type ThresholdSlider struct {
	widget.BaseWidget

	// OnChanged receives every intermediate value while dragging.
	OnChanged func(float64)
	// OnCommit receives the value when the drag or tap ends.
	OnCommit func(float64)

	slider *widget.Slider
	value  *widget.Label
	unit   string
}

var _ fyne.Widget = (*ThresholdSlider)(nil)

// NewThresholdSlider covers [min, max] in steps of step.
func NewThresholdSlider(min, max, step float64) *ThresholdSlider {
	s := &ThresholdSlider{slider: widget.NewSlider(min, max), value: widget.NewLabel("")}
	s.slider.Step = step
	s.slider.OnChanged = func(v float64) {
		s.showValue(v)
		if s.OnChanged != nil {
			s.OnChanged(v)
		}
	}
	s.slider.OnChangeEnded = func(v float64) {
		if s.OnCommit != nil {
			s.OnCommit(v)
		}
	}
	s.value.TextStyle.Monospace = true
	s.showValue(s.slider.Value)
	s.ExtendBaseWidget(s)
	return s
}

func (s *ThresholdSlider) showValue(v float64) { s.value.SetText(fmt.Sprintf("%.2f", v)) }

// Value is the current threshold.
func (s *ThresholdSlider) Value() float64 { return s.slider.Value }

// SetValue moves the slider without firing the callbacks.
func (s *ThresholdSlider) SetValue(v float64) {
	changed, ended := s.slider.OnChanged, s.slider.OnChangeEnded
	s.slider.OnChanged, s.slider.OnChangeEnded = nil, nil
	s.slider.SetValue(v)
	s.slider.OnChanged, s.slider.OnChangeEnded = changed, ended
	s.showValue(s.slider.Value)
}

// Slider is the underlying slider (for pointer tests and keyboard focus).
func (s *ThresholdSlider) Slider() *widget.Slider { return s.slider }

// CreateRenderer implements fyne.Widget.
func (s *ThresholdSlider) CreateRenderer() fyne.WidgetRenderer {
	title := widget.NewLabel("Threshold")
	title.TextStyle.Bold = true
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, title, s.value, s.slider))
}
