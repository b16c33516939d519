package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hisirdesk/hisir/engine/inject"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

func init() {
	register(command{
		name:    "import",
		summary: "build a SIPCBA dataset from MVTec, VisA, LabelMe, COCO, DeepPCB or by defect injection",
		run:     runImport,
	})
}

// importSources lists the --from values.
var importSources = []string{"mvtec", "visa", "labelme", "coco", "deeppcb", "inject"}

// importResult is the --json summary of an import.
type importResult struct {
	From          string         `json:"from"`
	Source        string         `json:"source"`
	Out           string         `json:"out"`
	Train         int            `json:"train"`
	TestGood      int            `json:"test_good"`
	TestDefective int            `json:"test_defective"`
	DefectFree    int            `json:"defect_free"`
	Twins         int            `json:"twins"`
	Defects       int            `json:"defects"`
	ImageLabels   int            `json:"image_labels"` // defective test images without a mask (--image-labels)
	PerClass      map[string]int `json:"per_class"`
	Classes       []string       `json:"classes"`
	Problems      []string       `json:"problems"`
	Seconds       float64        `json:"seconds"`
}

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "--from "+strings.Join(importSources, "|")+" SRC --out DATASET [flags]\n       hisir import --check DATASET [--json]", stderr)
	from := fs.String("from", "", "source format: "+strings.Join(importSources, ", ")+
		"\n(mvtec: category folder; visa: VisA root or split CSV; labelme: folder of *.json;\ncoco: the JSON file; deeppcb: folder holding PCBData; inject: folder of normal photos)")
	out := fs.String("out", "", "dataset folder to create (must not exist)")
	name := fs.String("name", "", "dataset name (default: the folder's name)")
	seed := fs.Int64("seed", 42, "inject: seed; the same seed gives the same dataset")
	perImage := fs.Int("per-image", 5, "inject: defective copies per normal photo")
	defects := fs.Int("defects", 1, "inject: defects per copy")
	limit := fs.Int("limit", 0, "use only the first N source images (0: all)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "images processed at once")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	imageLabels := fs.Bool("image-labels", false, "mvtec, visa: keep an anomalous test image whose mask is missing as an image-level label\n(no mask, no polygons; evaluated for image AUROC only); without it a missing mask is an error")
	check := fs.Bool("check", false, "only validate the dataset SRC and list its problems (no --from, no --out)")
	// Flags may come before and after SRC.
	var pos []string
	rest := args
	for {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	usageErr := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "hisir import: "+format+"\n", a...)
		fs.Usage()
		return errUsage
	}
	if *check {
		if len(pos) != 1 {
			return usageErr("--check wants exactly one dataset folder, got %d", len(pos))
		}
		return checkDataset(pos[0], *asJSON, stdout)
	}
	switch {
	case *from == "":
		return usageErr("--from is required")
	case !slices.Contains(importSources, *from):
		return usageErr("unknown --from %q, want one of %s", *from, strings.Join(importSources, ", "))
	case len(pos) != 1:
		return usageErr("want exactly one SRC, got %d", len(pos))
	case *out == "":
		return usageErr("--out is required")
	case *imageLabels && *from != "mvtec" && *from != "visa":
		return usageErr("--image-labels is for --from mvtec and visa, not %s", *from)
	}
	src := pos[0]
	start := time.Now()
	printer := progressPrinter(stderr, "import "+*from)
	lastTotal := 0
	progress := func(done, total int, item string) { lastTotal = total; printer(done-1, total, item) }
	// Ctrl-C stops the import; the half-written dataset is removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := sipcba.ImportOptions{Name: *name, Limit: *limit, Workers: *workers, Progress: progress, Context: ctx,
		Provenance: "hisir import --from " + *from, ImageLabels: *imageLabels}
	if *imageLabels {
		opt.Provenance += " --image-labels"
	}
	var (
		d   *sipcba.Dataset
		err error
	)
	switch *from {
	case "mvtec":
		d, err = sipcba.ImportMVTec(src, *out, opt)
	case "visa":
		d, err = sipcba.ImportVisA(src, *out, opt)
	case "labelme":
		d, err = sipcba.ImportLabelMe(src, *out, opt)
	case "coco":
		d, err = sipcba.ImportCOCO(src, *out, opt)
	case "deeppcb":
		d, err = sipcba.ImportDeepPCB(src, *out, opt)
	case "inject":
		var normals []string
		if normals, err = inject.Normals(src); err == nil {
			if *limit > 0 && len(normals) > *limit {
				normals = normals[:*limit]
			}
			d, err = inject.Build(normals, *out, inject.Options{Seed: *seed, PerImage: *perImage, Defects: *defects,
				Name: *name, Workers: *workers, Progress: progress, Context: ctx})
		}
	}
	if err != nil {
		return err
	}
	c := d.Manifest.Counts
	printer(lastTotal, lastTotal, "")
	res := importResult{From: *from, Source: src, Out: *out, Train: c.Train, TestGood: c.TestGood,
		TestDefective: c.TestDefective, DefectFree: c.DefectFree, Twins: c.Twins, Defects: c.Defects,
		ImageLabels: c.ImageLabels, PerClass: map[string]int{}, Problems: []string{}}
	for k, v := range c.PerClass {
		res.PerClass[string(k)] = v
	}
	for _, ci := range d.Manifest.Classes {
		res.Classes = append(res.Classes, string(ci.Name))
	}
	for _, p := range sipcba.Validate(*out) {
		res.Problems = append(res.Problems, p.Error())
	}
	res.Seconds = time.Since(start).Seconds()
	if *asJSON {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: train %d, test good %d, test defective %d (twins %d), defect-free %d; %d defects",
			*out, res.Train, res.TestGood, res.TestDefective, res.Twins, res.DefectFree, res.Defects)
		keys := make([]string, 0, len(res.PerClass))
		for k := range res.PerClass {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			sep := ", "
			if i == 0 {
				sep = " ("
			}
			fmt.Fprintf(stdout, "%s%s %d", sep, k, res.PerClass[k])
		}
		if len(keys) > 0 {
			fmt.Fprint(stdout, ")")
		}
		if res.ImageLabels > 0 {
			fmt.Fprintf(stdout, "; %d image-level labels without a mask", res.ImageLabels)
		}
		fmt.Fprintf(stdout, "; %.1f s\n", res.Seconds)
		for _, p := range res.Problems {
			fmt.Fprintln(stdout, "problem:", p)
		}
	}
	if len(res.Problems) > 0 {
		return errors.New("the imported dataset does not validate (see the problems above)")
	}
	return nil
}

// checkResult is the --json output of import --check.
type checkResult struct {
	Dataset  string   `json:"dataset"`
	Valid    bool     `json:"valid"`
	Problems []string `json:"problems"`
}

// checkDataset validates a dataset and lists every problem with its file.
func checkDataset(dir string, asJSON bool, stdout io.Writer) error {
	res := checkResult{Dataset: dir, Problems: []string{}}
	for _, p := range sipcba.Validate(dir) {
		res.Problems = append(res.Problems, p.Error())
	}
	res.Valid = len(res.Problems) == 0
	if asJSON {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintln(stdout, "problem:", p)
		}
		if res.Valid {
			fmt.Fprintf(stdout, "%s: valid sipcba dataset\n", dir)
		}
	}
	if !res.Valid {
		return fmt.Errorf("%s: %d problems", dir, len(res.Problems))
	}
	return nil
}
