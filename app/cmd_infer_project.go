package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/hisirdesk/hisir/store"
)

// inferProjectSummary is the --json output of hisir infer --project.
type inferProjectSummary struct {
	Project  string `json:"project"`
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Imported int    `json:"imported"` // new images (the others were already in the project)
	Run      int    `json:"run"`      // images run now; images with results are not run again
	Flagged  int    `json:"flagged"`  // of the given images, those with pending detections
	Clean    int    `json:"clean"`
}

// inferProject is the batch-inference writer of a review project: the line PC runs it,
// inspectors review the results in the app. It is resumable: a second call runs only the
// images that still have no results. The project's global threshold for the model is used,
// or set by --threshold.
func inferProject(ctx context.Context, c inferConfig, stdout, stderr io.Writer) error {
	model := c.model
	if model == "" {
		p, err := defaultModelPath()
		if err != nil {
			return err
		}
		model = p
	}
	b, err := openBackend(ctx, c.project, model)
	if err != nil {
		return err
	}
	defer b.Close()
	b.source = "cli"
	if c.threshold.set {
		if err := b.SaveThreshold(ctx, c.threshold.v); err != nil {
			return err
		}
	}
	added, err := b.ImportFiles(ctx, c.images)
	if err != nil {
		return fmt.Errorf("import into %s: %w", c.project, err)
	}
	want := map[string]bool{}
	for _, p := range c.images {
		if abs, err := filepath.Abs(p); err == nil {
			want[abs] = true
		}
	}
	ims, err := b.st.Images(ctx, store.ImageFilter{})
	if err != nil {
		return err
	}
	given := map[int64]bool{}
	for _, im := range ims {
		if want[im.Path] {
			given[im.ID] = true
		}
	}
	notRun, err := b.notRun(ctx)
	if err != nil {
		return err
	}
	var ids []int64
	for _, id := range notRun {
		if given[id] {
			ids = append(ids, id)
		}
	}
	fmt.Fprintf(stderr, "project %s: %d images given, %d new, %d to run with %s (threshold %.3g)\n",
		c.project, len(given), added, len(ids), b.info.Name, b.Threshold())
	pr := progressPrinter(stderr, "infer")
	if err := b.RunBatch(ctx, ids, func(done, total int) {
		name := "" // "" marks the end
		if done < total {
			name = fmt.Sprintf("image %d done", done)
		}
		pr(done-1, total, name)
	}); err != nil {
		return err
	}
	sums, err := b.st.Summaries(ctx)
	if err != nil {
		return err
	}
	s := inferProjectSummary{Project: c.project, Model: b.info.Name, Provider: b.info.Provider, Imported: added, Run: len(ids)}
	for _, sm := range sums {
		if !given[sm.ImageID] {
			continue
		}
		switch sm.State {
		case store.Flagged:
			s.Flagged++
		case store.Clean:
			s.Clean++
		}
	}
	if c.json {
		return writeJSON(stdout, s)
	}
	fmt.Fprintf(stdout, "%s: %d images run, %d flagged, %d clean; open it with: hisir --project %s\n",
		c.project, s.Run, s.Flagged, s.Clean, c.project)
	return nil
}
