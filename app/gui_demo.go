package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/render"
	"github.com/hisirdesk/hisir/engine/synth"
	"github.com/hisirdesk/hisir/store"
)

// demoFallbackModel is used by --demo until the shipped synth4k model exists.
const demoFallbackModel = "testdata/models/tiny.onnx"

// demoSetup prepares the demo project in the user's cache folder: the bundled sample
// panels of assets/samples (or, when there are none, a generated 4K panel with its
// defect-free twin), and the model to use. It returns the project path, the images to
// import and the model path.
func demoSetup() (project string, images []string, model string, err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", nil, "", fmt.Errorf("demo: find the cache folder: %w", err)
	}
	dir := filepath.Join(cache, "hisir", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, "", fmt.Errorf("demo: create %s: %w", dir, err)
	}
	images = bundledSamples()
	if len(images) == 0 {
		p, err := generateDemoPanel(dir)
		if err != nil {
			return "", nil, "", err
		}
		images = []string{p}
	}
	model, err = findAsset(defaultModel)
	if err != nil {
		if model, err = findAsset(demoFallbackModel); err != nil {
			return "", nil, "", fmt.Errorf("demo: no model: %w", err)
		}
	}
	return filepath.Join(dir, "demo.hisir"), images, model, nil
}

// guiIsImage reports whether a name has an image extension the importer reads.
func guiIsImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff":
		return true
	}
	return false
}

// bundledSamples lists the sample panels shipped in assets/samples (twins excluded).
func bundledSamples() []string {
	var out []string
	for _, root := range assetRoots() {
		dir := filepath.Join(root, "assets", "samples")
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Type().IsRegular() && guiIsImage(e.Name()) && !isTwinName(e.Name()) {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
		if len(out) > 0 {
			break
		}
	}
	sort.Strings(out)
	return out
}

// twinSuffixes mark the defect-free twin (golden image) of a photo: panel_golden.png
// is the twin of panel.png.
var twinSuffixes = []string{"_golden", "_twin", ".golden", ".twin"}

func isTwinName(name string) bool {
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	for _, s := range twinSuffixes {
		if strings.HasSuffix(stem, s) {
			return true
		}
	}
	return false
}

// twinPath finds the twin of an image file beside it, or "".
func twinPath(path string) string {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	for _, s := range twinSuffixes {
		for _, e := range []string{ext, ".png", ".jpg"} {
			p := stem + s + e
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// generateDemoPanel writes a deterministic 4K panel with defects and its twin into dir
// (once; later calls reuse the files).
func generateDemoPanel(dir string) (string, error) {
	img := filepath.Join(dir, "demo_panel.png")
	twin := filepath.Join(dir, "demo_panel_golden.png")
	if _, err := os.Stat(img); err == nil {
		if _, err := os.Stat(twin); err == nil {
			return img, nil
		}
	}
	// The board design the shipped synth4k model was trained on (seed 42), a test panel.
	p, err := synth.Generate(synth.DefaultConfig(42), 1_000_003, true)
	if err != nil {
		return "", fmt.Errorf("demo: generate a sample panel: %w", err)
	}
	if err := render.SavePNG(img, p.Image); err != nil {
		return "", fmt.Errorf("demo: write %s: %w", img, err)
	}
	if p.Twin != nil {
		if err := render.SavePNG(twin, p.Twin); err != nil {
			return "", fmt.Errorf("demo: write %s: %w", twin, err)
		}
	}
	data, err := json.Marshal(p.Defects)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(labelsPath(img), data, 0o644); err != nil {
		return "", fmt.Errorf("demo: write %s: %w", labelsPath(img), err)
	}
	return img, nil
}

// labelsPath is the sidecar holding the true defect polygons of a generated panel.
func labelsPath(img string) string {
	return strings.TrimSuffix(img, filepath.Ext(img)) + ".defects.json"
}

// demoReviewThreshold is the demo's starting threshold on the calibrated scale: below the
// model's default (no false call on its calibration images), so that the demo has candidates
// to review; the engineer moves the slider from there.
const demoReviewThreshold = 3.0

// setDemoThreshold saves the demo threshold once, unless a threshold was already chosen.
func setDemoThreshold(ctx context.Context, b *backend) error {
	if b.norm != normCalibrated {
		return nil
	}
	if _, ok, err := b.st.Threshold(ctx, b.modelRow.ID); err != nil || ok {
		return err
	}
	return b.SaveThreshold(ctx, min(demoReviewThreshold, engine.DefaultThreshold(b.info)))
}

// addDemoLabels stores the true defects of generated demo panels as labels (once), so
// that the tuning chart has ground truth to measure against.
func addDemoLabels(ctx context.Context, st *store.Store, who string) error {
	ims, err := st.Images(ctx, store.ImageFilter{})
	if err != nil {
		return err
	}
	for _, im := range ims {
		data, err := os.ReadFile(labelsPath(im.Path))
		if err != nil {
			continue // not a generated panel
		}
		var defects []synth.Defect
		if err := json.Unmarshal(data, &defects); err != nil {
			return fmt.Errorf("demo: %s: %w", labelsPath(im.Path), err)
		}
		have, err := st.Labels(ctx, im.ID)
		if err != nil {
			return err
		}
		if len(have) > 0 {
			continue
		}
		for _, d := range defects {
			if _, err := st.AddLabel(ctx, who, im.ID, d.Polygon, d.Class); err != nil {
				return fmt.Errorf("demo: add label: %w", err)
			}
		}
	}
	return nil
}
