package synth

import (
	"testing"
	"time"
)

// BenchmarkPanel4K renders SIPCBA-size panels, clean and defective (with twin); it reports
// panels per second and the defective/clean time ratio measured in the same run.
func BenchmarkPanel4K(b *testing.B) {
	cfg := DefaultConfig(42)
	var clean time.Duration
	for _, tc := range []struct {
		name   string
		defect bool
	}{{"clean", false}, {"defective", true}} {
		b.Run(tc.name, func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := Generate(cfg, i, tc.defect); err != nil {
					b.Fatal(err)
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(1/per.Seconds(), "panels/s")
			if !tc.defect {
				clean = per
			} else if clean > 0 {
				b.ReportMetric(float64(per)/float64(clean), "x_clean")
			}
		})
	}
}

// BenchmarkScaling renders the same panel at 4K and 8K and reports the 8K/4K time ratio
// (4 means linear in the pixel count).
func BenchmarkScaling(b *testing.B) {
	var t4 time.Duration
	for _, tc := range []struct {
		name string
		w, h int
	}{{"4K", 3840, 2160}, {"8K", 7680, 4320}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultConfig(42)
			cfg.Width, cfg.Height = tc.w, tc.h
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := Generate(cfg, 0, false); err != nil {
					b.Fatal(err)
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(tc.w*tc.h)/per.Seconds()/1e6, "Mpx/s")
			if tc.w == 3840 {
				t4 = per
			} else if t4 > 0 {
				b.ReportMetric(float64(per)/float64(t4), "x_4K")
			}
		})
	}
}
