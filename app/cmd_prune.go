package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hisirdesk/hisir/store"
)

func init() {
	register(command{
		name:    "prune",
		summary: "free a project's space: delete images removed long enough ago, then unreferenced score maps",
		run:     runPrune,
	})
}

// pruneResult is the --json summary of a prune.
type pruneResult struct {
	Project     string `json:"project"`
	OlderThan   string `json:"older_than"`
	Purged      int    `json:"purged_images"`
	BlobFiles   int    `json:"blob_files_removed"`
	BytesFreed  int64  `json:"bytes_freed"`
	StillListed int    `json:"images_in_project"`
}

func runPrune(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("prune", "--project P [--older-than 720h] [--json]", stderr)
	project := fs.String("project", "", "project database (.hisir), required")
	older := fs.Duration("older-than", 30*24*time.Hour, "only images removed at least this long ago (0: every removed image)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *project == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if *older < 0 {
		return fmt.Errorf("--older-than %v must not be negative", *older)
	}
	st, err := store.OpenExisting(*project)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	n, err := st.PurgeRemoved(ctx, *older)
	if err != nil {
		return err
	}
	// A blob younger than a minute may belong to a map being written by another program.
	files, freed, err := st.PruneBlobs(ctx, time.Minute)
	if err != nil {
		return fmt.Errorf("purged %d images, then: %w", n, err)
	}
	ims, err := st.Images(ctx, store.ImageFilter{})
	if err != nil {
		return err
	}
	r := pruneResult{Project: *project, OlderThan: older.String(), Purged: n, BlobFiles: files, BytesFreed: freed, StillListed: len(ims)}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "%s: deleted %d removed images (removed %s or more ago) and %d unreferenced score-map files (%.1f MB); %d images in the project\n",
		r.Project, r.Purged, r.OlderThan, r.BlobFiles, float64(r.BytesFreed)/1e6, r.StillListed)
	return nil
}
