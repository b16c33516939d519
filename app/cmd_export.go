package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/sipcba"
	"github.com/hisirdesk/hisir/store"
)

func init() {
	register(command{
		name:    "export",
		summary: "export a project's reviewed images and defects (SIPCBA, MVTec, COCO or LabelMe)",
		run:     runExport,
	})
}

// exportFormats maps each --format to the top-level paths of a SIPCBA dataset it keeps;
// nil keeps everything (the SIPCBA dataset itself).
var exportFormats = map[string][]string{
	"sipcba":  nil,
	"mvtec":   {"train", "test", "ground_truth"},
	"coco":    {"train", "test", "defect_free", "annotations/coco_train.json", "annotations/coco_test.json", "annotations/coco_defect_free.json"},
	"labelme": {"train", "test", "defect_free", "annotations/labelme"},
}

// unclassified is the class of accepted detections and labels without one.
const unclassified sipcba.Class = "anomaly"

// exportResult is the --json summary of an export.
type exportResult struct {
	Out        string         `json:"out"`
	Format     string         `json:"format"`
	Project    string         `json:"project"`
	Images     int            `json:"images"`
	Train      int            `json:"train"`
	TestGood   int            `json:"test_good"`
	Defective  int            `json:"test_defective"`
	DefectFree int            `json:"defect_free"`
	Defects    int            `json:"defects"`
	PerClass   map[string]int `json:"per_class"`
	// Unreviewed images (pending detections, or never inspected and not in a split) are left out.
	SkippedUnreviewed int `json:"skipped_unreviewed"`
}

// exportItem is one project image planned into the dataset.
type exportItem struct {
	img     store.Image
	split   sipcba.Split
	name    string
	defects []sipcba.Defect
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "--project P --format sipcba|mvtec|coco|labelme --out DIR [--json]", stderr)
	project := fs.String("project", "", "project database (.hisir)")
	format := fs.String("format", "sipcba", "sipcba (full dataset), mvtec (train/test/ground_truth), coco or labelme")
	out := fs.String("out", "", "folder to create (must not exist)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "hisir export: unexpected argument %q\n", fs.Arg(0))
	case *project == "":
		fmt.Fprintln(stderr, "hisir export: --project is required")
	case *out == "":
		fmt.Fprintln(stderr, "hisir export: --out is required")
	default:
		if _, ok := exportFormats[*format]; !ok {
			fmt.Fprintf(stderr, "hisir export: unknown --format %q (sipcba, mvtec, coco or labelme)\n", *format)
			break
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		var progress io.Writer
		if !*asJSON {
			progress = stderr
		}
		res, err := exportProject(ctx, *project, *format, *out, progress)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, res)
		}
		fmt.Fprintf(stdout, "exported %d images (%d train, %d good, %d defective with %d defects, %d defect-free) as %s to %s; %d unreviewed images left out\n",
			res.Images, res.Train, res.TestGood, res.Defective, res.Defects, res.DefectFree, res.Format, res.Out, res.SkippedUnreviewed)
		return nil
	}
	fs.Usage()
	return errUsage
}

// exportProject writes the reviewed images of a project as a dataset: accepted detections
// and live labels become defects, rejected detections never. The dataset appears at out
// complete or not at all.
func exportProject(ctx context.Context, project, format, out string, progress io.Writer) (*exportResult, error) {
	keep, ok := exportFormats[format]
	if !ok {
		return nil, fmt.Errorf("unknown export format %q", format)
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("export to %s: %w", out, sipcba.ErrExists)
	}
	s, err := store.OpenExisting(project)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	items, classes, skipped, err := planExport(ctx, s)
	if err != nil {
		return nil, err
	}
	res := &exportResult{Out: out, Format: format, Project: s.Path(), SkippedUnreviewed: skipped, PerClass: map[string]int{}}
	dest := out
	if keep != nil { // build the SIPCBA dataset beside out, keep the format's part, then rename
		var rnd [6]byte
		rand.Read(rnd[:])
		dest = filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".export-"+hex.EncodeToString(rnd[:]))
	}
	w, err := sipcba.Create(dest, sipcba.Info{
		Name:          strings.TrimSuffix(filepath.Base(s.Path()), filepath.Ext(s.Path())),
		Provenance:    "hisir export --format " + format + " of project " + s.Path(),
		Classes:       classes,
		TwinsOptional: true,
	})
	if err != nil {
		return nil, fmt.Errorf("export to %s: %w", out, err)
	}
	if err := addSamples(ctx, w, items, progress); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Commit(); err != nil {
		return nil, fmt.Errorf("export to %s: %w", out, err)
	}
	if keep != nil {
		if err := pruneDataset(dest, keep); err != nil {
			os.RemoveAll(dest)
			return nil, fmt.Errorf("export to %s: %w", out, err)
		}
		if err := os.Rename(dest, out); err != nil {
			os.RemoveAll(dest)
			return nil, fmt.Errorf("export to %s: %w", out, err)
		}
	}
	for _, it := range items {
		res.Images++
		switch {
		case it.split == sipcba.Train:
			res.Train++
		case it.split == sipcba.DefectFree:
			res.DefectFree++
		case len(it.defects) == 0:
			res.TestGood++
		default:
			res.Defective++
		}
		for _, d := range it.defects {
			res.Defects++
			res.PerClass[string(d.Class)]++
		}
	}
	return res, nil
}

// planExport decides the split, name and defects of every reviewed image.
func planExport(ctx context.Context, s *store.Store) (items []exportItem, custom []sipcba.Class, skipped int, err error) {
	images, err := s.Images(ctx, store.ImageFilter{})
	if err != nil {
		return nil, nil, 0, err
	}
	sums, err := s.Summaries(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	state := make(map[int64]store.ImageState, len(sums))
	for _, m := range sums {
		state[m.ImageID] = m.State
	}
	builtin := map[sipcba.Class]bool{}
	for _, c := range sipcba.BuiltinClasses {
		builtin[c] = true
	}
	customSet := map[sipcba.Class]bool{}
	usedNames := map[string]bool{}
	for _, im := range images {
		st := state[im.ID]
		if st == store.Flagged {
			skipped++
			continue
		}
		var defects []sipcba.Defect
		dets, err := s.Detections(ctx, im.ID, 0)
		if err != nil {
			return nil, nil, 0, err
		}
		for _, d := range dets {
			if d.Status == store.Accepted {
				defects = append(defects, sipcba.Defect{ID: len(defects) + 1, Class: exportClass(d.Class), Polygon: d.Polygon})
			}
		}
		labels, err := s.Labels(ctx, im.ID)
		if err != nil {
			return nil, nil, 0, err
		}
		for _, l := range labels {
			defects = append(defects, sipcba.Defect{ID: len(defects) + 1, Class: exportClass(l.Class), Polygon: l.Polygon})
		}
		split := sipcba.Test
		switch {
		case len(defects) > 0:
		case im.Split == "train":
			split = sipcba.Train
		case im.Split == "defect_free":
			split = sipcba.DefectFree
		case st == store.NotRun:
			skipped++
			continue
		}
		for _, d := range defects {
			if !builtin[d.Class] && !customSet[d.Class] {
				customSet[d.Class] = true
				custom = append(custom, d.Class)
			}
		}
		items = append(items, exportItem{img: im, split: split, name: exportName(im, usedNames), defects: defects})
	}
	sort.Slice(custom, func(i, j int) bool { return custom[i] < custom[j] })
	return items, custom, skipped, nil
}

// exportClass maps a project class to a SIPCBA class name (^[a-z][a-z0-9_]{0,63}$).
func exportClass(c string) sipcba.Class {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(c)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	switch {
	case name == "":
		return unclassified
	case name[0] < 'a' || name[0] > 'z', name == "good", name == "defective":
		name = "c_" + name
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return sipcba.Class(name)
}

// exportName is a unique SIPCBA stem from the image's file name.
func exportName(im store.Image, used map[string]bool) string {
	base := strings.TrimSuffix(filepath.Base(im.Path), filepath.Ext(im.Path))
	var b strings.Builder
	for _, r := range base {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), "._-")
	if len(name) > 150 {
		name = name[:150]
	}
	if name == "" || strings.HasSuffix(name, "_mask") || used[strings.ToLower(name)] {
		name = fmt.Sprintf("img%d_%s", im.ID, name)
		name = strings.TrimSuffix(name, "_")
	}
	used[strings.ToLower(name)] = true
	return name
}

// addSamples loads and adds the images with a few workers; the first error stops the rest.
func addSamples(ctx context.Context, w *sipcba.Writer, items []exportItem, progress io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan exportItem)
	var mu sync.Mutex
	var firstErr error
	done := 0
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for k := 0; k < max(1, min(runtime.GOMAXPROCS(0), 4)); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				img, err := loadVerified(it.img)
				if err == nil {
					err = w.Add(sipcba.Sample{Split: it.split, Name: it.name, Image: img, Defects: it.defects})
					if err != nil {
						err = fmt.Errorf("export image %d (%s): %w", it.img.ID, it.img.Path, err)
					}
				}
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				done++
				if progress != nil {
					fmt.Fprintf(progress, "\rexport: %d/%d images", done, len(items))
					if done == len(items) {
						fmt.Fprintln(progress)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, it := range items {
		select {
		case jobs <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// loadVerified reads an image file, checks it is the content imported into the project and
// decodes it upright (EXIF orientation applied, the frame the detections are in).
func loadVerified(im store.Image) (image.Image, error) {
	data, err := os.ReadFile(im.Path)
	if err != nil {
		return nil, fmt.Errorf("export image %d: %w", im.ID, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != im.Hash {
		return nil, fmt.Errorf("export image %d: %s changed since it was imported (sha256 differs)", im.ID, im.Path)
	}
	img, _, err := engine.DecodeImage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("export image %d: decode %s: %w", im.ID, im.Path, err)
	}
	return img, nil
}

// pruneDataset removes everything under dir that is not one of keep (paths relative to dir,
// '/'-separated) or inside one of them.
func pruneDataset(dir string, keep []string) error {
	keepSet := map[string]bool{}
	for _, k := range keep {
		keepSet[k] = true
		for p := filepath.Dir(filepath.FromSlash(k)); p != "."; p = filepath.Dir(p) {
			keepSet[filepath.ToSlash(p)+"/"] = true // ancestor folders: descend, don't keep whole
		}
	}
	var prune func(rel string) error
	prune = func(rel string) error {
		entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := e.Name()
			if rel != "" {
				p = rel + "/" + p
			}
			switch {
			case keepSet[p]:
			case keepSet[p+"/"] && e.IsDir():
				if err := prune(p); err != nil {
					return err
				}
			default:
				if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := prune(""); err != nil {
		return fmt.Errorf("prune %s: %w", dir, err)
	}
	return nil
}
