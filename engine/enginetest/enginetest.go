// Package enginetest provides fake models for tests of the engine and of the packages that
// use it: a Model that applies a Go function to each patch, with contract-valid metadata.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/hisirdesk/hisir/engine"
)

// PatchFunc writes the reconstruction of one patch into out. in and out hold 3×P×P floats,
// channel-planar; pos is the contract's position input (centre / image size).
type PatchFunc func(out, in []float32, pos [2]float32)

// Model is a fake engine.Model that applies Fn to every patch. Its gate output is all ones.
// Set Err to make Reconstruct fail from call number FailAt (1-based; 0 means the first).
type Model struct {
	Fn     PatchFunc
	Meta   engine.ModelInfo
	Err    error
	FailAt int

	mu      sync.Mutex
	calls   int
	patches int
	closed  bool
}

// compile-time check
var _ engine.Model = (*Model)(nil)

// Metadata returns contract-valid metadata for a test model of patch size p.
func Metadata(p int) map[string]string {
	return map[string]string{
		engine.KeyContractVersion:    strconv.Itoa(engine.ContractVersion),
		engine.KeyPatchSize:          strconv.Itoa(p),
		engine.KeyStride:             strconv.Itoa(p / 2),
		engine.KeyTDiff:              "0.1",
		engine.KeyBackbone:           "identity",
		engine.KeyGate:               "true",
		engine.KeyPositionalEncoding: "false",
		engine.KeyName:               "fake",
	}
}

// Func returns a fake model of patch size p (even, ≥ 8 for contract-valid metadata) that
// applies fn to each patch.
func Func(p int, fn PatchFunc) *Model {
	md := Metadata(p)
	info, err := engine.ParseMetadata(md)
	if err != nil {
		// Tiny patch sizes (< 8) are below the contract's minimum but useful in tests.
		info = engine.ModelInfo{Name: "fake", ContractVersion: engine.ContractVersion, PatchSize: p, Stride: p / 2,
			TDiff: 0.1, Backbone: "identity", Gate: true}
	}
	info.Path = "fake.onnx"
	info.Provider = "Go"
	return &Model{Fn: fn, Meta: info}
}

// Identity returns a fake model whose reconstruction equals its input.
func Identity(p int) *Model {
	return Func(p, func(out, in []float32, _ [2]float32) { copy(out, in) })
}

// Info implements engine.Model.
func (m *Model) Info() engine.ModelInfo { return m.Meta }

// Reconstruct implements engine.Model.
func (m *Model) Reconstruct(ctx context.Context, n int, images, positions, recon, gate []float32) error {
	m.mu.Lock()
	m.calls++
	call := m.calls
	m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed {
		return errors.New("fake model: closed")
	}
	if m.Err != nil && call >= max(m.FailAt, 1) {
		return m.Err
	}
	P := m.Meta.PatchSize
	pp3 := 3 * P * P
	if n < 1 || len(images) != n*pp3 || len(recon) != n*pp3 || len(positions) != 2*n || len(gate) != n*P*P {
		return fmt.Errorf("fake model: batch of %d with %d images, %d positions, %d recon, %d gate values",
			n, len(images), len(positions), len(recon), len(gate))
	}
	for b := 0; b < n; b++ {
		m.Fn(recon[b*pp3:(b+1)*pp3], images[b*pp3:(b+1)*pp3], [2]float32{positions[2*b], positions[2*b+1]})
	}
	for i := range gate {
		gate[i] = 1
	}
	m.mu.Lock()
	m.patches += n
	m.mu.Unlock()
	return nil
}

// Calls is the number of Reconstruct calls so far.
func (m *Model) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Patches is the number of patches reconstructed so far.
func (m *Model) Patches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.patches
}

// Close implements engine.Model.
func (m *Model) Close() error {
	m.closed = true
	return nil
}
