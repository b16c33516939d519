package ortmodel

import (
	"context"
	"errors"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hisirdesk/hisir/engine"
)

func modelPath(t testing.TB, name string) string {
	return filepath.Join(enginetest.RepoRoot(t), "testdata", "models", name)
}

// requireLibrary fails (never skips) when the ONNX Runtime library cannot be found.
func requireLibrary(t testing.TB) {
	t.Helper()
	if _, err := FindLibrary(""); err != nil {
		t.Fatalf("%v\nrun scripts/setup.sh (it caches the library), then source scripts/env.sh", err)
	}
}

func openModel(t testing.TB, name string, o Options) *Model {
	t.Helper()
	requireLibrary(t)
	m, err := Open(modelPath(t, name), o)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// boxBlur is the pure-Go reference of the test models' reconstruction: a 3x3 mean per
// channel with zero padding (out-of-patch pixels count as 0, the divisor stays 9).
func boxBlur(n, p int, src []float32) []float32 {
	dst := make([]float32, len(src))
	for plane := 0; plane < n*3; plane++ {
		s := src[plane*p*p : (plane+1)*p*p]
		d := dst[plane*p*p : (plane+1)*p*p]
		for y := 0; y < p; y++ {
			for x := 0; x < p; x++ {
				var sum float32
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						yy, xx := y+dy, x+dx
						if yy >= 0 && yy < p && xx >= 0 && xx < p {
							sum += s[yy*p+xx]
						}
					}
				}
				d[y*p+x] = sum / 9
			}
		}
	}
	return dst
}

func randomPatches(n, p int, seed uint64) (images, positions []float32) {
	r := rand.New(rand.NewPCG(seed, 7))
	images = make([]float32, n*3*p*p)
	for i := range images {
		images[i] = r.Float32()
	}
	positions = make([]float32, n*2)
	for i := range positions {
		positions[i] = r.Float32()
	}
	return images, positions
}

func TestReconstructMatchesBoxBlur(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		maxBatch int
	}{
		{"one patch", 1, 0},
		{"seven patches, one short batch", 7, 0},
		{"32 patches, one full batch", 32, 0},
		{"32 patches in batches of 8", 32, 8},
		{"7 patches in batches of 3", 7, 3},
		{"1 patch with batch 1", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := openModel(t, "tiny.onnx", Options{Provider: ProviderCPU, MaxBatch: tc.maxBatch, Threads: 1})
			p := m.Info().PatchSize
			if p != 16 {
				t.Fatalf("patch size %d, want 16", p)
			}
			images, positions := randomPatches(tc.n, p, uint64(tc.n*100+tc.maxBatch))
			recon := make([]float32, len(images))
			gate := make([]float32, tc.n*p*p)
			for i := range gate {
				gate[i] = -1 // must be overwritten
			}
			if err := m.Reconstruct(context.Background(), tc.n, images, positions, recon, gate); err != nil {
				t.Fatal(err)
			}
			want := boxBlur(tc.n, p, images)
			for i := range want {
				if d := math.Abs(float64(recon[i] - want[i])); d > 1e-5 {
					t.Fatalf("recon[%d] (patch %d) = %v, want %v (diff %g)", i, i/(3*p*p), recon[i], want[i], d)
				}
			}
			for i, g := range gate {
				if g != 1 {
					t.Fatalf("gate[%d] = %v, want 1", i, g)
				}
			}
		})
	}
}

func TestReconstructReusesTensorsAcrossCalls(t *testing.T) {
	m := openModel(t, "tiny.onnx", Options{Provider: ProviderCPU, MaxBatch: 4, Threads: 1})
	p := m.Info().PatchSize
	// A short batch followed by a full one and another short one: views must not leak state.
	for i, n := range []int{3, 4, 9, 1} {
		images, positions := randomPatches(n, p, uint64(i))
		recon := make([]float32, len(images))
		gate := make([]float32, n*p*p)
		if err := m.Reconstruct(context.Background(), n, images, positions, recon, gate); err != nil {
			t.Fatalf("call %d (n=%d): %v", i, n, err)
		}
		want := boxBlur(n, p, images)
		for j := range want {
			if math.Abs(float64(recon[j]-want[j])) > 1e-5 {
				t.Fatalf("call %d (n=%d): recon[%d] = %v, want %v", i, n, j, recon[j], want[j])
			}
		}
	}
}

func TestBrokenModels(t *testing.T) {
	requireLibrary(t)
	tests := []struct {
		file string
		want string // part of the message besides the file name
	}{
		{"wrong_names.onnx", `"input"`},
		{"wrong_shape.onnx", "metadata hisir.patch_size is 32"},
		{"fixed_batch.onnx", "fixed batch size 4"},
		{"no_metadata.onnx", `missing metadata key "hisir.contract_version"`},
		{"wrong_version.onnx", "contract version 2"},
		{"not_onnx.onnx", "not a readable ONNX model"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := modelPath(t, tc.file)
			m, err := Open(path, Options{Provider: ProviderCPU})
			if err == nil {
				m.Close()
				t.Fatalf("Open(%s) succeeded, want a contract error", tc.file)
			}
			if !errors.Is(err, engine.ErrContract) {
				t.Errorf("error %q does not wrap engine.ErrContract", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file %s", err, path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	requireLibrary(t)
	missing := filepath.Join(t.TempDir(), "absent.onnx")
	tests := []struct {
		name    string
		path    string
		opts    Options
		is      error
		message string
	}{
		{"missing file", missing, Options{}, fs.ErrNotExist, "absent.onnx"},
		{"unknown provider", modelPath(t, "tiny.onnx"), Options{Provider: "tpu"}, nil, `unknown provider "tpu"`},
		{"negative batch", modelPath(t, "tiny.onnx"), Options{MaxBatch: -1}, nil, "negative batch"},
		{"library not found", modelPath(t, "tiny.onnx"), Options{LibraryPath: "/nonexistent/libonnxruntime.so.1"}, ErrLibraryNotFound, "/nonexistent/libonnxruntime.so.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(tc.path, tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err, tc.message)
			}
		})
	}
}

func TestFindLibraryOrder(t *testing.T) {
	cache := t.TempDir()
	envLib := filepath.Join(t.TempDir(), "libfromenv.so")
	cacheLib := filepath.Join(cache, "ort-"+ORTVersion, "libonnxruntime.so.1")
	tests := []struct {
		name     string
		explicit string
		env      string
		files    []string // created before the lookup
		want     string   // "" means ErrLibraryNotFound
	}{
		{"nothing anywhere", "", "", nil, ""},
		{"cache only", "", "", []string{cacheLib}, cacheLib},
		{"env beats cache", "", envLib, []string{envLib, cacheLib}, envLib},
		{"env missing falls to cache", "", envLib, []string{cacheLib}, cacheLib},
		{"explicit is the only place", filepath.Join(cache, "nope.so"), envLib, []string{envLib, cacheLib}, ""},
		{"explicit found", envLib, "", []string{envLib, cacheLib}, envLib},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Dir(cacheLib))
			os.Remove(envLib)
			for _, f := range tc.files {
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, []byte("lib"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("HISIR_CACHE", cache)
			t.Setenv(LibraryEnv, tc.env)
			got, err := FindLibrary(tc.explicit)
			if tc.want == "" {
				if !errors.Is(err, ErrLibraryNotFound) {
					t.Fatalf("FindLibrary = %q, %v; want ErrLibraryNotFound", got, err)
				}
				for _, c := range LibraryCandidates(tc.explicit) {
					if !strings.Contains(err.Error(), c) {
						t.Errorf("error %q does not name %s", err, c)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FindLibrary = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	tests := []struct {
		file       string
		name       string
		patch      int
		calibrated bool
	}{
		{"tiny.onnx", "tiny", 16, true},
		{"tiny_uncalibrated.onnx", "tiny-uncalibrated", 16, false},
		{"patch128.onnx", "patch128", 128, true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m := openModel(t, tc.file, Options{Provider: ProviderCPU})
			info := m.Info()
			if info.Name != tc.name || info.PatchSize != tc.patch || info.Stride != tc.patch/2 {
				t.Errorf("info = %+v; want name %q, patch %d, stride %d", info, tc.name, tc.patch, tc.patch/2)
			}
			if (info.Calibration != nil) != tc.calibrated {
				t.Errorf("calibration = %v, want calibrated %v", info.Calibration, tc.calibrated)
			}
			if info.Provider != "CPU" || info.Path != modelPath(t, tc.file) || info.Backbone != "identity" {
				t.Errorf("provider %q, path %q, backbone %q", info.Provider, info.Path, info.Backbone)
			}
			if tc.calibrated && (info.Calibration.Q50 != 0.004 || info.Calibration.Q999 != 0.05) {
				t.Errorf("calibration %+v does not match make_models.py", *info.Calibration)
			}
		})
	}
}

func TestProviders(t *testing.T) {
	requireLibrary(t)
	path := modelPath(t, "tiny.onnx")
	// auto always opens: CUDA where the library and a GPU allow it, else CPU.
	m, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("auto: %v", err)
	}
	if got := m.Info().Provider; got != "CPU" && got != "CUDA" {
		t.Errorf("auto provider %q", got)
	}
	m.Close()
	// cuda either works or says clearly that it cannot.
	m, err = Open(path, Options{Provider: ProviderCUDA})
	switch {
	case err == nil:
		if got := m.Info().Provider; got != "CUDA" {
			t.Errorf("cuda provider reported as %q", got)
		}
		m.Close()
	case !errors.Is(err, ErrProvider) || !strings.Contains(err.Error(), "cuda"):
		t.Errorf("cuda error %q does not wrap ErrProvider", err)
	}
}

func TestReconstructBadArguments(t *testing.T) {
	m := openModel(t, "tiny.onnx", Options{Provider: ProviderCPU})
	p := 16
	full := make([]float32, 2*3*p*p)
	tests := []struct {
		name                           string
		n                              int
		images, positions, recon, gate []float32
	}{
		{"negative n", -1, full, make([]float32, 4), full, make([]float32, 2*p*p)},
		{"short images", 2, full[:3*p*p], make([]float32, 4), full, make([]float32, 2*p*p)},
		{"short positions", 2, full, make([]float32, 3), full, make([]float32, 2*p*p)},
		{"short gate", 2, full, make([]float32, 4), make([]float32, len(full)), make([]float32, p*p)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.Reconstruct(context.Background(), tc.n, tc.images, tc.positions, tc.recon, tc.gate); err == nil {
				t.Fatal("Reconstruct succeeded, want an error")
			}
		})
	}
	if err := m.Reconstruct(context.Background(), 0, nil, nil, nil, nil); err != nil {
		t.Errorf("zero patches: %v", err)
	}
}

func TestReconstructCancelled(t *testing.T) {
	m := openModel(t, "tiny.onnx", Options{Provider: ProviderCPU, MaxBatch: 2})
	images, positions := randomPatches(6, 16, 1)
	recon := make([]float32, len(images))
	gate := make([]float32, 6*16*16)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Reconstruct(ctx, 6, images, positions, recon, gate); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Reconstruct = %v, want context.Canceled", err)
	}
	// The model stays usable after a cancelled call.
	if err := m.Reconstruct(context.Background(), 6, images, positions, recon, gate); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestCloseConcurrent(t *testing.T) {
	requireLibrary(t)
	m, err := Open(modelPath(t, "tiny.onnx"), Options{Provider: ProviderCPU, MaxBatch: 4, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	images, positions := randomPatches(9, 16, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			recon := make([]float32, len(images))
			gate := make([]float32, 9*16*16)
			err := m.Reconstruct(context.Background(), 9, images, positions, recon, gate)
			if err != nil && !errors.Is(err, ErrClosed) {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if err := m.Close(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	err = m.Reconstruct(context.Background(), 1, images, positions, make([]float32, 3*256), make([]float32, 256))
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Reconstruct after Close = %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestReconstructCancelledMidway(t *testing.T) {
	m := openModel(t, "tiny.onnx", Options{Provider: ProviderCPU, MaxBatch: 1, Threads: 1})
	const n = 8000 // thousands of single-patch runs: far longer than the 2 ms before cancel
	images, positions := randomPatches(n, 16, 5)
	recon := make([]float32, len(images))
	gate := make([]float32, n*16*16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Reconstruct(ctx, n, images, positions, recon, gate) }()
	time.Sleep(2 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Reconstruct cancelled midway = %v, want context.Canceled", err)
	}
	// The last patch was never reached.
	for _, g := range gate[(n-1)*256:] {
		if g != 0 {
			t.Fatal("the last patch was computed despite the cancel")
		}
	}
	// The terminate flag is cleared: the next call runs normally.
	if err := m.Reconstruct(context.Background(), 3, images, positions, recon, gate); err != nil {
		t.Fatalf("after a midway cancel: %v", err)
	}
}
