package evaluate

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// fixedMethod scores every item with a flat 0.05 map holding a square of its peak value at the
// item's rectangle: the scores are chosen by the test, not computed from the image.
type fixedMethod struct {
	peaks map[string]float32
	rects map[string]geom.Rect
}

func (f *fixedMethod) Name() string { return "fixed" }

func (f *fixedMethod) Score(_ context.Context, it sipcba.Item, img *engine.Image) (Scores, error) {
	m := engine.NewMap(img.W, img.H)
	for i := range m.V {
		m.V[i] = 0.05
	}
	r := f.rects[it.Name]
	for y := r.Y0; y < r.Y1; y++ {
		for x := r.X0; x < r.X1; x++ {
			m.V[y*m.W+x] = f.peaks[it.Name]
		}
	}
	return Scores{Raw: m, Global: m}, nil
}

func (f *fixedMethod) Thresholds() []float32 { return []float32{0.1, 0.5, 0.95} }

// labelDataset writes the test and defect-free images named in peaks: names starting with
// "def" are masked defects at their rectangle, "img" image-level labels, the rest good.
func labelDataset(t *testing.T, f *fixedMethod, names ...string) *sipcba.Dataset {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ds")
	w, err := sipcba.Create(dir, sipcba.Info{Name: "labels", TwinsOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	const W, H = 48, 32
	for i, n := range names {
		r := f.rects[n]
		s := sipcba.Sample{Split: sipcba.Test, Name: n, Image: board(int64(i), W, H, nil)}
		switch n[:3] {
		case "def":
			s.Defects = []sipcba.Defect{{ID: 1, Class: sipcba.SolderBridge, Polygon: engine.BoxPolygon(r)}}
		case "img":
			s.ImageClass = sipcba.SolderBridge
		case "fre":
			s.Split = sipcba.DefectFree
		}
		if err := w.Add(s); err != nil {
			t.Fatal(err)
		}
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

func TestRunImageLabelsCountOnlyForImageAUROC(t *testing.T) {
	f := &fixedMethod{
		peaks: map[string]float32{"defa": 1, "defb": 0.9, "imga": 0.5, "imgb": 0.15, "gooda": 0.3, "goodb": 0.3, "freea": 0.3},
		rects: map[string]geom.Rect{
			"defa": {X0: 4, Y0: 4, X1: 10, Y1: 10}, "defb": {X0: 20, Y0: 10, X1: 30, Y1: 16},
			"imga": {X0: 30, Y0: 20, X1: 40, Y1: 28}, "imgb": {X0: 2, Y0: 20, X1: 8, Y1: 30},
			"gooda": {X0: 10, Y0: 10, X1: 12, Y1: 12}, "goodb": {X0: 40, Y0: 2, X1: 42, Y1: 4}, "freea": {X0: 1, Y0: 1, X1: 3, Y1: 3},
		},
	}
	masked := []string{"defa", "defb", "gooda", "goodb", "freea"}
	tests := []struct {
		name      string
		items     []string
		images    int
		imageAUC  float64 // anomalous (masked and image-level) against normal maxima
		pixelNull bool
	}{
		{"masked only", masked, 5, 1, false},
		// imgb's maximum 0.15 is below the three normal images' 0.3: 9 of 12 pairs ordered.
		{"masked and image labels", append([]string{"imga", "imgb"}, masked...), 7, 0.75, false},
		{"image labels only", []string{"imga", "imgb", "gooda", "goodb", "freea"}, 5, 0.5, true},
	}
	var ref *Report
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Run(context.Background(), labelDataset(t, f, tc.items...), f, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Images != tc.images || r.ImageAUROC == nil || math.Abs(*r.ImageAUROC-tc.imageAUC) > 1e-9 {
				t.Fatalf("images %d, image auroc %v; want %d, %v", r.Images, deref(r.ImageAUROC), tc.images, tc.imageAUC)
			}
			if tc.pixelNull {
				for name, v := range map[string]*float64{"pixel_auroc": r.PixelAUROC, "aupro": r.AUPRO,
					"defect_precision": r.DefectPrecision, "defect_recall": r.DefectRecall, "fp": r.FPPerDefectFreeImage} {
					if v != nil {
						t.Errorf("%s = %v without any mask, want nil", name, *v)
					}
				}
				if r.Regions != 0 {
					t.Errorf("regions %d, want 0", r.Regions)
				}
				return
			}
			if r.PixelAUROC == nil || r.AUPRO == nil || r.DefectRecall == nil {
				t.Fatalf("pixel metrics missing: %+v", r)
			}
			if ref == nil {
				ref = r
				return
			}
			// The image-level labels change no pixel or defect metric.
			same := func(a, b *float64) bool { return a != nil && b != nil && *a == *b }
			if !same(r.PixelAUROC, ref.PixelAUROC) || !same(r.AUPRO, ref.AUPRO) || !same(r.DefectPrecision, ref.DefectPrecision) ||
				!same(r.DefectRecall, ref.DefectRecall) || !same(r.FPPerDefectFreeImage, ref.FPPerDefectFreeImage) || r.Regions != ref.Regions {
				t.Errorf("pixel/defect metrics changed by image labels:\n got %+v\nwant %+v", r, ref)
			}
		})
	}
}
