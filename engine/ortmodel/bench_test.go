package ortmodel

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReconstructBatch runs 32 patches of patch128.onnx per op at session batch sizes
// 1, 8 and 32, reporting patches/s and the speed-up over batch 1 measured in the same run.
func BenchmarkReconstructBatch(b *testing.B) {
	const n = 32
	var base float64 // patches/s at batch 1, measured first
	for _, batch := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			m := openModel(b, "patch128.onnx", Options{Provider: ProviderCPU, MaxBatch: batch})
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
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := m.Reconstruct(ctx, n, images, positions, recon, gate); err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(b.N*n) / time.Since(start).Seconds()
			b.ReportMetric(rate, "patches/s")
			if batch == 1 {
				base = rate
			}
			if base > 0 {
				b.ReportMetric(rate/base, "x_vs_batch1")
			}
		})
	}
}
