package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// visible describes what the project shows of its images: the listed ids, the summaries'
// ids and states, and the state counts.
func visible(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	ims, err := s.Images(ctx, ImageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, im := range ims {
		ids = append(ids, im.ID)
	}
	sums, err := s.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sumIDs []string
	for _, m := range sums {
		sumIDs = append(sumIDs, fmt.Sprintf("%d:%s", m.ImageID, m.State))
	}
	n, err := s.StateCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("images %v summaries %v counts %d/%d/%d/%d", ids, sumIDs, n[NotRun], n[Flagged], n[Reviewed], n[Clean])
}

// imageContent is everything stored for an image: detections of the run with decisions,
// live labels and the score map.
func imageContent(t *testing.T, f *fixture, id int64) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	ds, err := f.s.Detections(ctx, id, f.run)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		fmt.Fprintf(&b, "d%d=%s ", d.ID, d.Status)
	}
	ls, err := f.s.Labels(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		fmt.Fprintf(&b, "l%d=%s ", l.ID, l.Class)
	}
	m, err := f.s.Map(ctx, f.run, id, "score")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "map=%q", m)
	return b.String()
}

func TestRemoveImagesUndoRedo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 2)
	s := f.s
	a, b, c := f.images[0], f.images[1], f.images[2]
	if err := s.SetStatus(ctx, "ana", Accepted, f.dets[0]); err != nil { // a: one pending left → flagged
		t.Fatal(err)
	}
	if _, err := s.AddLabel(ctx, "ana", a, square, "solder_bridge"); err != nil {
		t.Fatal(err)
	}
	for _, id := range f.images {
		if err := s.PutMap(ctx, f.run, id, "score", []byte(fmt.Sprintf("scores of %d", id))); err != nil {
			t.Fatal(err)
		}
	}
	before := visible(t, s)
	contentA, contentB := imageContent(t, f, a), imageContent(t, f, b)

	if err := s.RemoveImages(ctx, "ana", a, b); err != nil {
		t.Fatal(err)
	}
	if got, want := visible(t, s), fmt.Sprintf("images [%d] summaries [%d:flagged] counts 0/1/0/0", c, c); got != want {
		t.Errorf("after remove: %s, want %s", got, want)
	}
	removed, err := s.Images(ctx, ImageFilter{Removed: true})
	if err != nil || len(removed) != 2 || removed[0].ID != a || removed[0].Removed.IsZero() {
		t.Errorf("removed images %+v, %v", removed, err)
	}
	if im, err := s.Image(ctx, a); err != nil || im.Removed.IsZero() {
		t.Errorf("Image(%d) of a removed image: %+v, %v", a, im, err)
	}
	// Nothing was deleted: results, labels and maps are there, and the blobs are kept.
	if got := imageContent(t, f, a); got != contentA {
		t.Errorf("content of removed image %s, want %s", got, contentA)
	}
	if n, _, err := s.PruneBlobs(ctx, 0); err != nil || n != 0 {
		t.Errorf("PruneBlobs freed %d blobs of removed images (%v)", n, err)
	}
	log, err := s.Audit(ctx, AuditFilter{Entity: "image"})
	if err != nil || len(log) != 2 || log[0].Op != log[1].Op || string(log[0].Before) != `{"removed":false}` ||
		string(log[0].After) != `{"removed":true}` {
		t.Errorf("audit of the removal: %+v, %v (want two entries of one op)", log, err)
	}

	if _, err := s.Undo(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, s); got != before {
		t.Errorf("after undo: %s, want %s", got, before)
	}
	if got := imageContent(t, f, a) + imageContent(t, f, b); got != contentA+contentB {
		t.Errorf("content after undo %s, want %s", got, contentA+contentB)
	}
	if im, _ := s.Image(ctx, a); !im.Removed.IsZero() {
		t.Errorf("image %d still marked removed after undo", a)
	}
	if _, err := s.Redo(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if got, want := visible(t, s), fmt.Sprintf("images [%d] summaries [%d:flagged] counts 0/1/0/0", c, c); got != want {
		t.Errorf("after redo: %s, want %s", got, want)
	}
	// RestoreImages is an edit of its own, undoable like any other.
	if err := s.RestoreImages(ctx, "ben", b); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, s); !strings.HasPrefix(got, fmt.Sprintf("images [%d %d]", b, c)) {
		t.Errorf("after restore: %s", got)
	}
	if _, err := s.Undo(ctx, "ben"); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, s); !strings.HasPrefix(got, fmt.Sprintf("images [%d]", c)) {
		t.Errorf("after undoing the restore: %s", got)
	}
}

func TestRemoveImagesErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		who  string
		ids  func(f *fixture) []int64
		want error
	}{
		{"unknown id", "ana", func(f *fixture) []int64 { return []int64{999} }, ErrNotFound},
		{"unknown id among known ones", "ana", func(f *fixture) []int64 { return []int64{f.images[0], 999, f.images[1]} }, ErrNotFound},
		{"no user", "", func(f *fixture) []int64 { return f.images[:1] }, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 2, 1)
			before := visible(t, f.s)
			err := f.s.RemoveImages(ctx, tc.who, tc.ids(f)...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if got := visible(t, f.s); got != before {
				t.Errorf("a failed removal changed the project: %s, was %s", got, before)
			}
			if u, _, _ := f.s.UndoDepth(ctx, "ana"); u != 0 {
				t.Errorf("a failed removal is on the undo stack (%d)", u)
			}
			if log, _ := f.s.Audit(ctx, AuditFilter{Entity: "image"}); len(log) != 0 {
				t.Errorf("a failed removal was logged: %+v", log)
			}
		})
	}
}

// TestRemoveExcludedFromRunQueries: images no run processed yet are found through
// Summaries (RunID 0); a removed one is not among them, so a batch "run the rest" skips it.
func TestRemoveExcludedFromRunQueries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 0)
	if _, err := f.s.AddDetections(ctx, f.run, f.images[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RemoveImages(ctx, "ana", f.images[1]); err != nil {
		t.Fatal(err)
	}
	sums, err := f.s.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var notRun []int64
	for _, m := range sums {
		if m.RunID == 0 {
			notRun = append(notRun, m.ImageID)
		}
	}
	if fmt.Sprint(notRun) != fmt.Sprint([]int64{f.images[2]}) {
		t.Errorf("not run %v, want only [%d]", notRun, f.images[2])
	}
	// A single image's summary is still there for a removed image (the viewer may show it).
	if m, err := f.s.Summary(ctx, f.images[1]); err != nil || m.State != NotRun {
		t.Errorf("summary of a removed image: %+v, %v", m, err)
	}
}

// TestReimportRestoresRemovedImage: importing the file of a removed image again brings the
// same image back (same id, results kept), rather than failing or adding a duplicate.
func TestReimportRestoresRemovedImage(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	p := writePNG(t, src, "a.png", 32, 24, 7)
	s, err := Open(filepath.Join(t.TempDir(), "p.hisir"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.ImportImages(ctx, []string{p}, nil); err != nil {
		t.Fatal(err)
	}
	ims, _ := s.Images(ctx, ImageFilter{})
	id := ims[0].ID
	l, err := s.AddLabel(ctx, "ana", id, square, "misalignment")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveImages(ctx, "ana", id); err != nil {
		t.Fatal(err)
	}
	added, skipped, err := s.ImportImages(ctx, []string{p}, nil)
	if err != nil || added != 1 || skipped != 0 {
		t.Fatalf("re-import: added %d skipped %d, %v; want 1 added", added, skipped, err)
	}
	ims, _ = s.Images(ctx, ImageFilter{})
	if len(ims) != 1 || ims[0].ID != id || !ims[0].Removed.IsZero() {
		t.Fatalf("after re-import: %+v, want image %d back", ims, id)
	}
	if got, _, err := s.Label(ctx, l.ID); err != nil || got.Class != "misalignment" {
		t.Errorf("label after re-import: %+v, %v", got, err)
	}
	hash := ims[0].Hash
	if im, err := s.ImageByHash(ctx, hash); err != nil || im.ID != id || !im.Removed.IsZero() {
		t.Errorf("ImageByHash: %+v, %v", im, err)
	}
	if log, _ := s.Audit(ctx, AuditFilter{Entity: "image", Limit: 1}); len(log) != 1 || log[0].Who != "import" {
		t.Errorf("restore by import not logged: %+v", log)
	}
	// A third import is a plain duplicate again.
	if added, skipped, _ := s.ImportImages(ctx, []string{p}, nil); added != 0 || skipped != 1 {
		t.Errorf("import of a present image: added %d skipped %d", added, skipped)
	}
	// The user's undo of the removal now conflicts: the image is already back.
	if _, err := s.Undo(ctx, "ana"); !errors.Is(err, ErrUndoConflict) {
		t.Errorf("undo of a removal reversed by import: %v, want ErrUndoConflict", err)
	}
}

func TestPurgeRemoved(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 2)
	s := f.s
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return clock }
	a, b := f.images[0], f.images[1]
	for _, id := range f.images {
		if err := s.PutMap(ctx, f.run, id, "score", []byte(fmt.Sprintf("scores of %d", id))); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.AddLabel(ctx, "ana", a, square, "solder_bridge")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, "ana", Rejected, f.dets[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveImages(ctx, "ana", a); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(48 * time.Hour)
	if err := s.RemoveImages(ctx, "ben", b); err != nil {
		t.Fatal(err)
	}
	auditBefore, _ := s.Audit(ctx, AuditFilter{})

	if _, err := s.PurgeRemoved(ctx, -time.Hour); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative age: %v", err)
	}
	n, err := s.PurgeRemoved(ctx, 24*time.Hour) // only a, removed two days ago
	if err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want 1", n, err)
	}
	if _, err := s.Image(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("purged image still there: %v", err)
	}
	if _, ok, err := s.Label(ctx, l.ID); err == nil && ok {
		t.Errorf("label of a purged image still there")
	}
	if _, err := s.Map(ctx, f.run, a, "score"); !errors.Is(err, ErrNotFound) {
		t.Errorf("map of a purged image: %v", err)
	}
	if im, err := s.Image(ctx, b); err != nil || im.Removed.IsZero() {
		t.Errorf("image removed a day ago was purged too: %v", err)
	}
	if auditAfter, _ := s.Audit(ctx, AuditFilter{}); len(auditAfter) != len(auditBefore) {
		t.Errorf("purge changed the audit log: %d entries, was %d", len(auditAfter), len(auditBefore))
	}
	// Blobs: only the purged image's map is freed.
	if removed, _, err := s.PruneBlobs(ctx, 0); err != nil || removed != 1 {
		t.Errorf("PruneBlobs after purge: %d, %v; want 1", removed, err)
	}
	if _, err := s.Map(ctx, f.run, b, "score"); err != nil {
		t.Errorf("map of a removed, not purged image: %v", err)
	}

	// ana's edits of the purged image cannot be undone: each is dropped with a clear error.
	for i := 0; i < 3; i++ { // the removal, the decision, the label
		_, err := s.Undo(ctx, "ana")
		if !errors.Is(err, ErrUndoConflict) || !errors.Is(err, ErrPurged) || !strings.Contains(err.Error(), "no longer exists") {
			t.Errorf("undo %d of an edit of a purged image: %v, want ErrPurged", i, err)
		}
	}
	if _, err := s.Undo(ctx, "ana"); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("after dropping the purged edits: %v", err)
	}
	// ben's removal of the image still there is undone as usual.
	if _, err := s.Undo(ctx, "ben"); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, s); !strings.HasPrefix(got, fmt.Sprintf("images [%d %d]", b, f.images[2])) {
		t.Errorf("after undoing ben's removal: %s", got)
	}
	if check, err := s.IntegrityCheck(ctx); err != nil || check != "ok" {
		t.Errorf("integrity after purge: %s, %v", check, err)
	}
}

// TestMigrateFromSchema1 opens a project written by a HiSIR of schema 1 (built here with
// that version's migration) and checks the upgrade keeps every row and the audit log's
// ids and append-only triggers, and that images can then be removed.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.hisir")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		ms[0],
		"PRAGMA user_version = 1",
		fmt.Sprintf("PRAGMA application_id = %d", ApplicationID),
		`INSERT INTO images (id, path, hash, width, height, added) VALUES (7, '/b/old.png', 'ab', 64, 48, '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO models (id, hash, path, name, added) VALUES (1, 'cd', '/m.onnx', 'm', '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO runs (id, model_id, started, status) VALUES (1, 1, '2025-01-01T00:00:00.000000Z', 'done')`,
		`INSERT INTO run_images (run_id, image_id, done, detections) VALUES (1, 7, '2025-01-01T00:00:00.000000Z', 1)`,
		`INSERT INTO detections (id, run_id, image_id, polygon, x0, y0, x1, y1, area, peak, mean, status, updated)
			VALUES (3, 1, 7, '[{"X":1,"Y":1},{"X":5,"Y":1},{"X":5,"Y":5}]', 1, 1, 5, 5, 8, 2.5, 1.5, 'accepted', '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO audit (id, op, at, who, action, entity, entity_id, before, after)
			VALUES (41, 9, '2025-01-01T00:00:00.000000Z', 'ana', 'edit', 'detection', 3, '{"status":"pending","class":""}', '{"status":"accepted","class":""}')`,
		`INSERT INTO undo_stack (who, stack, op) VALUES ('ana', 'undo', 9)`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := pragma(t, s, "user_version"); v != strconv.Itoa(SchemaVersion()) || SchemaVersion() < 2 {
		t.Fatalf("user_version %s after opening a schema 1 project, want %d", v, SchemaVersion())
	}
	if got, want := visible(t, s), "images [7] summaries [7:reviewed] counts 0/0/1/0"; got != want {
		t.Errorf("migrated project shows %s, want %s", got, want)
	}
	log, err := s.Audit(ctx, AuditFilter{})
	if err != nil || len(log) != 1 || log[0].ID != 41 || log[0].Op != 9 || log[0].Who != "ana" {
		t.Fatalf("audit after migration: %+v, %v", log, err)
	}
	if _, err := s.db.Exec(`UPDATE audit SET who = 'eve'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("audit is no longer append-only after the migration: %v", err)
	}
	if _, err := s.db.Exec(`DELETE FROM audit`); err == nil {
		t.Error("audit rows can be deleted after the migration")
	}
	if err := s.RemoveImages(ctx, "ana", 7); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, s); got != "images [] summaries [] counts 0/0/0/0" {
		t.Errorf("after removing the old image: %s", got)
	}
	for _, who := range []string{"ana", "ana"} { // the removal, then the old decision
		if _, err := s.Undo(ctx, who); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := s.Detection(ctx, 3); err != nil || d.Status != Pending {
		t.Errorf("old decision undone after the migration: %+v, %v", d, err)
	}
	if check, err := s.IntegrityCheck(ctx); err != nil || check != "ok" {
		t.Errorf("integrity after migration: %s, %v", check, err)
	}
	st, _ := os.Stat(path)
	if st.Size() == 0 {
		t.Error("empty project file")
	}
}
