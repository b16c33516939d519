package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Benchmarks for docs/bench-store.md:
//
//	go test -run '^$' -bench . -benchtime 1x ./store/   (insert and load on a 100 000-detection project)
const (
	benchImages   = 1000
	benchPerImage = 100
	benchLabels   = 5
)

// benchProject fills a project with benchImages × benchPerImage detections (one transaction
// per image, as the batch writer does) and benchLabels labels per image; it returns the
// store and the time the detections took.
func benchProject(b *testing.B, dir string) (*fixture, time.Duration) {
	b.Helper()
	ctx := context.Background()
	f := newFixtureIn(b, dir, benchImages, 0)
	batches := make([][]Detection, benchImages)
	for i := range batches {
		batches[i] = fakeDetections(benchPerImage, int64(i))
	}
	t0 := time.Now()
	for i, img := range f.images {
		if _, err := f.s.AddDetections(ctx, f.run, img, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(t0)
	for _, img := range f.images {
		for k := 0; k < benchLabels; k++ {
			if _, err := f.s.AddLabel(ctx, "bench", img, square.Translate(float64(k*40), 0), "scratch"); err != nil {
				b.Fatal(err)
			}
		}
	}
	return f, took
}

// BenchmarkInsert100k stores 100 000 detections, 100 per image in one transaction each.
func BenchmarkInsert100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		ctx := context.Background()
		f := newFixtureIn(b, dir, benchImages, 0)
		batches := make([][]Detection, benchImages)
		for k := range batches {
			batches[k] = fakeDetections(benchPerImage, int64(k))
		}
		b.StartTimer()
		for k, img := range f.images {
			if _, err := f.s.AddDetections(ctx, f.run, img, batches[k]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		f.s.Close()
	}
	n := float64(b.N * benchImages * benchPerImage)
	b.ReportMetric(n/b.Elapsed().Seconds(), "detections/s")
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*benchImages), "ms/image-tx")
}

// BenchmarkLoadImage loads one image's detections (latest run) and labels from a project of
// 100 000 detections; it also times the same detection query forced to scan the table
// (NOT INDEXED) in the same run and reports the ratio.
func BenchmarkLoadImage(b *testing.B) {
	f, _ := benchProject(b, b.TempDir())
	ctx := context.Background()
	scanQ := `SELECT ` + detectionCols + ` FROM detections NOT INDEXED WHERE image_id = ? AND run_id = ? ORDER BY id`
	var scan time.Duration
	scans := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img := f.images[(i*7919)%len(f.images)]
		ds, err := f.s.Detections(ctx, img, 0)
		if err != nil || len(ds) != benchPerImage {
			b.Fatalf("%d detections, %v", len(ds), err)
		}
		ls, err := f.s.Labels(ctx, img)
		if err != nil || len(ls) != benchLabels {
			b.Fatalf("%d labels, %v", len(ls), err)
		}
	}
	b.StopTimer()
	indexed := b.Elapsed() / time.Duration(b.N)
	for i := 0; i < max(3, min(b.N, 20)); i++ {
		img := f.images[(i*7919)%len(f.images)]
		t0 := time.Now()
		ds, err := f.s.detections(ctx, "scan", scanQ, img, f.run)
		if err != nil || len(ds) != benchPerImage {
			b.Fatalf("scan: %d detections, %v", len(ds), err)
		}
		scan += time.Since(t0)
		scans++
	}
	b.ReportMetric(float64(indexed.Microseconds())/1000, "ms/load")
	b.ReportMetric(float64(scan)/float64(scans)/float64(indexed), "scan/indexed")
}

// BenchmarkDecision times one accepted-detection decision (one transaction, audit row, undo
// stack) with synchronous=FULL, the default, against NORMAL, in the same run.
func BenchmarkDecision(b *testing.B) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		b.Run(mode, func(b *testing.B) {
			old := synchronous
			synchronous = mode
			defer func() { synchronous = old }()
			f := newFixture(b, 1, 0)
			ctx := context.Background()
			ids, err := f.s.AddDetections(ctx, f.run, f.images[0], fakeDetections(max(b.N, 1), 0))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := f.s.SetStatus(ctx, "bench", Accepted, ids[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/decision")
		})
	}
}

// BenchmarkOpen opens (preflight, quick_check) a project of 100 000 detections.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	f, _ := benchProject(b, dir)
	f.s.Close()
	path := filepath.Join(dir, "project.hisir")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/open")
}

// BenchmarkSummaries computes the review state of every image of a project of 1 000 images
// and 100 000 detections (the image list's badges).
func BenchmarkSummaries(b *testing.B) {
	f, _ := benchProject(b, b.TempDir())
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sums, err := f.s.Summaries(ctx)
		if err != nil || len(sums) != benchImages {
			b.Fatalf("%d summaries, %v", len(sums), err)
		}
	}
	b.StopTimer()
	all := b.Elapsed() / time.Duration(b.N)
	t0 := time.Now()
	for _, img := range f.images[:100] {
		if m, err := f.s.Summary(ctx, img); err != nil || m.Pending != benchPerImage {
			b.Fatalf("summary %+v, %v", m, err)
		}
	}
	one := time.Since(t0) / 100
	b.ReportMetric(float64(all.Microseconds())/1000, "ms/all-images")
	b.ReportMetric(float64(one.Microseconds())/1000, "ms/one-image")
}
