package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/synth"
)

func init() {
	register(command{
		name:    "bench",
		summary: "time inference end to end with a stage breakdown, peak memory and provider",
		run:     runBench,
	})
}

// benchRow is one measured configuration.
type benchRow struct {
	Size        string             `json:"size"`
	Width       int                `json:"width"`
	Height      int                `json:"height"`
	Batch       int                `json:"batch"`
	Threads     int                `json:"threads"`
	Provider    string             `json:"provider"`
	Patches     int                `json:"patches"`
	StagesMS    map[string]float64 `json:"stages_ms"`
	TotalMS     float64            `json:"total_ms"`
	PatchesPerS float64            `json:"patches_per_s"`
	// Shares are each stage's fraction of the total, measured in the same run.
	Shares map[string]float64 `json:"shares"`
	// PeakRSSMB is the process's peak resident memory during the run (it includes the ONNX
	// Runtime session and what earlier runs of a sweep left mapped); PeakGoHeapMB the Go
	// heap's peak during the run (image-sized buffers plus batches), the figure that shows
	// how memory grows with the image.
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	PeakGoHeapMB float64 `json:"peak_go_heap_mb"`
	ImageMB      float64 `json:"image_mb"` // the float32 planar image itself, for scale
	Defects      int     `json:"defects"`
}

var benchStages = []string{"decode", "tile", "model", "merge", "map", "threshold+components"}

func parseSize(s string) (int, int, error) {
	switch strings.ToLower(s) {
	case "1k":
		return 1920, 1080, nil
	case "4k":
		return 3840, 2160, nil
	case "8k":
		return 7680, 4320, nil
	}
	w, h, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		wi, err1 := strconv.Atoi(w)
		hi, err2 := strconv.Atoi(h)
		if err1 == nil && err2 == nil && wi > 0 && hi > 0 {
			return wi, hi, nil
		}
	}
	return 0, 0, fmt.Errorf("size %q: want 1k, 4k, 8k or WxH", s)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a list of non-negative integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", stderr)
	var mf modelFlags
	fs.StringVar(&mf.path, "model", "", "ONNX model (default "+defaultModel+")")
	fs.StringVar(&mf.provider, "provider", "auto", "execution provider: auto, cpu or cuda")
	sizes := fs.String("sizes", "1k,4k", "image sizes, comma-separated: 1k, 4k, 8k or WxH")
	batches := fs.String("batch", "32", "batch sizes to sweep, comma-separated")
	threads := fs.String("threads", "0", "intra-op thread counts to sweep (0: ONNX Runtime's choice)")
	imagePath := fs.String("image", "", "benchmark this image instead of generated panels (sizes ignored)")
	repeat := fs.Int("repeat", 1, "runs per configuration; the fastest is reported")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bs, err := parseInts(*batches)
	if err != nil {
		return fmt.Errorf("--batch: %w", err)
	}
	ts, err := parseInts(*threads)
	if err != nil {
		return fmt.Errorf("--threads: %w", err)
	}
	type input struct {
		name string
		png  []byte
	}
	var inputs []input
	if *imagePath != "" {
		b, err := os.ReadFile(*imagePath)
		if err != nil {
			return fmt.Errorf("read image: %w", err)
		}
		inputs = append(inputs, input{*imagePath, b})
	} else {
		for _, s := range strings.Split(*sizes, ",") {
			w, h, err := parseSize(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			cfg := synth.DefaultConfig(42)
			cfg.Width, cfg.Height = w, h
			p, err := synth.Generate(cfg, 0, true)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, p.Image); err != nil {
				return err
			}
			inputs = append(inputs, input{fmt.Sprintf("%dx%d", w, h), buf.Bytes()})
		}
	}
	ctx := context.Background()
	var rows []benchRow
	for _, th := range ts {
		mf.threads = th
		mf.batch = maxInt(bs)
		m, err := mf.open()
		if err != nil {
			return err
		}
		info := m.Info()
		fmt.Fprintf(stderr, "model: %s, threads %d\n", describeModel(info), th)
		for _, in := range inputs {
			for _, b := range bs {
				var best *benchRow
				for r := 0; r < max(1, *repeat); r++ {
					row, err := benchOnce(ctx, m, info, in.png, in.name, b)
					if err != nil {
						m.Close()
						return err
					}
					row.Threads = th
					if best == nil || row.TotalMS < best.TotalMS {
						best = row
					}
				}
				fmt.Fprintf(stderr, "%s batch %d threads %d: %.0f ms\n", in.name, b, th, best.TotalMS)
				rows = append(rows, *best)
			}
		}
		m.Close()
	}
	if *asJSON {
		return writeJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "size\tbatch\tthreads\tprovider\tpatches\t")
	for _, s := range benchStages {
		fmt.Fprintf(tw, "%s ms\t", s)
	}
	fmt.Fprintln(tw, "total ms\tpatches/s\tpeak RSS MB\tpeak Go heap MB\timage MB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t", r.Size, r.Batch, r.Threads, r.Provider, r.Patches)
		for _, s := range benchStages {
			fmt.Fprintf(tw, "%.0f (%.0f%%)\t", r.StagesMS[s], 100*r.Shares[s])
		}
		fmt.Fprintf(tw, "%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\n", r.TotalMS, r.PatchesPerS, r.PeakRSSMB, r.PeakGoHeapMB, r.ImageMB)
	}
	return tw.Flush()
}

func maxInt(xs []int) int {
	m := 1
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// benchOnce decodes, runs the pipeline and finds defects once, sampling memory meanwhile.
func benchOnce(ctx context.Context, m engine.Model, info engine.ModelInfo, data []byte, name string, batch int) (*benchRow, error) {
	runtime.GC()
	stop := sampleMemory()
	t0 := time.Now()
	img, err := engine.DecodeReader(bytes.NewReader(data), name)
	if err != nil {
		stop()
		return nil, err
	}
	decode := time.Since(t0)
	p, err := engine.NewPipeline(m, calibratedOptions(info, batch))
	if err != nil {
		stop()
		return nil, err
	}
	res, err := p.Run(ctx, img, nil)
	if err != nil {
		stop()
		return nil, err
	}
	t1 := time.Now()
	score := engine.MinMax(res.Raw)
	thr := float32(engine.DefaultThreshold(info))
	if info.Calibration != nil {
		if score, err = engine.Calibrated(res.Raw, info.Calibration); err != nil {
			stop()
			return nil, err
		}
	}
	defects := engine.FindDefects(score, thr, 16)
	tdef := time.Since(t1)
	total := time.Since(t0)
	peakRSS, peakHeap := stop()
	row := &benchRow{
		Size: fmt.Sprintf("%dx%d", img.W, img.H), Width: img.W, Height: img.H, Batch: batch,
		Provider: info.Provider, Patches: res.Patches, Defects: len(defects),
		StagesMS: map[string]float64{
			"decode": ms(decode), "tile": ms(res.Timings.Tile), "model": ms(res.Timings.Model),
			"merge": ms(res.Timings.Merge), "map": ms(res.Timings.Map), "threshold+components": ms(tdef),
		},
		TotalMS:      ms(total),
		PeakRSSMB:    float64(peakRSS) / (1 << 20),
		PeakGoHeapMB: float64(peakHeap) / (1 << 20),
		ImageMB:      float64(len(img.Pix)*4) / (1 << 20),
		Shares:       map[string]float64{},
	}
	row.PatchesPerS = float64(res.Patches) / res.Timings.Model.Seconds()
	for k, v := range row.StagesMS {
		row.Shares[k] = v / row.TotalMS
	}
	return row, nil
}

// sampleMemory samples the resident set and the Go heap every 2 ms until the returned
// function is called, which reports both peaks in bytes.
func sampleMemory() func() (rss, heap int64) {
	var mu sync.Mutex
	var peakRSS, peakHeap int64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	take := func() {
		metrics.Read(sample)
		h := int64(sample[0].Value.Uint64())
		r := readRSS()
		mu.Lock()
		peakHeap, peakRSS = max(peakHeap, h), max(peakRSS, r)
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				take()
				return
			case <-tk.C:
				take()
			}
		}
	}()
	return func() (int64, int64) {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peakRSS, peakHeap
	}
}

// readRSS returns the resident set size in bytes from /proc/self/statm (0 where unavailable).
func readRSS() int64 {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Split(bufio.ScanWords)
	for i := 0; sc.Scan(); i++ {
		if i == 1 {
			pages, _ := strconv.ParseInt(sc.Text(), 10, 64)
			return pages * int64(os.Getpagesize())
		}
	}
	return 0
}
