package evaluate

import (
	"context"
	"image"
	"image/color"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// board draws a textured board; a defect is a bright square at (dx, dy).
func board(seed int64, w, h int, defect *geom.Rect) *image.NRGBA {
	rng := rand.New(rand.NewSource(seed))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(60 + (x/6+y/6)%2*40 + rng.Intn(6))
			img.SetNRGBA(x, y, color.NRGBA{v / 2, v, v / 3, 255})
		}
	}
	if defect != nil {
		for y := defect.Y0; y < defect.Y1; y++ {
			for x := defect.X0; x < defect.X1; x++ {
				img.SetNRGBA(x, y, color.NRGBA{250, 240, 230, 255})
			}
		}
	}
	return img
}

// smallDataset writes a dataset with 3 defective test images (with twins), 2 good test
// images and 2 defect-free images.
func smallDataset(t *testing.T) *sipcba.Dataset {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	w, err := sipcba.Create(dir, sipcba.Info{Name: "eval-test", Provenance: "evaluate tests"})
	if err != nil {
		t.Fatal(err)
	}
	const W, H = 96, 64
	add := func(s sipcba.Sample) {
		t.Helper()
		if err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	add(sipcba.Sample{Split: sipcba.Train, Name: "train0", Image: board(1, W, H, nil)})
	for i := 0; i < 3; i++ {
		r := geom.Rect{X0: 20 + 10*i, Y0: 20, X1: 32 + 10*i, Y1: 30}
		add(sipcba.Sample{Split: sipcba.Test, Name: "def" + string(rune('a'+i)), Image: board(int64(10+i), W, H, &r),
			Twin:    board(int64(10+i), W, H, nil),
			Defects: []sipcba.Defect{{ID: 1, Class: sipcba.MissingComponent, Polygon: engine.BoxPolygon(r)}}})
	}
	for i := 0; i < 2; i++ {
		add(sipcba.Sample{Split: sipcba.Test, Name: "good" + string(rune('a'+i)), Image: board(int64(20+i), W, H, nil)})
		add(sipcba.Sample{Split: sipcba.DefectFree, Name: "free" + string(rune('a'+i)), Image: board(int64(30+i), W, H, nil)})
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	ds, err := sipcba.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestRunGoldenTwinFindsEveryDefect(t *testing.T) {
	ds := smallDataset(t)
	ref, err := engine.Decode(ds.Items(sipcba.Train)[0].Image)
	if err != nil {
		t.Fatal(err)
	}
	g := &Golden{UseTwin: true, Reference: ref, Options: GoldenOptions{Search: 0, Tolerance: 0}}
	r, err := Run(context.Background(), ds, g, Config{MinArea: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Images != 7 || r.Regions != 3 {
		t.Fatalf("images %d regions %d, want 7 and 3", r.Images, r.Regions)
	}
	for name, v := range map[string]*float64{"precision": r.DefectPrecision, "recall": r.DefectRecall} {
		if v == nil || math.Abs(*v-1) > 1e-9 {
			t.Errorf("%s = %v, want 1 (the twin differs exactly at the defect)", name, deref(v))
		}
	}
	// Per-image min-max (the paper's) stretches the noise of the good images against the golden
	// board to [0,1], so pixel metrics stay high but below 1.
	for name, v := range map[string]*float64{"pixel_auroc": r.PixelAUROC, "aupro": r.AUPRO} {
		if v == nil || *v < 0.9 || *v >= 1 {
			t.Errorf("%s = %v, want in [0.9, 1)", name, deref(v))
		}
	}
	if r.ImageAUROC == nil {
		t.Fatal("no image auroc")
	}
	if r.FPPerDefectFreeImage == nil || *r.FPPerDefectFreeImage != 0 {
		t.Errorf("fp per defect-free image = %v, want 0 (noise stays under the best threshold)", deref(r.FPPerDefectFreeImage))
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func TestRunHiSIRIdentityModelSeesNothing(t *testing.T) {
	ds := smallDataset(t)
	m := enginetest.Identity(16)
	p, err := engine.NewPipeline(m, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	h := &HiSIR{Pipeline: p, Info: m.Info()}
	var calls int
	r, err := Run(context.Background(), ds, h, Config{MinArea: 4, Progress: func(done, total int, _ string) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 8 {
		t.Errorf("progress called %d times, want 8", calls)
	}
	// An identity reconstruction leaves a zero map: every pixel ties, so AUROC is exactly 0.5.
	if r.PixelAUROC == nil || *r.PixelAUROC != 0.5 {
		t.Fatalf("identity pixel auroc %v, want 0.5", deref(r.PixelAUROC))
	}
	if r.DefectRecall == nil || *r.DefectRecall != 0 {
		t.Fatalf("identity recall %v, want 0", deref(r.DefectRecall))
	}
}

func TestRunRejectsEmptyDataset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	w, err := sipcba.Create(dir, sipcba.Info{Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(sipcba.Sample{Split: sipcba.Train, Name: "a", Image: board(1, 8, 8, nil)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	ds, err := sipcba.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), ds, &Golden{UseTwin: true}, Config{}); err == nil {
		t.Fatal("a dataset without test images must be an error")
	}
}

func TestCurvePlotMarksThreshold(t *testing.T) {
	r := &Report{Method: "m", Threshold: 0.1, Curve: []DefectCounts{
		{Threshold: 0.01, TP: 5, FP: 50, FN: 0, FPDefectFree: 20, DefectFreeImages: 2},
		{Threshold: 0.1, TP: 4, FP: 1, FN: 1, DefectFreeImages: 2},
		{Threshold: 1, TP: 0, FP: 0, FN: 5, DefectFreeImages: 2},
	}}
	img := CurvePlot(r, 300, 200).(*image.RGBA)
	// the plot is not blank: some dark (text/axes) and some coloured (curve) pixels
	var dark, coloured int
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b := img.Pix[i], img.Pix[i+1], img.Pix[i+2]
		if r < 60 && g < 60 && b < 60 {
			dark++
		}
		if r > 200 && g < 150 && b < 60 {
			coloured++
		}
	}
	if dark < 100 || coloured < 20 {
		t.Fatalf("plot looks blank: %d dark, %d orange pixels", dark, coloured)
	}
	path := filepath.Join(t.TempDir(), "p.png")
	if err := SaveCurvePlot(path, r); err != nil {
		t.Fatal(err)
	}
}
