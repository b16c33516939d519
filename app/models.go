package main

import (
	"fmt"
	"path/filepath"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/ortmodel"
)

// modelFlags are the model-loading flags shared by the headless commands.
type modelFlags struct {
	path     string
	provider string
	threads  int
	batch    int
}

// open loads the model (the shipped default when no path was given) through ONNX Runtime.
func (f modelFlags) open() (*ortmodel.Model, error) {
	path := f.path
	if path == "" {
		p, err := defaultModelPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	lib, err := libraryPath("")
	if err != nil {
		return nil, err
	}
	return ortmodel.Open(path, ortmodel.Options{LibraryPath: lib, Threads: f.threads, Provider: f.provider, MaxBatch: f.batch})
}

// calibratedOptions returns pipeline options that reproduce the model's calibration settings,
// so that calibrated scores mean what the calibration says; uncalibrated models get defaults.
func calibratedOptions(info engine.ModelInfo, batch int) engine.Options {
	o := engine.DefaultOptions()
	if batch > 0 {
		o.BatchSize = batch
	}
	if c := info.Calibration; c != nil {
		o.Merge, o.CellStat, o.Reduce, o.BlurSigma = c.Merge, c.CellStat, c.Reduce, c.BlurSigma
	}
	return o
}

func describeModel(info engine.ModelInfo) string {
	cal := "uncalibrated"
	if info.Calibration != nil {
		cal = "calibrated"
	}
	return fmt.Sprintf("%s (%s, P=%d, %s, %s)", info.Name, info.Backbone, info.PatchSize, cal, info.Provider)
}
