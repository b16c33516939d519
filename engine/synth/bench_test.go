package synth

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user+system CPU time of the process so far: on a shared machine it measures
// the work of a benchmark better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPanel4K renders SIPCBA-size panels, clean and defective (with twin); it reports
// panels per second (wall), CPU seconds per panel and the defective/clean CPU time ratio
// measured in the same run.
func BenchmarkPanel4K(b *testing.B) {
	cfg := DefaultConfig(42)
	var clean time.Duration
	for _, tc := range []struct {
		name   string
		defect bool
	}{{"clean", false}, {"defective", true}} {
		b.Run(tc.name, func(b *testing.B) {
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := Generate(cfg, i, tc.defect); err != nil {
					b.Fatal(err)
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(1/per.Seconds(), "panels/s")
			cpu := (cpuTime() - cpu0) / time.Duration(b.N)
			b.ReportMetric(cpu.Seconds(), "cpu-s/panel")
			if !tc.defect {
				clean = cpu
			} else if clean > 0 {
				b.ReportMetric(float64(cpu)/float64(clean), "x_clean")
			}
		})
	}
}

// BenchmarkScaling renders the same panel at 4K and 8K and reports the 8K/4K CPU time ratio
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
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := Generate(cfg, 0, false); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time, not wall time: the ratio should not depend on what else the machine runs.
			per := (cpuTime() - start) / time.Duration(b.N)
			b.ReportMetric(float64(tc.w*tc.h)/per.Seconds()/1e6, "Mpx/s")
			if tc.w == 3840 {
				t4 = per
			} else if t4 > 0 {
				b.ReportMetric(float64(per)/float64(t4), "x_4K")
			}
		})
	}
}
