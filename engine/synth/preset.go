package synth

import (
	"fmt"
	"sort"
)

// Preset is a named dataset recipe: the panel configuration and the size of each split.
type Preset struct {
	Name       string
	Config     Config
	Train      int // defect-free training panels
	Defective  int // defective test panels, each with its twin
	DefectFree int // independent defect-free panels
}

var presets = map[string]Preset{
	// SIPCBA-500 shape: 450 normal training panels, 50 defective with twins, 50 defect-free.
	"sipcba": {Name: "sipcba", Config: DefaultConfig(42), Train: 450, Defective: 50, DefectFree: 50},
	// A quick dataset for tests and demos.
	"small": {Name: "small", Config: Config{Width: 1280, Height: 720, Rows: 2, Cols: 4, Seed: 42}, Train: 6, Defective: 4, DefectFree: 3},
}

// PresetNames lists the presets in name order.
func PresetNames() []string {
	out := make([]string, 0, len(presets))
	for n := range presets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupPreset returns the preset called name.
func LookupPreset(name string) (Preset, error) {
	p, ok := presets[name]
	if !ok {
		return Preset{}, fmt.Errorf("%w: unknown preset %q (have %v)", ErrConfig, name, PresetNames())
	}
	return p, nil
}
