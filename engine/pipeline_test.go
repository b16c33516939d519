package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
)

// randomImage returns a deterministic random image.
func randomImage(w, h int, seed uint64) *engine.Image {
	r := rand.New(rand.NewPCG(seed, 7))
	im := engine.NewImage(w, h)
	for i := range im.Pix {
		im.Pix[i] = r.Float32()
	}
	return im
}

// noisyFn perturbs each patch by a pattern that depends on its content and position, with
// an amplitude that varies between patches so some cells pass t_diff and some do not.
func noisyFn(out, in []float32, pos [2]float32) {
	amp := 0.02 + 0.3*float32(math.Abs(math.Sin(float64(pos[0]*13.1+pos[1]*7.7))))
	for k, v := range in {
		out[k] = v + amp*float32(math.Sin(float64(k)*0.37+float64(v)*5))
	}
}

// reference is a brute-force pipeline: it pads the whole image, keeps every patch output and
// evaluates the contract pixel by pixel, in float64 where the order does not matter.
func reference(img *engine.Image, P int, fn enginetest.PatchFunc, merge, stat, reduce string, tdiff float32) *engine.Map {
	W, H, S := img.W, img.H, P/2
	g := engine.NewGrid(W, H, P)
	padded := func(c, px, py int) float32 {
		return img.Pix[c*W*H+engine.Reflect(py-S, H)*W+engine.Reflect(px-S, W)]
	}
	outs := make(map[[2]int][]float32)
	for i := 0; i < g.Rows; i++ {
		for j := 0; j < g.Cols; j++ {
			in := make([]float32, 3*P*P)
			for c := 0; c < 3; c++ {
				for y := 0; y < P; y++ {
					for x := 0; x < P; x++ {
						in[(c*P+y)*P+x] = padded(c, j*S+x, i*S+y)
					}
				}
			}
			px, py := g.Position(i, j)
			out := make([]float32, 3*P*P)
			fn(out, in, [2]float32{px, py})
			outs[[2]int{i, j}] = out
		}
	}
	recon := func(i, j, c, px, py int) float32 { // padded pixel (px,py) of patch (i,j)
		return outs[[2]int{i, j}][(c*P+py-i*S)*P+px-j*S]
	}
	raw := engine.NewMap(W, H)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			px, py := x+S, y+S
			cx, cy := px/S, py/S
			var merged [3]float32
			switch merge {
			case "none":
				i, j := cy-1+cy%2, cx-1+cx%2
				for c := range merged {
					merged[c] = recon(i, j, c, px, py)
				}
			default:
				cover := [][2]int{{cy - 1, cx - 1}, {cy - 1, cx}, {cy, cx - 1}, {cy, cx}}
				best, bestD := -1, float32(-1)
				for k, ij := range cover {
					var d float64
					for c := 0; c < 3; c++ {
						for yy := cy * S; yy < cy*S+S; yy++ {
							for xx := cx * S; xx < cx*S+S; xx++ {
								v := math.Abs(float64(padded(c, xx, yy) - recon(ij[0], ij[1], c, xx, yy)))
								if stat == "max" {
									d = math.Max(d, v)
								} else {
									d += v / float64(3*S*S)
								}
							}
						}
					}
					if float32(d) > bestD {
						best, bestD = k, float32(d)
					}
				}
				for c := range merged {
					if merge == "rops" && bestD >= tdiff {
						merged[c] = recon(cover[best][0], cover[best][1], c, px, py)
						continue
					}
					var s float32
					for _, ij := range cover {
						s += recon(ij[0], ij[1], c, px, py)
					}
					merged[c] = s / 4
				}
			}
			var r float64
			for c := 0; c < 3; c++ {
				v := math.Abs(float64(merged[c] - img.Pix[c*W*H+y*W+x]))
				if reduce == "max" {
					r = math.Max(r, v)
				} else {
					r += v / 3
				}
			}
			raw.V[y*W+x] = float32(r)
		}
	}
	return raw
}

// blurReference is a direct 2-D convolution with the outer product of the kernel.
func blurReference(m *engine.Map, sigma float64) *engine.Map {
	if sigma == 0 {
		return m
	}
	w := engine.GaussianKernel(sigma)
	r := len(w) / 2
	out := engine.NewMap(m.W, m.H)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			var s float64
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					s += float64(w[dy+r]) * float64(w[dx+r]) * float64(m.V[engine.Reflect(y+dy, m.H)*m.W+engine.Reflect(x+dx, m.W)])
				}
			}
			out.V[y*m.W+x] = float32(s)
		}
	}
	return out
}

func maxDiff(t *testing.T, a, b *engine.Map) float64 {
	t.Helper()
	if a.W != b.W || a.H != b.H || len(a.V) != len(b.V) {
		t.Fatalf("map sizes %d×%d and %d×%d differ", a.W, a.H, b.W, b.H)
	}
	var d float64
	for i := range a.V {
		d = math.Max(d, math.Abs(float64(a.V[i]-b.V[i])))
	}
	return d
}

func TestPipelineMatchesBruteForce(t *testing.T) {
	sizes := []struct{ w, h, p int }{
		{1, 1, 8}, {1, 9, 8}, {13, 1, 8}, {37, 23, 8}, {16, 16, 8}, {40, 17, 16}, {5, 31, 4},
	}
	for _, sz := range sizes {
		for _, merge := range []string{"rops", "average", "none"} {
			for _, stat := range []string{"max", "mean"} {
				for _, reduce := range []string{"mean", "max"} {
					for _, sigma := range []float64{0, 1.5} {
						name := fmt.Sprintf("%dx%d_p%d_%s_%s_%s_s%g", sz.w, sz.h, sz.p, merge, stat, reduce, sigma)
						t.Run(name, func(t *testing.T) {
							img := randomImage(sz.w, sz.h, uint64(sz.w*1000+sz.h))
							m := enginetest.Func(sz.p, noisyFn)
							// Batches of 3 rarely end a row; 40 spans rows and wraps the ring.
							batch := 3
							if sigma > 0 {
								batch = 40
							}
							o := engine.Options{Merge: merge, CellStat: stat, Reduce: reduce, BlurSigma: sigma, BatchSize: batch}
							pl, err := engine.NewPipeline(m, o)
							if err != nil {
								t.Fatal(err)
							}
							res, err := pl.Run(context.Background(), img, nil)
							if err != nil {
								t.Fatal(err)
							}
							want := blurReference(reference(img, sz.p, noisyFn, merge, stat, reduce, float32(m.Meta.TDiff)), sigma)
							if d := maxDiff(t, res.Raw, want); d > 1e-5 {
								t.Fatalf("max difference to the brute-force reference %g", d)
							}
						})
					}
				}
			}
		}
	}
}

func TestIdentityModelGivesZeroMap(t *testing.T) {
	for _, merge := range []string{"rops", "average", "none"} {
		t.Run(merge, func(t *testing.T) {
			img := randomImage(50, 29, 3)
			o := engine.DefaultOptions()
			o.Merge = merge
			pl, err := engine.NewPipeline(enginetest.Identity(16), o)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pl.Run(context.Background(), img, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range res.Raw.V {
				if v != 0 {
					t.Fatalf("pixel %d: raw %g, want 0 for an identity model", i, v)
				}
			}
		})
	}
}

func TestModelErrorAndCancel(t *testing.T) {
	boom := errors.New("boom")
	img := randomImage(64, 64, 1)
	m := enginetest.Identity(16)
	m.Err, m.FailAt = boom, 2
	pl, _ := engine.NewPipeline(m, engine.Options{BatchSize: 4})
	if _, err := pl.Run(context.Background(), img, nil); !errors.Is(err, boom) {
		t.Fatalf("model error: got %v, want it wrapped", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pl2, _ := engine.NewPipeline(enginetest.Identity(16), engine.Options{BatchSize: 4})
	calls := 0
	_, err := pl2.Run(ctx, img, func(done, total int) {
		calls++
		if calls == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: got %v, want context.Canceled", err)
	}
}

func TestCorruptedRegionLightsUp(t *testing.T) {
	const W, H, P = 90, 61, 16
	region := rect(30, 20, 47, 29)
	// The model shifts every channel by 0.5 inside the region (in image coordinates) and
	// reconstructs everything else perfectly.
	fn := func(out, in []float32, pos [2]float32) {
		ox := int(pos[0]*W+0.5) - P/2
		oy := int(pos[1]*H+0.5) - P/2
		for c := 0; c < 3; c++ {
			for y := 0; y < P; y++ {
				for x := 0; x < P; x++ {
					k := (c*P+y)*P + x
					v := in[k]
					if gx, gy := ox+x, oy+y; gx >= region.X0 && gx < region.X1 && gy >= region.Y0 && gy < region.Y1 {
						if v > 0.5 {
							v -= 0.5
						} else {
							v += 0.5
						}
					}
					out[k] = v
				}
			}
		}
	}
	for _, merge := range []string{"rops", "average", "none"} {
		for _, sigma := range []float64{0, 2} {
			t.Run(fmt.Sprintf("%s_sigma%g", merge, sigma), func(t *testing.T) {
				img := randomImage(W, H, 4)
				o := engine.DefaultOptions()
				o.Merge, o.BlurSigma = merge, sigma
				pl, err := engine.NewPipeline(enginetest.Func(P, fn), o)
				if err != nil {
					t.Fatal(err)
				}
				res, err := pl.Run(context.Background(), img, nil)
				if err != nil {
					t.Fatal(err)
				}
				ds := engine.FindDefects(engine.MinMax(res.Raw), 0.5, 4)
				if len(ds) != 1 {
					t.Fatalf("%d defects, want 1: %+v", len(ds), ds)
				}
				if sigma == 0 && ds[0].Box != region {
					t.Fatalf("defect box %v, want the corrupted region %v", ds[0].Box, region)
				}
				if iou := ds[0].Box.IoU(region); iou < 0.7 {
					t.Fatalf("defect box %v overlaps the region %v with IoU %.2f", ds[0].Box, region, iou)
				}
				// Far from the region the map is zero.
				if v := res.Raw.V[5*W+80]; v != 0 {
					t.Fatalf("raw %g far from the region, want 0", v)
				}
			})
		}
	}
}

func TestNonFiniteModelOutputIsAnError(t *testing.T) {
	for _, merge := range []string{"rops", "average", "none"} {
		for _, stat := range []string{"max", "mean"} {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				t.Run(fmt.Sprintf("%s_%s_%g", merge, stat, bad), func(t *testing.T) {
					calls := 0
					m := enginetest.Func(16, func(out, in []float32, _ [2]float32) {
						copy(out, in)
						calls++
						if calls == 5 {
							out[len(out)/2+3] = bad
						}
					})
					pl, _ := engine.NewPipeline(m, engine.Options{Merge: merge, CellStat: stat, BatchSize: 2})
					_, err := pl.Run(context.Background(), randomImage(70, 50, 2), nil)
					if !errors.Is(err, engine.ErrModelOutput) {
						t.Fatalf("got %v, want ErrModelOutput", err)
					}
				})
			}
		}
	}
}

func TestKeepMerged(t *testing.T) {
	img := randomImage(45, 30, 8)
	for _, merge := range []string{"rops", "average", "none"} {
		o := engine.DefaultOptions()
		o.Merge, o.KeepMerged = merge, true
		pl, _ := engine.NewPipeline(enginetest.Identity(16), o)
		res, err := pl.Run(context.Background(), img, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Merged == nil || maxAbs(res.Merged.Pix, img.Pix) != 0 {
			t.Fatalf("%s: merged reconstruction of an identity model differs from the image", merge)
		}
	}
	pl, _ := engine.NewPipeline(enginetest.Identity(16), engine.DefaultOptions())
	if res, _ := pl.Run(context.Background(), img, nil); res.Merged != nil {
		t.Fatal("merged image returned without KeepMerged")
	}
}

func TestOptionsAndCalibration(t *testing.T) {
	bad := []engine.Options{
		{Merge: "median"}, {CellStat: "p99"}, {Reduce: "sum"}, {BlurSigma: -1}, {BlurSigma: math.NaN()},
		{TDiff: -0.1}, {BatchSize: -3},
	}
	for _, o := range bad {
		if _, err := engine.NewPipeline(enginetest.Identity(16), o); !errors.Is(err, engine.ErrOptions) {
			t.Errorf("options %+v: got %v, want ErrOptions", o, err)
		}
	}
	pl, err := engine.NewPipeline(enginetest.Identity(16), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o := pl.Options(); o.Merge != "rops" || o.CellStat != "max" || o.Reduce != "mean" || o.BatchSize != 32 || pl.TDiff() != 0.1 {
		t.Fatalf("defaults not filled: %+v, t_diff %g", o, pl.TDiff())
	}
	pl, _ = engine.NewPipeline(enginetest.Identity(16), engine.Options{TDiff: 0.25})
	if pl.TDiff() != 0.25 {
		t.Fatalf("t_diff override: %g", pl.TDiff())
	}
	cal := &engine.Calibration{Merge: "rops", CellStat: "max", Reduce: "mean", BlurSigma: 2, Q50: 0.01, Q999: 0.05}
	cases := []struct {
		name string
		c    *engine.Calibration
		o    engine.Options
		want error
	}{
		{"same", cal, engine.DefaultOptions(), nil},
		{"nil", nil, engine.DefaultOptions(), engine.ErrNoCalibration},
		{"other blur", cal, engine.Options{BlurSigma: 1}, engine.ErrCalibrationMismatch},
		{"other merge", cal, engine.Options{Merge: "average", BlurSigma: 2}, engine.ErrCalibrationMismatch},
		{"other reduce", cal, engine.Options{Reduce: "max", BlurSigma: 2}, engine.ErrCalibrationMismatch},
		{"empty fields are defaults", &engine.Calibration{BlurSigma: 2}, engine.DefaultOptions(), nil},
	}
	for _, c := range cases {
		if err := engine.CheckCalibration(c.c, c.o); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestNormalisations(t *testing.T) {
	raw := &engine.Map{W: 3, H: 1, V: []float32{0.01, 0.03, 0.11}}
	mm := engine.MinMax(raw)
	for i, want := range []float32{0, 0.2, 1} {
		if math.Abs(float64(mm.V[i]-want)) > 1e-6 {
			t.Fatalf("min-max %v, want [0 0.2 1]", mm.V)
		}
	}
	flat := engine.MinMax(&engine.Map{W: 2, H: 1, V: []float32{0.4, 0.4}})
	if flat.V[0] != 0 || flat.V[1] != 0 {
		t.Fatalf("flat map normalises to %v, want zeros", flat.V)
	}
	sc, err := engine.Calibrated(raw, &engine.Calibration{Q50: 0.02, Q999: 0.06})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{0, 0.25, 2.25} {
		if math.Abs(float64(sc.V[i]-want)) > 1e-6 {
			t.Fatalf("calibrated %v, want [0 0.25 2.25]", sc.V)
		}
	}
	if _, err := engine.Calibrated(raw, nil); !errors.Is(err, engine.ErrNoCalibration) {
		t.Fatalf("nil calibration: %v", err)
	}
}

// TestPipelineIsDeterministic runs the same image with different core counts and batch
// sizes: the raw map must be bit-identical.
func TestPipelineIsDeterministic(t *testing.T) {
	img := randomImage(133, 71, 12)
	var ref []float32
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		for _, batch := range []int{1, 7, 32, 100, 1000} {
			for _, merge := range []string{"rops", "average", "none"} {
				runtime.GOMAXPROCS(procs)
				o := engine.DefaultOptions()
				o.BatchSize, o.Merge = batch, merge
				pl, err := engine.NewPipeline(enginetest.Func(16, noisyFn), o)
				if err != nil {
					t.Fatal(err)
				}
				res, err := pl.Run(context.Background(), img, nil)
				if err != nil {
					t.Fatal(err)
				}
				if merge != "rops" {
					continue
				}
				if ref == nil {
					ref = res.Raw.V
					continue
				}
				for i := range ref {
					if math.Float32bits(ref[i]) != math.Float32bits(res.Raw.V[i]) {
						t.Fatalf("GOMAXPROCS %d batch %d: pixel %d differs (%g vs %g)", procs, batch, i, res.Raw.V[i], ref[i])
					}
				}
			}
		}
	}
}

// TestRealPhotoWithPlantedDefect decodes a real DeepPCB photo, runs a model that
// reconstructs it perfectly except for a planted square, and finds exactly that square.
func TestRealPhotoWithPlantedDefect(t *testing.T) {
	path := filepath.Join(enginetest.RepoRoot(t), "..", "shared", "data", "deeppcb", "PCBData", "group12300", "12300", "12300246_temp.jpg")
	img, err := engine.Decode(path)
	if err != nil {
		t.Fatal(err)
	}
	const P = 32
	W, H := img.W, img.H
	region := rect(300, 200, 340, 230)
	m := enginetest.Func(P, func(out, in []float32, pos [2]float32) {
		ox := int(pos[0]*float32(W)+0.5) - P/2
		oy := int(pos[1]*float32(H)+0.5) - P/2
		copy(out, in)
		for c := 0; c < 3; c++ {
			for y := 0; y < P; y++ {
				for x := 0; x < P; x++ {
					if gx, gy := ox+x, oy+y; gx >= region.X0 && gx < region.X1 && gy >= region.Y0 && gy < region.Y1 {
						out[(c*P+y)*P+x] = 1 - in[(c*P+y)*P+x]*0.2
					}
				}
			}
		}
	})
	pl, err := engine.NewPipeline(m, engine.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	res, err := pl.Run(context.Background(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := engine.FindDefects(engine.MinMax(res.Raw), 0.3, 20)
	if len(ds) != 1 || ds[0].Box.IoU(region) < 0.7 {
		t.Fatalf("defects %+v, want one around %v", ds, region)
	}
}

// TestROPSTieTakesFirstPatch gives every covering patch the same statistic (|±0.25| on
// values exact in float32) but opposite signs, so only the tie-break decides the merge: the
// first covering patch in row-major order, (cy−1, cx−1).
func TestROPSTieTakesFirstPatch(t *testing.T) {
	const W, H, P = 37, 29, 8
	S := P / 2
	img := engine.NewImage(W, H)
	for i := range img.Pix {
		img.Pix[i] = float32(64+i%128) / 256
	}
	sign := func(i, j int) float32 {
		if (i+j)%2 == 0 {
			return 1
		}
		return -1
	}
	m := enginetest.Func(P, func(out, in []float32, pos [2]float32) {
		j := int(pos[0]*W+0.5) / S
		i := int(pos[1]*H+0.5) / S
		for k, v := range in {
			out[k] = v + 0.25*sign(i, j)
		}
	})
	for _, stat := range []string{"max", "mean"} {
		o := engine.Options{CellStat: stat, KeepMerged: true, BatchSize: 4}
		pl, _ := engine.NewPipeline(m, o)
		res, err := pl.Run(context.Background(), img, nil)
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 3; c++ {
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					cx, cy := (x+S)/S, (y+S)/S
					k := c*W*H + y*W + x
					if want := img.Pix[k] + 0.25*sign(cy-1, cx-1); res.Merged.Pix[k] != want {
						t.Fatalf("%s: merged (%d,%d,%d) = %g, want %g from patch (%d,%d)", stat, x, y, c, res.Merged.Pix[k], want, cy-1, cx-1)
					}
				}
			}
		}
	}
}

// TestPipelineKernelPathsAgree runs the pipeline with the AVX2 kernels and with the Go
// loops and wants bit-identical maps and merged images, for patch sizes whose quarters fill
// whole vectors (64, 128) and ones that do not (8, 24), every merge mode and reduction.
func TestPipelineKernelPathsAgree(t *testing.T) {
	for _, sz := range []struct{ w, h, p int }{{300, 170, 128}, {131, 77, 64}, {45, 37, 8}, {101, 64, 24}} {
		for _, merge := range []string{"rops", "average", "none"} {
			for _, reduce := range []string{"mean", "max"} {
				t.Run(fmt.Sprintf("%dx%d_p%d_%s_%s", sz.w, sz.h, sz.p, merge, reduce), func(t *testing.T) {
					img := randomImage(sz.w, sz.h, uint64(sz.w+sz.h))
					run := func(avx bool) *engine.Result {
						was := engine.UseAVX2(avx)
						defer engine.UseAVX2(was)
						o := engine.Options{Merge: merge, Reduce: reduce, BlurSigma: 2, BatchSize: 7, KeepMerged: reduce == "max"}
						pl, err := engine.NewPipeline(enginetest.Func(sz.p, noisyFn), o)
						if err != nil {
							t.Fatal(err)
						}
						res, err := pl.Run(context.Background(), img, nil)
						if err != nil {
							t.Fatal(err)
						}
						return res
					}
					a, g := run(true), run(false)
					for i := range a.Raw.V {
						if math.Float32bits(a.Raw.V[i]) != math.Float32bits(g.Raw.V[i]) {
							t.Fatalf("pixel %d: %g with AVX2, %g with Go loops", i, a.Raw.V[i], g.Raw.V[i])
						}
					}
					if a.Merged != nil && maxAbs(a.Merged.Pix, g.Merged.Pix) != 0 {
						t.Fatal("merged images differ between the kernel paths")
					}
					mm, mg := engine.MinMax(a.Raw), engine.MinMax(g.Raw)
					for i := range mm.V {
						if math.Float32bits(mm.V[i]) != math.Float32bits(mg.V[i]) {
							t.Fatalf("min-max pixel %d differs", i)
						}
					}
				})
			}
		}
	}
}
