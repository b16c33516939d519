package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
)

var update = flag.Bool("update", false, "rewrite golden files and shared contract vectors")

// contractFile is testdata/contract/pipeline.json; see testdata/contract/README.md.
type contractFile struct {
	Width           int                `json:"width"`
	Height          int                `json:"height"`
	Patch           int                `json:"patch"`
	TDiff           float64            `json:"t_diff"`
	Image           []float32          `json:"image"`
	Reconstructions [][]float32        `json:"reconstructions"`
	Positions       [][2]float32       `json:"positions"`
	Cases           []contractCase     `json:"cases"`
	Calibration     contractCalibrated `json:"calibration"`
}

type contractCase struct {
	Merge     string    `json:"merge"`
	CellStat  string    `json:"cell_stat"`
	Reduce    string    `json:"reduce"`
	BlurSigma float64   `json:"blur_sigma"`
	Raw       []float32 `json:"raw"`
}

// contractCalibrated is the calibrated score of one case's raw map.
type contractCalibrated struct {
	Case  int       `json:"case"`
	Q50   float64   `json:"q50"`
	Q999  float64   `json:"q999"`
	Score []float32 `json:"score"`
}

// contractImage is a smooth deterministic test image with some texture.
func contractImage(w, h int) *engine.Image {
	im := engine.NewImage(w, h)
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := 0.5 + 0.35*math.Sin(0.31*float64(x)+0.53*float64(y)+2.1*float64(c)) +
					0.1*math.Cos(1.7*float64(x*y%11)+float64(c))
				im.Pix[(c*h+y)*w+x] = float32(math.Min(1, math.Max(0, v)))
			}
		}
	}
	return im
}

// contractFn is the fixed reconstruction of the vectors: the padded patch plus a
// position-dependent ripple, clamped to [0,1].
func contractFn(out, in []float32, pos [2]float32) {
	sn := math.Sin(float64(pos[0])*23.3 + float64(pos[1])*11.1)
	amp := 0.005 + 0.25*math.Pow(math.Max(0, sn), 4)
	for k, v := range in {
		r := float64(v) + amp*math.Sin(float64(k)*0.61+float64(v)*4)
		out[k] = float32(math.Min(1, math.Max(0, r)))
	}
}

func TestContractVectors(t *testing.T) {
	const W, H, P = 37, 23, 8
	S := P / 2
	img := contractImage(W, H)
	g := engine.NewGrid(W, H, P)
	m := enginetest.Func(P, contractFn)
	cf := contractFile{Width: W, Height: H, Patch: P, TDiff: m.Meta.TDiff, Image: img.Pix}
	// All stride-S patches in row-major order, cut by the brute-force padding.
	for i := 0; i < g.Rows; i++ {
		for j := 0; j < g.Cols; j++ {
			in := make([]float32, 3*P*P)
			for c := 0; c < 3; c++ {
				for y := 0; y < P; y++ {
					for x := 0; x < P; x++ {
						in[(c*P+y)*P+x] = img.Pix[(c*H+engine.Reflect(i*S+y-S, H))*W+engine.Reflect(j*S+x-S, W)]
					}
				}
			}
			out := make([]float32, 3*P*P)
			px, py := g.Position(i, j)
			contractFn(out, in, [2]float32{px, py})
			cf.Reconstructions = append(cf.Reconstructions, out)
			cf.Positions = append(cf.Positions, [2]float32{px, py})
		}
	}
	checkMargins(t, cf, img, g)
	type variant struct {
		merge, stat, reduce string
		sigma               float64
	}
	var variants []variant
	for _, stat := range []string{"max", "mean"} {
		for _, reduce := range []string{"mean", "max"} {
			for _, sigma := range []float64{0, 2} {
				variants = append(variants, variant{"rops", stat, reduce, sigma})
			}
		}
	}
	variants = append(variants, variant{"rops", "max", "mean", 1.5}, variant{"rops", "max", "mean", 0.4},
		variant{"average", "max", "mean", 0}, variant{"average", "max", "max", 2},
		variant{"none", "max", "mean", 0}, variant{"none", "max", "mean", 2})
	for _, v := range variants {
		pl, err := engine.NewPipeline(m, engine.Options{Merge: v.merge, CellStat: v.stat, Reduce: v.reduce, BlurSigma: v.sigma, BatchSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		res, err := pl.Run(context.Background(), img, nil)
		if err != nil {
			t.Fatal(err)
		}
		cf.Cases = append(cf.Cases, contractCase{v.merge, v.stat, v.reduce, v.sigma, res.Raw.V})
	}
	// rops and average must differ, or the vectors would not test ROPS.
	if maxAbs(cf.Cases[0].Raw, cf.Cases[len(cf.Cases)-4].Raw) < 1e-3 {
		t.Fatal("rops and average agree: the vectors do not exercise ROPS")
	}
	cal := &engine.Calibration{Q50: 0.01, Q999: 0.09}
	sc, err := engine.Calibrated(&engine.Map{W: W, H: H, V: cf.Cases[1].Raw}, cal)
	if err != nil {
		t.Fatal(err)
	}
	cf.Calibration = contractCalibrated{Case: 1, Q50: cal.Q50, Q999: cal.Q999, Score: sc.V}

	path := filepath.Join(enginetest.RepoRoot(t), "testdata", "contract", "pipeline.json")
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		if err := enc.Encode(cf); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine -run TestContractVectors -update)", err)
	}
	var got contractFile
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if got.Width != W || got.Height != H || got.Patch != P || got.TDiff != cf.TDiff ||
		len(got.Reconstructions) != len(cf.Reconstructions) || len(got.Cases) != len(cf.Cases) {
		t.Fatalf("%s: header or counts differ from the generator; rerun with -update", path)
	}
	if d := maxAbs(got.Image, cf.Image); d != 0 {
		t.Fatalf("image differs by %g", d)
	}
	for k := range cf.Reconstructions {
		if d := maxAbs(got.Reconstructions[k], cf.Reconstructions[k]); d != 0 || got.Positions[k] != cf.Positions[k] {
			t.Fatalf("patch %d: reconstruction or position differs (%g)", k, d)
		}
	}
	for k, c := range cf.Cases {
		gc := got.Cases[k]
		if gc.Merge != c.Merge || gc.CellStat != c.CellStat || gc.Reduce != c.Reduce || gc.BlurSigma != c.BlurSigma {
			t.Fatalf("case %d: settings differ", k)
		}
		if d := maxAbs(gc.Raw, c.Raw); d > 1e-6 {
			t.Errorf("case %d (%s %s %s σ=%g): raw differs by %g", k, c.Merge, c.CellStat, c.Reduce, c.BlurSigma, d)
		}
	}
	if d := maxAbs(got.Calibration.Score, cf.Calibration.Score); d > 1e-6 {
		t.Errorf("calibrated score differs by %g", d)
	}
}

// checkMargins makes sure no ROPS decision of the vectors sits within float noise of
// t_diff or of a tie, so an independent implementation reproduces every decision.
func checkMargins(t *testing.T, cf contractFile, img *engine.Image, g engine.Grid) {
	t.Helper()
	P, S, W, H := g.P, g.S, g.W, g.H
	above := 0
	for _, stat := range []string{"max", "mean"} {
		ncx, ncy := g.ImageCells()
		for cy := 1; cy <= ncy; cy++ {
			for cx := 1; cx <= ncx; cx++ {
				var ds []float64
				for _, ij := range [][2]int{{cy - 1, cx - 1}, {cy - 1, cx}, {cy, cx - 1}, {cy, cx}} {
					rec := cf.Reconstructions[ij[0]*g.Cols+ij[1]]
					var d float64
					for c := 0; c < 3; c++ {
						for yy := cy * S; yy < cy*S+S; yy++ {
							for xx := cx * S; xx < cx*S+S; xx++ {
								in := img.Pix[(c*H+engine.Reflect(yy-S, H))*W+engine.Reflect(xx-S, W)]
								v := math.Abs(float64(in - rec[(c*P+yy-ij[0]*S)*P+xx-ij[1]*S]))
								if stat == "max" {
									d = math.Max(d, v)
								} else {
									d += v / float64(3*S*S)
								}
							}
						}
					}
					ds = append(ds, d)
				}
				sort.Float64s(ds)
				if math.Abs(ds[3]-cf.TDiff) < 1e-5 {
					t.Fatalf("cell (%d,%d) %s: max statistic %g too close to t_diff", cx, cy, stat, ds[3])
				}
				if ds[3] >= cf.TDiff {
					above++
					if ds[3]-ds[2] < 1e-6 && ds[3] != ds[2] {
						t.Fatalf("cell (%d,%d) %s: near tie %g vs %g", cx, cy, stat, ds[3], ds[2])
					}
				}
			}
		}
	}
	ncx, ncy := g.ImageCells()
	if above == 0 || above == 2*ncx*ncy {
		t.Fatalf("%d of %d cells pass t_diff: want some above and some below", above, 2*ncx*ncy)
	}
	t.Logf("%d of %d cell decisions pass t_diff", above, 2*ncx*ncy)
}

func maxAbs(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestDefaultThreshold(t *testing.T) {
	tests := []struct {
		name string
		cal  *engine.Calibration
		want float64
	}{
		{"uncalibrated", nil, 0.5},
		{"normal max above q999", &engine.Calibration{Q50: 0.004, Q999: 0.05, Max: 0.09}, (0.09 - 0.004) / (0.05 - 0.004)},
		{"never below 1", &engine.Calibration{Q50: 0.1, Q999: 0.2, Max: 0.2}, 1},
		{"degenerate calibration", &engine.Calibration{Q50: 0.1, Q999: 0.1, Max: 0.3}, 0.5},
	}
	for _, tc := range tests {
		if got := engine.DefaultThreshold(engine.ModelInfo{Calibration: tc.cal}); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
