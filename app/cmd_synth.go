package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"github.com/hisirdesk/hisir/engine/sipcba"
	"github.com/hisirdesk/hisir/engine/synth"
)

func init() {
	register(command{
		name:    "synth",
		summary: "generate a synthetic SIPCBA dataset of 4K PCBA panels",
		run:     runSynth,
	})
}

// Panel indices of the three splits start far apart so that changing one split's size
// leaves the panels of the others unchanged.
const (
	synthTrainBase      = 0
	synthDefectiveBase  = 1_000_000
	synthDefectFreeBase = 2_000_000
)

// synthResult is the --json summary of a synth run.
type synthResult struct {
	Out        string         `json:"out"`
	Preset     string         `json:"preset"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Rows       int            `json:"rows"`
	Cols       int            `json:"cols"`
	Seed       int64          `json:"seed"`
	Train      int            `json:"train"`
	Defective  int            `json:"defective"`
	DefectFree int            `json:"defect_free"`
	Defects    int            `json:"defects"`
	PerClass   map[string]int `json:"per_class"`
	Seconds    float64        `json:"seconds"`
}

// synthJob is one panel to generate.
type synthJob struct {
	split  sipcba.Split
	name   string
	index  int
	defect bool
}

func runSynth(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", "--out DATASET [--preset small|sipcba] [flags]", stderr)
	preset := fs.String("preset", "small", "dataset recipe: sipcba (450 train, 50 defective + twins, 50 defect-free, 3840x2160)\nor small (6, 4, 3 at 1280x720)")
	out := fs.String("out", "", "dataset folder to create (must not exist)")
	train := fs.Int("train", 0, "defect-free training panels (default: the preset's)")
	defective := fs.Int("defective", 0, "defective test panels, each with its twin (default: the preset's)")
	defectFree := fs.Int("defect-free", 0, "independent defect-free panels (default: the preset's)")
	width := fs.Int("width", 0, "panel width in pixels (default: the preset's)")
	height := fs.Int("height", 0, "panel height in pixels (default: the preset's)")
	rows := fs.Int("rows", 0, "board rows per panel (default: the preset's)")
	cols := fs.Int("cols", 0, "board columns per panel (default: the preset's)")
	seed := fs.Int64("seed", 0, "seed of the design, lighting, noise and defects (default: the preset's, 42)")
	maxDefects := fs.Int("max-defects", 0, "most defects on one defective panel (default 3)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "panels generated at once")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hisir synth: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "hisir synth: --out is required")
		fs.Usage()
		return errUsage
	}
	p, err := synth.LookupPreset(*preset)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := p.Config
	if set["width"] {
		cfg.Width = *width
	}
	if set["height"] {
		cfg.Height = *height
	}
	if set["rows"] {
		cfg.Rows = *rows
	}
	if set["cols"] {
		cfg.Cols = *cols
	}
	if set["seed"] {
		cfg.Seed = *seed
	}
	cfg.MaxDefects = *maxDefects
	if err := cfg.Validate(); err != nil {
		return err
	}
	counts := [3]int{p.Train, p.Defective, p.DefectFree}
	for i, name := range []string{"train", "defective", "defect-free"} {
		v := []int{*train, *defective, *defectFree}[i]
		if !set[name] {
			continue
		}
		if v < 0 {
			return fmt.Errorf("%w: --%s %d is negative", synth.ErrConfig, name, v)
		}
		counts[i] = v
	}
	if counts[0]+counts[1]+counts[2] == 0 {
		return fmt.Errorf("%w: nothing to generate (all splits are empty)", synth.ErrConfig)
	}
	if *workers < 1 {
		return fmt.Errorf("%w: --workers %d must be at least 1", synth.ErrConfig, *workers)
	}

	var jobs []synthJob
	for i := 0; i < counts[0]; i++ {
		jobs = append(jobs, synthJob{sipcba.Train, fmt.Sprintf("train_%04d", i), synthTrainBase + i, false})
	}
	for i := 0; i < counts[1]; i++ {
		jobs = append(jobs, synthJob{sipcba.Test, fmt.Sprintf("test_%04d", i), synthDefectiveBase + i, true})
	}
	for i := 0; i < counts[2]; i++ {
		jobs = append(jobs, synthJob{sipcba.DefectFree, fmt.Sprintf("defect_free_%04d", i), synthDefectFreeBase + i, false})
	}

	w, err := sipcba.Create(*out, sipcba.Info{
		Provenance: fmt.Sprintf("hisir synth --preset %s: %dx%d panels of %dx%d boards, seed %d",
			p.Name, cfg.Width, cfg.Height, cfg.Rows, cfg.Cols, cfg.Seed),
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	start := time.Now()
	res := synthResult{Out: *out, Preset: p.Name, Width: cfg.Width, Height: cfg.Height, Rows: cfg.Rows,
		Cols: cfg.Cols, Seed: cfg.Seed, Train: counts[0], Defective: counts[1], DefectFree: counts[2],
		PerClass: map[string]int{}}
	var (
		mu       sync.Mutex
		done     int
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan synthJob)
	for k := 0; k < min(*workers, len(jobs)); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				err := synthOne(w, cfg, j, &mu, &res)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				done++
				fmt.Fprintf(stderr, "synth [%*d/%d] %s/%s  %.1fs\n", len(fmt.Sprint(len(jobs))), done, len(jobs),
					j.split, j.name, time.Since(start).Seconds())
				mu.Unlock()
			}
		}()
	}
feed:
	for _, j := range jobs {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = errors.New("interrupted")
	}
	if firstErr != nil {
		if aerr := w.Abort(); aerr != nil {
			return fmt.Errorf("%w (and removing the partial dataset failed: %v)", firstErr, aerr)
		}
		return fmt.Errorf("%w; nothing was written to %s", firstErr, *out)
	}
	if err := w.Commit(); err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "wrote %s: %d train, %d defective (+twins, %d defects), %d defect-free panels of %dx%d in %.1fs\n",
		*out, res.Train, res.Defective, res.Defects, res.DefectFree, cfg.Width, cfg.Height, res.Seconds)
	return nil
}

// synthOne generates one panel and adds it to the dataset.
func synthOne(w *sipcba.Writer, cfg synth.Config, j synthJob, mu *sync.Mutex, res *synthResult) error {
	p, err := synth.Generate(cfg, j.index, j.defect)
	if err != nil {
		return fmt.Errorf("generate %s: %w", j.name, err)
	}
	s := sipcba.Sample{Split: j.split, Name: j.name, Image: p.Image}
	if j.defect {
		s.Twin = p.Twin
		for i, d := range p.Defects {
			s.Defects = append(s.Defects, sipcba.Defect{ID: i + 1, Class: sipcba.Class(d.Class), Polygon: d.Polygon})
		}
	}
	if err := w.Add(s); err != nil {
		return err
	}
	mu.Lock()
	for _, d := range p.Defects {
		res.Defects++
		res.PerClass[d.Class]++
	}
	mu.Unlock()
	return nil
}
