package enginetest

import (
	"context"
	"errors"
	"testing"

	"github.com/hisirdesk/hisir/engine"
)

func TestFakeModel(t *testing.T) {
	if _, err := engine.ParseMetadata(Metadata(16)); err != nil {
		t.Fatalf("metadata is not contract-valid: %v", err)
	}
	m := Func(16, func(out, in []float32, pos [2]float32) {
		for i, v := range in {
			out[i] = v + pos[0]
		}
	})
	if info := m.Info(); info.PatchSize != 16 || info.Stride != 8 || info.TDiff != 0.1 {
		t.Fatalf("info %+v", info)
	}
	const n, pp3 = 2, 3 * 16 * 16
	in := make([]float32, n*pp3)
	recon := make([]float32, n*pp3)
	gate := make([]float32, n*16*16)
	pos := []float32{0.5, 0, 0.25, 0}
	if err := m.Reconstruct(context.Background(), n, in, pos, recon, gate); err != nil {
		t.Fatal(err)
	}
	if recon[0] != 0.5 || recon[pp3] != 0.25 || gate[0] != 1 || m.Calls() != 1 || m.Patches() != 2 {
		t.Fatalf("recon %g %g gate %g calls %d patches %d", recon[0], recon[pp3], gate[0], m.Calls(), m.Patches())
	}
	cases := []struct {
		name string
		n    int
		in   []float32
	}{
		{"zero batch", 0, in[:0]},
		{"short input", n, in[:pp3]},
	}
	for _, c := range cases {
		if err := m.Reconstruct(context.Background(), c.n, c.in, pos, recon, gate); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	boom := errors.New("boom")
	f := Identity(8)
	f.Err, f.FailAt = boom, 2
	if err := f.Reconstruct(context.Background(), 1, make([]float32, 192), []float32{0, 0}, make([]float32, 192), make([]float32, 64)); err != nil {
		t.Fatalf("first call failed: %v", err)
	}
	if err := f.Reconstruct(context.Background(), 1, make([]float32, 192), []float32{0, 0}, make([]float32, 192), make([]float32, 64)); !errors.Is(err, boom) {
		t.Fatalf("second call: %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Identity(8).Reconstruct(ctx, 1, make([]float32, 192), []float32{0, 0}, make([]float32, 192), make([]float32, 64)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
