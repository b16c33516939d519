// Package ortmodel runs HiSIR models with ONNX Runtime: it finds and loads the runtime
// library, checks a model file against docs/model-contract.md, and implements engine.Model
// on a DynamicAdvancedSession. It is the only package that imports onnxruntime_go.
package ortmodel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hisirdesk/hisir/engine"
	ort "github.com/yalue/onnxruntime_go"
)

// Execution providers accepted by Options.Provider.
const (
	ProviderAuto = "auto" // CUDA when it can be loaded, else CPU
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda"
)

// DefaultMaxBatch is the batch size used when Options.MaxBatch is zero.
const DefaultMaxBatch = 32

// ErrProvider reports an execution provider that was asked for and cannot be used.
var ErrProvider = errors.New("execution provider not available")

// ErrClosed reports a call on a closed model.
var ErrClosed = errors.New("model is closed")

// Options tune Open. The zero value is valid: library found by FindLibrary, ORT's default
// thread count, provider auto, batches of DefaultMaxBatch patches.
type Options struct {
	LibraryPath string // ONNX Runtime shared library; empty: see FindLibrary. The first Open of a process loads it; later ones reuse that library
	Threads     int    // intra-op threads; 0 lets ONNX Runtime choose
	Provider    string // "auto" (default), "cpu" or "cuda"
	MaxBatch    int    // patches per session run; 0 means DefaultMaxBatch
}

// Model is a HiSIR model loaded in ONNX Runtime. It implements engine.Model.
// Calls are serialised by a mutex, so it is safe to share; Close may be called from any
// goroutine, any number of times.
type Model struct {
	mu      sync.Mutex
	closed  bool
	info    engine.ModelInfo
	batch   int
	session *ort.DynamicAdvancedSession
	runOpts *ort.RunOptions
	// Reused tensors of batch rows; a short last batch runs on views of their first rows.
	image, position, recon, gate *ort.Tensor[float32]
}

var _ engine.Model = (*Model)(nil)

// Open checks the model file at path against the contract and loads it.
// Contract violations wrap engine.ErrContract, a missing library wraps ErrLibraryNotFound,
// an unusable provider wraps ErrProvider; every error names the file.
func Open(path string, o Options) (*Model, error) {
	provider := strings.ToLower(o.Provider)
	switch provider {
	case "":
		provider = ProviderAuto
	case ProviderAuto, ProviderCPU, ProviderCUDA:
	default:
		return nil, fmt.Errorf("open model %s: unknown provider %q (want auto, cpu or cuda)", path, o.Provider)
	}
	if o.MaxBatch < 0 || o.Threads < 0 {
		return nil, fmt.Errorf("open model %s: negative batch size or thread count", path)
	}
	batch := o.MaxBatch
	if batch == 0 {
		batch = DefaultMaxBatch
	}
	lib, err := FindLibrary(o.LibraryPath)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	if err := initEnvironment(lib); err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	info, err := Inspect(path)
	if err != nil {
		return nil, err
	}
	m := &Model{info: info, batch: batch}
	if err := m.start(path, provider, o.Threads); err != nil {
		m.free()
		return nil, err
	}
	return m, nil
}

// Inspect checks the model file at path against the contract without creating a session
// and returns its metadata (Provider is empty). The ONNX Runtime environment must already
// be initialised by an earlier Open, or Inspect initialises it from FindLibrary("").
func Inspect(path string) (engine.ModelInfo, error) {
	var info engine.ModelInfo
	if _, err := os.Stat(path); err != nil {
		return info, fmt.Errorf("open model: %w", err)
	}
	lib, err := FindLibrary("")
	if LoadedLibrary() == "" {
		if err != nil {
			return info, fmt.Errorf("open model %s: %w", path, err)
		}
		if err := initEnvironment(lib); err != nil {
			return info, fmt.Errorf("open model %s: %w", path, err)
		}
	}
	md, err := ort.GetModelMetadata(path)
	if err != nil {
		return info, fmt.Errorf("model %s: %w: not a readable ONNX model: %v", path, engine.ErrContract, err)
	}
	props, err := metadataMap(md)
	md.Destroy()
	if err != nil {
		return info, fmt.Errorf("model %s: %w: read metadata: %v", path, engine.ErrContract, err)
	}
	if info, err = engine.ParseMetadata(props); err != nil {
		return info, fmt.Errorf("model %s: %w", path, err)
	}
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return info, fmt.Errorf("model %s: %w: read inputs and outputs: %v", path, engine.ErrContract, err)
	}
	if err := checkTensors(ins, outs, info.PatchSize); err != nil {
		return info, fmt.Errorf("model %s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

func metadataMap(md *ort.ModelMetadata) (map[string]string, error) {
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, err
	}
	props := make(map[string]string, len(keys))
	for _, k := range keys {
		v, _, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		props[k] = v
	}
	return props, nil
}

// tensorSpec is what the contract requires of one tensor; -1 is the dynamic batch axis,
// patchDim stands for the patch size.
type tensorSpec struct {
	name string
	dims []int64
}

const patchDim = -2 // placeholder for the patch size in tensorSpec.dims

var (
	inputSpecs  = []tensorSpec{{engine.InputImage, []int64{-1, 3, patchDim, patchDim}}, {engine.InputPosition, []int64{-1, 2}}}
	outputSpecs = []tensorSpec{{engine.OutputReconstruction, []int64{-1, 3, patchDim, patchDim}}, {engine.OutputGate, []int64{-1, 1, patchDim, patchDim}}}
)

// checkTensors compares the declared inputs and outputs with the contract. A non-batch
// dimension may be symbolic (some exporters drop output shapes); when fixed it must match.
func checkTensors(ins, outs []ort.InputOutputInfo, patch int) error {
	if err := checkSet("input", ins, inputSpecs, patch); err != nil {
		return err
	}
	return checkSet("output", outs, outputSpecs, patch)
}

func checkSet(kind string, got []ort.InputOutputInfo, want []tensorSpec, patch int) error {
	byName := make(map[string]ort.InputOutputInfo, len(got))
	for _, g := range got {
		byName[g.Name] = g
	}
	for _, g := range got {
		known := false
		for _, w := range want {
			known = known || g.Name == w.name
		}
		if !known {
			return fmt.Errorf("%w: unexpected %s %q (the contract's %ss are %s)", engine.ErrContract, kind, g.Name, kind, specNames(want))
		}
	}
	for _, w := range want {
		g, ok := byName[w.name]
		if !ok {
			return fmt.Errorf("%w: missing %s %q", engine.ErrContract, kind, w.name)
		}
		if g.OrtValueType != ort.ONNXTypeTensor {
			return fmt.Errorf("%w: %s %q is a %s, not a tensor", engine.ErrContract, kind, w.name, g.OrtValueType)
		}
		if g.DataType != ort.TensorElementDataTypeFloat {
			return fmt.Errorf("%w: %s %q has element type %s, want float32", engine.ErrContract, kind, w.name, g.DataType)
		}
		if len(g.Dimensions) != len(w.dims) {
			return fmt.Errorf("%w: %s %q has rank %d (shape %v), want rank %d", engine.ErrContract, kind, w.name, len(g.Dimensions), g.Dimensions, len(w.dims))
		}
		for i, d := range w.dims {
			have := g.Dimensions[i]
			switch {
			case d == -1 && have >= 0:
				return fmt.Errorf("%w: %s %q has a fixed batch size %d; the batch axis must be dynamic", engine.ErrContract, kind, w.name, have)
			case d == patchDim && have >= 0 && have != int64(patch):
				return fmt.Errorf("%w: %s %q has patch size %d (shape %v) but metadata %s is %d", engine.ErrContract, kind, w.name, have, g.Dimensions, engine.KeyPatchSize, patch)
			case d >= 0 && have >= 0 && have != d:
				return fmt.Errorf("%w: %s %q has shape %v, want dimension %d = %d", engine.ErrContract, kind, w.name, g.Dimensions, i, d)
			}
		}
	}
	return nil
}

func specNames(s []tensorSpec) string {
	n := make([]string, len(s))
	for i, t := range s {
		n[i] = fmt.Sprintf("%q", t.name)
	}
	return strings.Join(n, " and ")
}

// start creates the session, run options and reused tensors.
func (m *Model) start(path, provider string, threads int) error {
	var err error
	switch provider {
	case ProviderCPU:
		m.session, err = newSession(path, threads, false)
		m.info.Provider = "CPU"
	case ProviderCUDA:
		m.session, err = newSession(path, threads, true)
		m.info.Provider = "CUDA"
	case ProviderAuto:
		// Only a library shipped with its CUDA plugin can run CUDA; trying without it makes
		// ONNX Runtime log a loading error, so auto goes straight to CPU then.
		err = ErrProvider
		if cudaPluginPresent() {
			m.session, err = newSession(path, threads, true)
			m.info.Provider = "CUDA"
		}
		if errors.Is(err, ErrProvider) {
			m.session, err = newSession(path, threads, false)
			m.info.Provider = "CPU"
		}
	}
	if err != nil {
		return fmt.Errorf("open model %s: %w", path, err)
	}
	if m.runOpts, err = ort.NewRunOptions(); err != nil {
		return fmt.Errorf("open model %s: run options: %w", path, err)
	}
	pp := int64(m.info.PatchSize)
	b := int64(m.batch)
	if m.image, err = ort.NewEmptyTensor[float32](ort.NewShape(b, 3, pp, pp)); err == nil {
		if m.position, err = ort.NewEmptyTensor[float32](ort.NewShape(b, 2)); err == nil {
			if m.recon, err = ort.NewEmptyTensor[float32](ort.NewShape(b, 3, pp, pp)); err == nil {
				m.gate, err = ort.NewEmptyTensor[float32](ort.NewShape(b, 1, pp, pp))
			}
		}
	}
	if err != nil {
		return fmt.Errorf("open model %s: allocate tensors for batch %d: %w", path, m.batch, err)
	}
	return nil
}

// cudaPluginPresent reports whether the loaded library has the CUDA provider plugin beside it.
func cudaPluginPresent() bool {
	lib := LoadedLibrary()
	if lib == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(lib), "libonnxruntime_providers_cuda.so"))
	return err == nil
}

// newSession creates a session; with cuda it appends the CUDA provider, and a failure to do
// so (or to create the session with it) wraps ErrProvider.
func newSession(path string, threads int, cuda bool) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	if threads > 0 {
		if err := so.SetIntraOpNumThreads(threads); err != nil {
			return nil, fmt.Errorf("set %d threads: %w", threads, err)
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("set inter-op threads: %w", err)
		}
	}
	if cuda {
		co, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, fmt.Errorf("%w: cuda: %v", ErrProvider, err)
		}
		err = so.AppendExecutionProviderCUDA(co)
		co.Destroy()
		if err != nil {
			return nil, fmt.Errorf("%w: cuda (run scripts/fetch-ort-gpu.sh and point %s at its library): %v", ErrProvider, LibraryEnv, err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path,
		[]string{engine.InputImage, engine.InputPosition},
		[]string{engine.OutputReconstruction, engine.OutputGate}, so)
	if err != nil {
		if cuda {
			return nil, fmt.Errorf("%w: cuda session: %v", ErrProvider, err)
		}
		return nil, fmt.Errorf("create session: %w", err)
	}
	return s, nil
}

// Info returns the contract metadata and the provider in use.
func (m *Model) Info() engine.ModelInfo {
	info := m.info
	if info.Calibration != nil {
		c := *info.Calibration
		info.Calibration = &c
	}
	return info
}

// Batch returns the number of patches the model runs per session call.
func (m *Model) Batch() int { return m.batch }

// Reconstruct runs n patches in batches of at most Batch(), checking ctx between batches
// (and cancelling a running batch when ctx ends). images holds n*3*P*P floats (NCHW),
// positions n*2; recon (n*3*P*P) and gate (n*P*P) are filled.
func (m *Model) Reconstruct(ctx context.Context, n int, images, positions, recon, gate []float32) error {
	pp := m.info.PatchSize * m.info.PatchSize
	switch {
	case n < 0:
		return fmt.Errorf("reconstruct: negative patch count %d", n)
	case len(images) < n*3*pp || len(recon) < n*3*pp:
		return fmt.Errorf("reconstruct %d patches: images and recon need %d floats, have %d and %d", n, n*3*pp, len(images), len(recon))
	case len(positions) < n*2 || len(gate) < n*pp:
		return fmt.Errorf("reconstruct %d patches: positions need %d floats and gate %d, have %d and %d", n, n*2, n*pp, len(positions), len(gate))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("reconstruct: %s: %w", m.info.Path, ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reconstruct: %w", err)
	}
	// A cancelled context terminates the batch that is running.
	if err := m.runOpts.UnsetTerminate(); err != nil {
		return fmt.Errorf("reconstruct: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		m.runOpts.Terminate()
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()
	for start := 0; start < n; start += m.batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reconstruct: %w", err)
		}
		k := min(m.batch, n-start)
		if err := m.run(start, k, images, positions, recon, gate); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("reconstruct: %w", cerr)
			}
			return fmt.Errorf("reconstruct patches %d-%d with %s: %w", start, start+k-1, m.info.Path, err)
		}
	}
	return nil
}

// run reconstructs patches [start, start+k) through the reused tensors.
func (m *Model) run(start, k int, images, positions, recon, gate []float32) error {
	pp := m.info.PatchSize * m.info.PatchSize
	copy(m.image.GetData(), images[start*3*pp:(start+k)*3*pp])
	copy(m.position.GetData(), positions[start*2:(start+k)*2])
	in := []ort.Value{m.image, m.position}
	out := []ort.Value{m.recon, m.gate}
	if k < m.batch {
		views, err := m.views(k)
		if err != nil {
			return err
		}
		defer func() {
			for _, v := range views {
				v.Destroy()
			}
		}()
		in = []ort.Value{views[0], views[1]}
		out = []ort.Value{views[2], views[3]}
	}
	if err := m.session.RunWithOptions(in, out, m.runOpts); err != nil {
		return err
	}
	copy(recon[start*3*pp:(start+k)*3*pp], m.recon.GetData()[:k*3*pp])
	copy(gate[start*pp:(start+k)*pp], m.gate.GetData()[:k*pp])
	return nil
}

// views returns tensors of k rows over the first rows of the reused tensors' memory.
func (m *Model) views(k int) ([]*ort.Tensor[float32], error) {
	pp := int64(m.info.PatchSize)
	kk := int64(k)
	shapes := []ort.Shape{ort.NewShape(kk, 3, pp, pp), ort.NewShape(kk, 2), ort.NewShape(kk, 3, pp, pp), ort.NewShape(kk, 1, pp, pp)}
	backs := []*ort.Tensor[float32]{m.image, m.position, m.recon, m.gate}
	views := make([]*ort.Tensor[float32], 0, 4)
	for i, s := range shapes {
		t, err := ort.NewTensor(s, backs[i].GetData())
		if err != nil {
			for _, v := range views {
				v.Destroy()
			}
			return nil, fmt.Errorf("tensor view of %d rows: %w", k, err)
		}
		views = append(views, t)
	}
	return views, nil
}

// Close frees the session and its tensors. It is safe to call concurrently and repeatedly;
// a Reconstruct in progress finishes first.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.free()
}

func (m *Model) free() error {
	var errs []error
	if m.session != nil {
		errs = append(errs, m.session.Destroy())
		m.session = nil
	}
	if m.runOpts != nil {
		errs = append(errs, m.runOpts.Destroy())
		m.runOpts = nil
	}
	for _, t := range []**ort.Tensor[float32]{&m.image, &m.position, &m.recon, &m.gate} {
		if *t != nil {
			errs = append(errs, (*t).Destroy())
			*t = nil
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close model %s: %w", m.info.Path, err)
	}
	return nil
}
