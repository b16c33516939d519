package ortmodel

import (
	"context"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
)

// shippedModels lists assets/models/*.onnx; the app ships them, so there must be some,
// the default synth4k.onnx among them.
func shippedModels(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(enginetest.RepoRoot(t), "assets", "models", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no model in assets/models: the trained models must be committed there")
	}
	for _, p := range paths {
		if filepath.Base(p) == "synth4k.onnx" {
			return paths
		}
	}
	t.Fatalf("assets/models lacks synth4k.onnx, the app's default model (has %v)", paths)
	return nil
}

// irVersion reads ModelProto.ir_version (field 1, varint), which exporters write first.
func irVersion(data []byte) (int, bool) {
	if len(data) < 2 || data[0] != 0x08 {
		return 0, false
	}
	v, shift := 0, 0
	for _, b := range data[1:] {
		v |= int(b&0x7f) << shift
		if b < 0x80 {
			return v, true
		}
		shift += 7
		if shift > 56 {
			break
		}
	}
	return 0, false
}

// boardCrop is a 192×160 piece of a real normal board photo from ../shared/data.
func boardCrop(t *testing.T) *engine.Image {
	t.Helper()
	path := filepath.Join(filepath.Dir(enginetest.RepoRoot(t)), "shared", "data", "lookout-circuitboard", "mini_data", "train", "normal", "train-normal_20.jpg")
	full, err := engine.Decode(path)
	if err != nil {
		t.Fatalf("%v (the shared data folder must sit beside the repository)", err)
	}
	const w, h, x0, y0 = 192, 160, 900, 600
	crop := engine.NewImage(w, h)
	for c := 0; c < 3; c++ {
		src, dst := full.Plane(c), crop.Plane(c)
		for y := 0; y < h; y++ {
			copy(dst[y*w:(y+1)*w], src[(y0+y)*full.W+x0:(y0+y)*full.W+x0+w])
		}
	}
	return crop
}

func finiteIn(v []float32, lo, hi float32) (int, bool) {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || x < lo || x > hi {
			return i, false
		}
	}
	return 0, true
}

func TestShippedModels(t *testing.T) {
	requireLibrary(t)
	img := boardCrop(t)
	for _, path := range shippedModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 25<<20 {
				t.Errorf("%d bytes, the contract allows 25 MB", len(data))
			}
			if ir, ok := irVersion(data); !ok || ir > 10 {
				t.Errorf("IR version %d (read %v), the contract wants ≤ 10", ir, ok)
			}
			m, err := Open(path, Options{Provider: ProviderCPU, MaxBatch: 8})
			if err != nil {
				t.Fatalf("contract: %v", err)
			}
			defer m.Close()
			info := m.Info()
			if info.Name == "" || info.PatchSize != 128 || info.Stride != 64 {
				t.Errorf("info %+v: want a name, P=128, stride 64", info)
			}

			// Patch outputs straight from the model: finite, in [0,1].
			p := info.PatchSize
			n := 3
			images := make([]float32, n*3*p*p)
			for k := 0; k < n; k++ { // three patches from the crop, one per channel plane
				for c := 0; c < 3; c++ {
					plane := img.Plane(c)
					for y := 0; y < p; y++ {
						copy(images[(k*3+c)*p*p+y*p:(k*3+c)*p*p+(y+1)*p], plane[(y+k*16)*img.W+k*32:(y+k*16)*img.W+k*32+p])
					}
				}
			}
			positions := []float32{0.4, 0.5, 0.5, 0.55, 0.6, 0.6}
			recon := make([]float32, len(images))
			gate := make([]float32, n*p*p)
			if err := m.Reconstruct(context.Background(), n, images, positions, recon, gate); err != nil {
				t.Fatal(err)
			}
			if i, ok := finiteIn(recon, -1e-4, 1+1e-4); !ok {
				t.Errorf("reconstruction[%d] = %v, want finite in [0,1]", i, recon[i])
			}
			if i, ok := finiteIn(gate, -1e-4, 1+1e-4); !ok {
				t.Errorf("gate[%d] = %v, want finite in [0,1]", i, gate[i])
			}

			// The whole pipeline on the crop: a finite, non-negative map of the image's size.
			pipe, err := engine.NewPipeline(m, engine.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			res, err := pipe.Run(context.Background(), img, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Raw.W != img.W || res.Raw.H != img.H {
				t.Fatalf("raw map %d×%d, image %d×%d", res.Raw.W, res.Raw.H, img.W, img.H)
			}
			if i, ok := finiteIn(res.Raw.V, 0, 1); !ok {
				t.Errorf("raw[%d] = %v, want finite in [0,1]", i, res.Raw.V[i])
			}
			if i, ok := finiteIn(engine.MinMax(res.Raw).V, 0, 1); !ok {
				t.Errorf("min-max map[%d] not in [0,1]", i)
			}
			if info.Calibration != nil {
				cal, err := engine.Calibrated(res.Raw, info.Calibration)
				if err != nil {
					t.Fatal(err)
				}
				if i, ok := finiteIn(cal.V, 0, math.MaxFloat32); !ok {
					t.Errorf("calibrated map[%d] = %v, want finite ≥ 0", i, cal.V[i])
				}
			}
		})
	}
}
