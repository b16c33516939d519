package ortmodel

import (
	"context"
	"fmt"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var benchBatches = []int{1, 8, 32}

// benchModel opens patch128.onnx, or the model named by $HISIR_BENCH_MODEL (absolute or
// relative to the repository root, e.g. assets/models/circuitboard.onnx) to measure a compute-bound network with the same benchmark.
func benchModel(b *testing.B, o Options) *Model {
	b.Helper()
	path := os.Getenv("HISIR_BENCH_MODEL")
	if path == "" {
		return openModel(b, "patch128.onnx", o)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(enginetest.RepoRoot(b), path) // relative to the repository root
	}
	requireLibrary(b)
	m, err := Open(path, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkReconstructBatch runs 32 patches of patch128.onnx (or $HISIR_BENCH_MODEL) per op at session batch sizes
// 1, 8 and 32 and reports patches/s. The "interleaved" sub-benchmark runs all three batch
// sizes in turn inside every op, so its speed-up ratios (x8_vs_1, x32_vs_1) are measured
// under the same machine load even on a busy machine.
func BenchmarkReconstructBatch(b *testing.B) {
	const n = 32
	for _, batch := range benchBatches {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			m := benchModel(b, Options{Provider: ProviderCPU, MaxBatch: batch})
			p := m.Info().PatchSize
			images, positions := randomPatches(n, p, 1)
			recon := make([]float32, len(images))
			gate := make([]float32, n*p*p)
			ctx := context.Background()
			// One warm-up run outside the timer: the first run allocates ORT's arenas.
			if err := m.Reconstruct(ctx, n, images, positions, recon, gate); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n * 3 * p * p * 4))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.Reconstruct(ctx, n, images, positions, recon, gate); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "patches/s")
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		models := make([]*Model, len(benchBatches))
		for i, batch := range benchBatches {
			models[i] = benchModel(b, Options{Provider: ProviderCPU, MaxBatch: batch})
		}
		p := models[0].Info().PatchSize
		images, positions := randomPatches(n, p, 1)
		recon := make([]float32, len(images))
		gate := make([]float32, n*p*p)
		ctx := context.Background()
		spent := make([]time.Duration, len(models))
		for _, m := range models {
			if err := m.Reconstruct(ctx, n, images, positions, recon, gate); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for k, m := range models {
				t0 := time.Now()
				if err := m.Reconstruct(ctx, n, images, positions, recon, gate); err != nil {
					b.Fatal(err)
				}
				spent[k] += time.Since(t0)
			}
		}
		for k, batch := range benchBatches[1:] {
			b.ReportMetric(float64(spent[0])/float64(spent[k+1]), fmt.Sprintf("x%d_vs_1", batch))
		}
	})
}
