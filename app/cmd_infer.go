package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/ortmodel"
	"github.com/hisirdesk/hisir/engine/render"
)

func init() {
	register(command{
		name:    "infer",
		summary: "find defects in board photos: anomaly map, overlay and defect list per image",
		run:     runInfer,
	})
}

// Normalisations of the anomaly map (docs/model-contract.md, step 6).
const (
	normMinMax     = "minmax"
	normCalibrated = "calibrated"
)

// inferConfig holds the parsed flags of hisir infer.
type inferConfig struct {
	model, out, norm, merge, provider, colormap string
	threshold                                   optFloat
	opacity                                     float64
	minArea, batch, threads                     int
	json                                        bool
	project                                     string
	images                                      []string
}

// optFloat is a float flag that knows whether it was given.
type optFloat struct {
	v   float64
	set bool
}

func (f *optFloat) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatFloat(f.v, 'g', -1, 64)
}

func (f *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	f.v, f.set = v, true
	return nil
}

// inferDefect is one defect in <stem>_defects.json.
type inferDefect struct {
	ID      int          `json:"id"`
	Box     jsonRect     `json:"box"`
	Area    int          `json:"area"`
	Peak    float32      `json:"peak"`
	Mean    float32      `json:"mean"`
	Polygon geom.Polygon `json:"polygon"`
}

type jsonRect struct {
	X0 int `json:"x0"`
	Y0 int `json:"y0"`
	X1 int `json:"x1"`
	Y1 int `json:"y1"`
}

type inferModel struct {
	Name       string `json:"name"`
	Path       string `json:"path"`
	Provider   string `json:"provider"`
	PatchSize  int    `json:"patch_size"`
	Calibrated bool   `json:"calibrated"`
}

type inferSettings struct {
	Norm      string  `json:"norm"`
	Threshold float64 `json:"threshold"`
	MinArea   int     `json:"min_area"`
	Merge     string  `json:"merge"`
	CellStat  string  `json:"cell_stat"`
	Reduce    string  `json:"reduce"`
	BlurSigma float64 `json:"blur_sigma"`
	TDiff     float64 `json:"t_diff"`
	Batch     int     `json:"batch"`
	// MapScale relates the 16-bit map to scores: score = pixel / 65535 × map_scale.
	MapScale float64 `json:"map_scale"`
}

type inferTimings struct {
	Decode  float64 `json:"decode"`
	Tile    float64 `json:"tile"`
	Model   float64 `json:"model"`
	Merge   float64 `json:"merge"`
	Map     float64 `json:"map"`
	Defects float64 `json:"defects"`
	Render  float64 `json:"render"`
	Write   float64 `json:"write"`
	Total   float64 `json:"total"`
}

// inferReport is the content of <stem>_defects.json.
type inferReport struct {
	Image     string        `json:"image"`
	Width     int           `json:"width"`
	Height    int           `json:"height"`
	Model     inferModel    `json:"model"`
	Settings  inferSettings `json:"settings"`
	Patches   int           `json:"patches"`
	RawMin    float32       `json:"raw_min"`
	RawMax    float32       `json:"raw_max"`
	MaxScore  float32       `json:"max_score"`
	Defects   []inferDefect `json:"defects"`
	TimingsMS inferTimings  `json:"timings_ms"`
}

// inferSummary is one element of the --json output.
type inferSummary struct {
	Image     string  `json:"image"`
	Map       string  `json:"map,omitempty"`
	Overlay   string  `json:"overlay,omitempty"`
	DefectsAt string  `json:"defects_file,omitempty"`
	Defects   int     `json:"defects"`
	MaxScore  float32 `json:"max_score"`
	Model     string  `json:"model"`
	Provider  string  `json:"provider"`
	TotalMS   float64 `json:"total_ms"`
	Error     string  `json:"error,omitempty"`
}

func runInfer(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("infer", "[flags] IMAGE...", stderr)
	var c inferConfig
	fs.StringVar(&c.model, "model", "", "ONNX model (default "+defaultModel+" beside the executable or in the repository)")
	fs.StringVar(&c.out, "out", ".", "output folder, created if missing")
	fs.StringVar(&c.norm, "norm", "", "map normalisation: minmax or calibrated (default calibrated when the model has a calibration, else minmax)")
	fs.Var(&c.threshold, "threshold", "defect threshold on the normalised `score` (default: calibrated, the score of the largest normal pixel seen in calibration; minmax 0.5)")
	fs.IntVar(&c.minArea, "min-area", 16, "smallest defect kept, in pixels")
	fs.IntVar(&c.batch, "batch", 32, "patches per model run")
	fs.IntVar(&c.threads, "threads", 0, "inference threads (0: all cores)")
	fs.StringVar(&c.provider, "provider", ortmodel.ProviderAuto, "execution provider: auto, cpu or cuda")
	fs.StringVar(&c.merge, "merge", "", "patch merge: rops, average or none (default the calibration's, else rops)")
	fs.StringVar(&c.colormap, "colormap", "inferno", "overlay colormap: inferno, jet or grey")
	fs.Float64Var(&c.opacity, "opacity", 0.5, "heatmap opacity in the overlay, 0 to 1")
	fs.BoolVar(&c.json, "json", false, "print a JSON summary array on stdout")
	fs.StringVar(&c.project, "project", "", "write into this review project (created when missing) instead of files: images are imported, those without results are run, detections and score maps are stored for review in the app")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.images = fs.Args()
	if err := c.check(); err != nil {
		fmt.Fprintf(stderr, "hisir infer: %v\n", err)
		fs.Usage()
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if c.project != "" {
		return inferProject(ctx, c, stdout, stderr)
	}
	return infer(ctx, c, stdout, stderr)
}

func (c *inferConfig) check() error {
	switch {
	case len(c.images) == 0:
		return errors.New("no IMAGE given")
	case c.norm != "" && c.norm != normMinMax && c.norm != normCalibrated:
		return fmt.Errorf("--norm %q: want minmax or calibrated", c.norm)
	case c.merge != "" && c.merge != engine.MergeROPS && c.merge != engine.MergeAverage && c.merge != engine.MergeNone:
		return fmt.Errorf("--merge %q: want rops, average or none", c.merge)
	case c.provider != ortmodel.ProviderAuto && c.provider != ortmodel.ProviderCPU && c.provider != ortmodel.ProviderCUDA:
		return fmt.Errorf("--provider %q: want auto, cpu or cuda", c.provider)
	case c.batch < 1:
		return fmt.Errorf("--batch %d: want at least 1", c.batch)
	case c.threads < 0:
		return fmt.Errorf("--threads %d: want 0 or more", c.threads)
	case c.minArea < 0:
		return fmt.Errorf("--min-area %d: want 0 or more", c.minArea)
	case c.threshold.set && !(c.threshold.v >= 0 && c.threshold.v < math.Inf(1)):
		return fmt.Errorf("--threshold %g: want a number ≥ 0", c.threshold.v)
	case !(c.opacity >= 0 && c.opacity <= 1):
		return fmt.Errorf("--opacity %g: want 0 to 1", c.opacity)
	}
	if _, ok := render.ColormapByName(c.colormap); !ok {
		return fmt.Errorf("--colormap %q: want inferno, jet or grey", c.colormap)
	}
	return nil
}

// inferRun is what stays the same for every image of one invocation.
type inferRun struct {
	cfg      inferConfig
	info     engine.ModelInfo
	pipe     *engine.Pipeline
	settings inferSettings
	cmap     *render.Colormap
	stems    map[string]int
	progress io.Writer // a terminal for the live patch count, or nil
	// raw and score are reused from image to image: each is written to files before the
	// next image, and a fresh 4K map would cost thousands of page faults.
	raw, score *engine.Map
}

// terminal returns w when it is a character device (an interactive terminal), else nil.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return w
		}
	}
	return nil
}

// progressFunc prints "image: patches done/total" on one terminal line, at most every
// 200 ms; it returns nil (no progress) when there is no terminal.
func (r *inferRun) progressFunc(path string) func(done, total int) {
	if r.progress == nil {
		return nil
	}
	var last time.Time
	return func(done, total int) {
		if now := time.Now(); done == total || now.Sub(last) >= 200*time.Millisecond {
			last = now
			fmt.Fprintf(r.progress, "\r\033[K%s: patches %d/%d", filepath.Base(path), done, total)
			if done == total {
				fmt.Fprint(r.progress, "\r\033[K")
			}
		}
	}
}

func infer(ctx context.Context, c inferConfig, stdout, stderr io.Writer) error {
	if c.model == "" {
		p, err := defaultModelPath()
		if err != nil {
			return err
		}
		c.model = p
	}
	if abs, err := filepath.Abs(c.model); err == nil {
		c.model = abs
	}
	lib, err := libraryPath("")
	if err != nil {
		return err
	}
	m, err := ortmodel.Open(c.model, ortmodel.Options{LibraryPath: lib, Threads: c.threads, Provider: c.provider, MaxBatch: c.batch})
	if err != nil {
		return err
	}
	defer m.Close()
	info := m.Info()

	norm := c.norm
	if norm == "" {
		norm = normMinMax
		if info.Calibration != nil {
			norm = normCalibrated
		} else {
			fmt.Fprintf(stderr, "hisir infer: model %s has no calibration: scores are per-image min-max (run calibrate for a line-wide threshold)\n", info.Name)
		}
	}
	if norm == normCalibrated && info.Calibration == nil {
		return fmt.Errorf("--norm calibrated with model %s: %w", c.model, engine.ErrNoCalibration)
	}
	opts := engine.DefaultOptions()
	opts.BatchSize = c.batch
	if norm == normCalibrated {
		// Scores are only on the calibrated scale with the pipeline the calibration used.
		cal := info.Calibration
		opts.Merge, opts.CellStat, opts.Reduce, opts.BlurSigma = cal.Merge, cal.CellStat, cal.Reduce, cal.BlurSigma
		if c.merge != "" && c.merge != cal.Merge {
			fmt.Fprintf(stderr, "hisir infer: warning: model %s was calibrated with merge %q; --merge %s makes calibrated scores approximate\n", info.Name, cal.Merge, c.merge)
		}
	}
	if c.merge != "" {
		opts.Merge = c.merge
	}
	pipe, err := engine.NewPipeline(m, opts)
	if err != nil {
		return fmt.Errorf("model %s: %w", c.model, err)
	}
	opts = pipe.Options()
	threshold := c.threshold.v
	if !c.threshold.set {
		threshold = 0.5
		if norm == normCalibrated {
			threshold = engine.DefaultThreshold(info)
		}
	}
	mapScale := 1.0
	if norm == normCalibrated {
		mapScale = 2 * math.Max(threshold, 0.05) // the threshold sits mid-scale
	}
	cmap, _ := render.ColormapByName(c.colormap)
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	r := &inferRun{
		cfg: c, info: info, pipe: pipe, cmap: cmap, stems: map[string]int{}, progress: terminal(stderr),
		settings: inferSettings{
			Norm: norm, Threshold: threshold, MinArea: c.minArea, Merge: opts.Merge, CellStat: opts.CellStat,
			Reduce: opts.Reduce, BlurSigma: opts.BlurSigma, TDiff: pipe.TDiff(), Batch: opts.BatchSize, MapScale: mapScale,
		},
	}
	var summaries []inferSummary
	failed := 0
	for _, path := range c.images {
		s, err := r.one(ctx, path)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", path, ctx.Err())
			}
			failed++
			s.Error = err.Error()
			fmt.Fprintf(stderr, "hisir infer: %v\n", err)
		} else if !c.json {
			fmt.Fprintf(stdout, "%s: %d defects (max score %.3g) -> %s, %s, %s (%.2f s, %s)\n",
				path, s.Defects, s.MaxScore, s.Map, s.Overlay, s.DefectsAt, s.TotalMS/1000, info.Provider)
		}
		summaries = append(summaries, s)
	}
	if c.json {
		if err := writeJSON(stdout, summaries); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, len(c.images))
	}
	return nil
}

// stem returns a unique output stem for an image path (board.png → board, a second
// board.jpg → board_2).
func (r *inferRun) stem(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	r.stems[base]++
	if n := r.stems[base]; n > 1 {
		return fmt.Sprintf("%s_%d", base, n)
	}
	return base
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// one runs the model on one image and writes its three files.
func (r *inferRun) one(ctx context.Context, path string) (inferSummary, error) {
	start := time.Now()
	s := inferSummary{Image: path, Model: r.info.Name, Provider: r.info.Provider}
	img, err := engine.Decode(path)
	if err != nil {
		return s, err
	}
	var t inferTimings
	t.Decode = ms(time.Since(start))
	res, err := r.pipe.RunInto(ctx, img, r.raw, r.progressFunc(path))
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	r.raw = res.Raw
	t.Tile, t.Model, t.Merge, t.Map = ms(res.Timings.Tile), ms(res.Timings.Model), ms(res.Timings.Merge), ms(res.Timings.Map)

	t0 := time.Now()
	var score *engine.Map
	if r.settings.Norm == normCalibrated {
		if score, err = engine.CalibratedInto(r.score, res.Raw, r.info.Calibration); err != nil {
			return s, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		score = engine.MinMaxInto(r.score, res.Raw)
	}
	r.score = score
	defects := engine.FindDefects(score, float32(r.settings.Threshold), r.cfg.minArea)
	_, maxScore := score.Range()
	t.Defects = ms(time.Since(t0))

	t0 = time.Now()
	// The saved map and the overlay are on the display scale; score is not needed after
	// this, so it is rescaled in place (it is r.score, overwritten by the next image).
	shown := score
	if r.settings.MapScale != 1 {
		k := float32(1 / r.settings.MapScale)
		for i, v := range score.V {
			shown.V[i] = v * k
		}
	}
	overlay := img.ToNRGBA()
	render.BlendHeatmap(overlay, shown, r.cmap, r.cfg.opacity)
	render.Outlines(overlay, defects, render.DefectRed, 0)
	render.Labels(overlay, defects, color.White, 0)
	t.Render = ms(time.Since(t0))

	t0 = time.Now()
	stem := r.stem(path)
	mapPath := filepath.Join(r.cfg.out, stem+"_map.png")
	overlayPath := filepath.Join(r.cfg.out, stem+"_overlay.png")
	jsonPath := filepath.Join(r.cfg.out, stem+"_defects.json")
	if err := render.SaveMap16(mapPath, shown); err != nil {
		return s, err
	}
	s.Map = mapPath
	if err := render.SavePNG(overlayPath, overlay); err != nil {
		return s, err
	}
	s.Overlay = overlayPath
	rep := inferReport{
		Image: path, Width: img.W, Height: img.H, Patches: res.Patches,
		Model:    inferModel{Name: r.info.Name, Path: r.info.Path, Provider: r.info.Provider, PatchSize: r.info.PatchSize, Calibrated: r.info.Calibration != nil},
		Settings: r.settings, MaxScore: maxScore, Defects: make([]inferDefect, len(defects)),
	}
	rep.RawMin, rep.RawMax = res.Raw.Range()
	for i, d := range defects {
		rep.Defects[i] = inferDefect{ID: i + 1, Box: jsonRect{d.Box.X0, d.Box.Y0, d.Box.X1, d.Box.Y1}, Area: d.Area, Peak: d.Peak, Mean: d.Mean, Polygon: d.Polygon}
	}
	t.Write = ms(time.Since(t0)) // the JSON itself is small
	t.Total = ms(time.Since(start))
	rep.TimingsMS = t
	if err := writeFileAtomic(jsonPath, rep); err != nil {
		return s, err
	}
	s.DefectsAt, s.Defects, s.MaxScore, s.TotalMS = jsonPath, len(defects), maxScore, t.Total
	return s, nil
}

// writeFileAtomic writes v as indented JSON through a temporary file renamed to path.
func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}
