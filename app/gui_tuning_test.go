package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/evaluate"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/render"
	"github.com/hisirdesk/hisir/engine/sipcba"
	"github.com/hisirdesk/hisir/store"
	"github.com/hisirdesk/hisir/ui"
)

// guiMapOf builds a score map from rows of digits (score = digit).
func guiMapOf(rows ...string) *engine.Map {
	m := engine.NewMap(len(rows[0]), len(rows))
	for y, r := range rows {
		for x, c := range r {
			m.V[y*m.W+x] = float32(c - '0')
		}
	}
	return m
}

func box(x0, y0, x1, y1 int) geom.Polygon {
	return engine.BoxPolygon(geom.Rect{X0: x0, Y0: y0, X1: x1, Y1: y1})
}

func TestTuningSweepCountsLikeTheEvaluator(t *testing.T) {
	type board struct {
		rows []string
		gt   []geom.Polygon // none: a defect-free board
	}
	tests := []struct {
		name    string
		boards  []board
		minArea int
		want    ui.TuningPoint // at threshold 5
	}{
		{"touching a region is not finding it", []board{{[]string{
			"00000000",
			"00000000",
			"00000000",
			"00099900",
			"00099900",
			"00099900",
		}, []geom.Polygon{box(0, 0, 4, 4)}}}, 1, // overlap 1 px: IoU 1/24, a false positive and a miss
			ui.TuningPoint{Precision: 0, Recall: 0}},
		{"exact overlap is a true positive", []board{{[]string{
			"00000000",
			"00999000",
			"00999000",
			"00999000",
		}, []geom.Polygon{box(2, 1, 5, 4)}}}, 1,
			ui.TuningPoint{Precision: 1, Recall: 1}},
		{"two predictions on one region: one true, one false", []board{{[]string{
			"99990900",
			"99990900",
			"99990900",
		}, []geom.Polygon{box(0, 0, 6, 3)}}}, 1, // IoU 12/18 matches, 3/18 does not
			ui.TuningPoint{Precision: 0.5, Recall: 1}},
		{"IoU exactly one half is not a match", []board{{[]string{
			"99000000",
			"00000000",
		}, []geom.Polygon{box(0, 0, 4, 1)}}}, 1,
			ui.TuningPoint{Precision: 0, Recall: 0}},
		{"touching labels are one region, as in an exported mask", []board{{[]string{
			"99990000",
			"99990000",
		}, []geom.Polygon{box(0, 0, 2, 2), box(2, 0, 4, 2)}}}, 1,
			ui.TuningPoint{Precision: 1, Recall: 1}},
		{"false positives per defect-free board, outside precision", []board{
			{[]string{"9900", "9900", "0000"}, []geom.Polygon{box(0, 0, 2, 2)}},
			{[]string{"9090", "0000", "9000"}, nil},
			{[]string{"0000", "0990", "0000"}, nil},
		}, 1, ui.TuningPoint{Precision: 1, Recall: 1, FPPerBoard: 2}},
		{"min area drops small predictions", []board{
			{[]string{"99000", "00000", "99099", "00099"}, nil},
		}, 3, ui.TuningPoint{Precision: 1, Recall: 1, FPPerBoard: 1}},
		{"nothing predicted", []board{
			{[]string{"1111", "1111"}, []geom.Polygon{box(0, 0, 2, 2)}},
			{[]string{"0000", "0000"}, nil},
		}, 1, ui.TuningPoint{Precision: 1, Recall: 0, FPPerBoard: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var items []tuningImage
			for _, b := range tc.boards {
				it, err := newTuningImage(guiMapOf(b.rows...), b.gt)
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, it)
			}
			pts, err := tuningSweep(context.Background(), items, 5, 5, 0, tc.minArea)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Threshold = 5
			if len(pts) != 1 || pts[0] != want {
				t.Fatalf("points %+v, want [%+v]", pts, want)
			}
		})
	}
}

func TestTuningSweepStopsWhenCancelled(t *testing.T) {
	it, err := newTuningImage(guiMapOf("0990", "0990"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tuningSweep(ctx, []tuningImage{it}, 1, 9, 8, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// tuningFixtureMap is a 120×80 score map: faint noise and Gaussian blobs of varying size
// and height, so that defects grow, merge and vanish across the sweep.
func tuningFixtureMap(seed uint64, blobs [][3]float64) *engine.Map {
	const w, h = 120, 80
	r := rand.New(rand.NewPCG(seed, 3))
	m := engine.NewMap(w, h)
	for i := range m.V {
		m.V[i] = 0.3 * r.Float32()
	}
	for _, b := range blobs { // centre x, centre y, sigma
		amp := 1 + 3*r.Float64()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				d2 := (float64(x)-b[0])*(float64(x)-b[0]) + (float64(y)-b[1])*(float64(y)-b[1])
				m.V[y*w+x] += float32(amp * math.Exp(-d2/(2*b[2]*b[2])))
			}
		}
	}
	return m
}

// tuningFixturePNG is a distinct small grey image (the store identifies images by content).
func tuningFixturePNG(t *testing.T, dir string, k int) (string, image.Image) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 120, 80))
	for i := range img.Pix {
		img.Pix[i] = uint8(40 + 10*k + i%7)
	}
	img.SetGray(k, 0, color.Gray{Y: 255})
	p := filepath.Join(dir, fmt.Sprintf("board%d.png", k))
	if err := render.SavePNG(p, img); err != nil {
		t.Fatal(err)
	}
	return p, img
}

// storedMaps is an evaluate.Method that returns, for each dataset item, the score map the GUI
// stored for that board.
type storedMaps map[string]*engine.Map

func (storedMaps) Name() string          { return "stored GUI maps" }
func (storedMaps) Thresholds() []float32 { return nil }
func (s storedMaps) Score(_ context.Context, it sipcba.Item, _ *engine.Image) (evaluate.Scores, error) {
	m, ok := s[it.Name]
	if !ok {
		return evaluate.Scores{}, fmt.Errorf("no map for %s", it.Name)
	}
	return evaluate.Scores{Raw: m, Global: m}, nil
}

// TestTuningChartAgreesWithHisirEval puts boards with score maps and labels into a project,
// reads the tuning chart, writes the same boards as a SIPCBA dataset (labelled boards in the
// test split, unlabelled ones in the defect-free split) and checks that evaluate.Run — what
// `hisir eval --json` prints — reports the same precision, recall and false positives per
// defect-free image at every threshold of the chart.
func TestTuningChartAgreesWithHisirEval(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "p.hisir"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	modelFile := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(modelFile, []byte("stand-in model"), 0o644); err != nil {
		t.Fatal(err)
	}
	model, err := st.AddModel(ctx, modelFile, "stand-in", nil)
	if err != nil {
		t.Fatal(err)
	}
	runID, err := st.StartRun(ctx, model.ID, runParams{Source: "test", MinArea: guiMinArea}, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	boards := []struct {
		blobs [][3]float64
		gt    []geom.Polygon
	}{
		{[][3]float64{{20, 20, 3}, {70, 40, 5}, {100, 15, 2}}, // found, shifted box, unlabelled blob
			[]geom.Polygon{box(15, 15, 26, 26), box(66, 34, 80, 48)}},
		{[][3]float64{{30, 50, 4}, {36, 56, 3}, {90, 60, 6}}, // two blobs on one label, one label far too big
			[]geom.Polygon{box(24, 44, 42, 62), box(70, 40, 110, 78), box(5, 5, 12, 12)}},
		{[][3]float64{{60, 20, 2.5}}, []geom.Polygon{geom.Polygon{{X: 55, Y: 14}, {X: 67, Y: 17}, {X: 62, Y: 27}}}},
		{[][3]float64{{40, 40, 3}, {80, 20, 2}}, nil}, // defect-free boards
		{[][3]float64{{10, 70, 4}}, nil},
		{nil, nil},
	}
	wds, err := sipcba.Create(filepath.Join(dir, "ds"), sipcba.Info{TwinsOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	maps := storedMaps{}
	for k, b := range boards {
		path, img := tuningFixturePNG(t, dir, k)
		if n, _, err := st.ImportImages(ctx, []string{path}, nil); err != nil || n != 1 {
			t.Fatalf("import %s: %d, %v", path, n, err)
		}
		ims, err := st.Images(ctx, store.ImageFilter{PathContains: filepath.Base(path)})
		if err != nil || len(ims) != 1 {
			t.Fatalf("image %s: %v, %v", path, ims, err)
		}
		id := ims[0].ID
		data, err := encodeScores(tuningFixtureMap(uint64(k), b.blobs))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddDetections(ctx, runID, id, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.PutMap(ctx, runID, id, scoreMapKind, data); err != nil {
			t.Fatal(err)
		}
		stored, err := decodeScores(data) // the quantised map the chart reads
		if err != nil {
			t.Fatal(err)
		}
		s := sipcba.Sample{Split: sipcba.DefectFree, Name: fmt.Sprintf("board%d", k), Image: img}
		for _, p := range b.gt {
			if _, err := st.AddLabel(ctx, "test", id, p, string(sipcba.MissingComponent)); err != nil {
				t.Fatal(err)
			}
			s.Split = sipcba.Test
			s.Defects = append(s.Defects, sipcba.Defect{ID: len(s.Defects) + 1, Class: sipcba.MissingComponent, Polygon: p})
		}
		if err := wds.Add(s); err != nil {
			t.Fatal(err)
		}
		maps[s.Name] = stored
	}
	if err := wds.Commit(); err != nil {
		t.Fatal(err)
	}

	b := &backend{st: st}
	const lo, hi, steps = 0.2, 3.4, 32
	pts, n, clean, err := b.tuningCurve(ctx, lo, hi, steps)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(boards) || clean != 3 || len(pts) != steps+1 {
		t.Fatalf("%d images, %d defect-free, %d points; want %d, 3, %d", n, clean, len(pts), len(boards), steps+1)
	}
	ths := make([]float32, len(pts))
	for i, p := range pts {
		ths[i] = float32(p.Threshold)
	}
	ds, err := sipcba.Open(filepath.Join(dir, "ds"))
	if err != nil {
		t.Fatal(err)
	}
	mid := pts[steps/2]
	rep, err := evaluate.Run(ctx, ds, maps, evaluate.Config{Thresholds: ths, Threshold: float32(mid.Threshold), MinArea: guiMinArea})
	if err != nil {
		t.Fatal(err)
	}
	curve := map[float32]evaluate.DefectCounts{} // Run adds the operating threshold to the sweep
	for _, c := range rep.Curve {
		curve[c.Threshold] = c
	}
	interesting := false
	for i, p := range pts {
		c, ok := curve[ths[i]]
		if !ok {
			t.Fatalf("t=%v: not in the eval curve", ths[i])
		}
		if p.Precision != c.Precision() || p.Recall != c.Recall() || p.FPPerBoard != c.FPPerDefectFreeImage() {
			t.Errorf("t=%.3f: chart P %.4f R %.4f FP/board %.4f; hisir eval P %.4f R %.4f FP/img %.4f (%+v)",
				p.Threshold, p.Precision, p.Recall, p.FPPerBoard, c.Precision(), c.Recall(), c.FPPerDefectFreeImage(), c)
		}
		if c.TP > 0 && c.FP > 0 && c.FN > 0 && c.FPDefectFree > 0 {
			interesting = true
		}
	}
	if !interesting {
		t.Error("the fixture never has true and false positives, misses and defect-free false positives at one threshold")
	}
	// The headline numbers of `hisir eval --json --threshold t` are the chart's at t.
	if *rep.DefectPrecision != mid.Precision || *rep.DefectRecall != mid.Recall || *rep.FPPerDefectFreeImage != mid.FPPerBoard {
		t.Errorf("at t=%.3f: eval P %v R %v FP/img %v, chart %+v", mid.Threshold, *rep.DefectPrecision, *rep.DefectRecall, *rep.FPPerDefectFreeImage, mid)
	}
}
