package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/evaluate"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

func init() {
	register(command{
		name:    "eval",
		summary: "score a model (and baselines) on a SIPCBA dataset: the paper's table",
		run:     runEval,
	})
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "[flags] DATASET", stderr)
	var mf modelFlags
	fs.StringVar(&mf.path, "model", "", "ONNX model (default "+defaultModel+")")
	fs.StringVar(&mf.provider, "provider", "auto", "execution provider: auto, cpu or cuda")
	fs.IntVar(&mf.threads, "threads", 0, "intra-op threads (0: ONNX Runtime's choice)")
	fs.IntVar(&mf.batch, "batch", 32, "patches per model call")
	methods := fs.String("method", "hisir", "methods, comma-separated: hisir, golden (golden-template baseline), all")
	goldenRef := fs.String("golden-ref", "train", "golden-template reference: twin (each image's registered twin) or train (the first train image, a golden board)")
	merge := fs.String("merge", "", "override the merge: rops, average or none (ablation)")
	cellStat := fs.String("cell-stat", "", "override the ROPS cell statistic: max or mean")
	threshold := fs.Float64("threshold", 0, "global threshold for the defect metrics (0: best F1 of the sweep, reported as such)")
	minArea := fs.Int("min-area", 16, "drop predicted defects under this many pixels")
	limit := fs.Int("limit", 0, "at most this many images per split (0: all)")
	plots := fs.String("plots", "", "write threshold-curve PNGs into this folder")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	ds, err := sipcba.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	want := map[string]bool{}
	for _, m := range strings.Split(*methods, ",") {
		switch m = strings.TrimSpace(m); m {
		case "all":
			want["hisir"], want["golden"] = true, true
		case "hisir", "golden":
			want[m] = true
		default:
			return fmt.Errorf("unknown method %q (want hisir, golden or all)", m)
		}
	}
	var ms []evaluate.Method
	if want["hisir"] {
		m, err := mf.open()
		if err != nil {
			return err
		}
		defer m.Close()
		info := m.Info()
		o := calibratedOptions(info, mf.batch)
		if *merge != "" {
			o.Merge = *merge
		}
		if *cellStat != "" {
			o.CellStat = *cellStat
		}
		p, err := engine.NewPipeline(m, o)
		if err != nil {
			return err
		}
		label := fmt.Sprintf("hisir %s [%s/%s]", info.Name, o.Merge, o.CellStat)
		fmt.Fprintf(stderr, "model: %s\n", describeModel(info))
		ms = append(ms, &evaluate.HiSIR{Label: label, Pipeline: p, Info: info})
	}
	if want["golden"] {
		g := &evaluate.Golden{Options: evaluate.DefaultGoldenOptions(), BlurSigma: engine.DefaultOptions().BlurSigma}
		switch *goldenRef {
		case "twin":
			g.UseTwin = true
		case "train":
		default:
			return fmt.Errorf("--golden-ref %q: want twin or train", *goldenRef)
		}
		if tr := ds.Items(sipcba.Train); len(tr) > 0 {
			if g.Reference, err = engine.Decode(tr[0].Image); err != nil {
				return err
			}
		} else if !g.UseTwin {
			return fmt.Errorf("--golden-ref train: dataset %s has no train image", ds.Dir)
		}
		ms = append(ms, g)
	}

	var reports []*evaluate.Report
	for _, m := range ms {
		cfg := evaluate.Config{Threshold: float32(*threshold), MinArea: *minArea, Limit: *limit,
			Progress: progressPrinter(stderr, m.Name())}
		r, err := evaluate.Run(ctx, ds, m, cfg)
		if err != nil {
			return err
		}
		reports = append(reports, r)
		if *plots != "" {
			if err := os.MkdirAll(*plots, 0o755); err != nil {
				return err
			}
			name := strings.NewReplacer(" ", "_", "/", "-", "[", "", "]", "", "(", "", ")", "").Replace(m.Name())
			if err := evaluate.SaveCurvePlot(filepath.Join(*plots, name+"_threshold.png"), r); err != nil {
				return err
			}
		}
	}
	if *asJSON {
		if len(reports) == 1 {
			return writeJSON(stdout, reports[0])
		}
		return writeJSON(stdout, reports)
	}
	printTable(stdout, reports)
	return nil
}

func printTable(w io.Writer, rs []*evaluate.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tpixel AUROC\tAUPRO\tdefect P\tdefect R\tFP/defect-free img\timage AUROC\ts/image\tthreshold\t")
	f := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%.4f", *v)
	}
	for _, r := range rs {
		th := fmt.Sprintf("%.3g (%s)", r.Threshold, r.ThresholdRule)
		if r.ThresholdRule == "" {
			th = "–" // no masks (image-level labels only): no defect metrics, no threshold
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t\n", r.Method, f(r.PixelAUROC), f(r.AUPRO),
			f(r.DefectPrecision), f(r.DefectRecall), f(r.FPPerDefectFreeImage), f(r.ImageAUROC), r.SecondsPerImage, th)
	}
	tw.Flush()
}
