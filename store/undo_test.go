package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hisirdesk/hisir/engine/geom"
)

var square = geom.Polygon{{X: 10, Y: 10}, {X: 30, Y: 10}, {X: 30, Y: 30}, {X: 10, Y: 30}}
var triangle = geom.Polygon{{X: 100, Y: 100}, {X: 140, Y: 100}, {X: 120, Y: 130}}

// snapshot is the user-visible state the undo tests compare: detection statuses and classes,
// the live labels of the image and the threshold.
func snapshot(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	ds, err := f.s.Detections(ctx, f.images[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		fmt.Fprintf(&b, "d%d=%s/%s ", d.ID, d.Status, d.Class)
	}
	ls, err := f.s.Labels(ctx, f.images[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		fmt.Fprintf(&b, "l%d=%s%v ", l.ID, l.Class, l.Polygon)
	}
	v, ok, err := f.s.Threshold(ctx, f.model.ID)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "thr=%v/%v", v, ok)
	return b.String()
}

func TestUndoRedoSequences(t *testing.T) {
	type step struct {
		do      string // accept, reject, class, label, move, delete, threshold, undo, redo
		who     string
		wantErr error
	}
	tests := []struct {
		name  string
		steps []step
		// back[i] = the step index whose resulting state must equal the state after step i
		// (-1: the initial state); only checked where set.
		back map[int]int
	}{
		{"accept then undo then redo", []step{{"accept", "ana", nil}, {"undo", "ana", nil}, {"redo", "ana", nil}},
			map[int]int{1: -1, 2: 0}},
		{"undo past the start", []step{{"accept", "ana", nil}, {"undo", "ana", nil}, {"undo", "ana", ErrNothingToUndo}},
			map[int]int{1: -1, 2: -1}},
		{"redo with nothing undone", []step{{"reject", "ana", nil}, {"redo", "ana", ErrNothingToRedo}},
			map[int]int{1: 0}},
		{"new edit clears redo", []step{{"accept", "ana", nil}, {"undo", "ana", nil}, {"reject", "ana", nil},
			{"redo", "ana", ErrNothingToRedo}, {"undo", "ana", nil}}, map[int]int{3: 2, 4: -1}},
		{"labels: add, move, delete, undo all, redo all",
			[]step{{"label", "ana", nil}, {"move", "ana", nil}, {"delete", "ana", nil},
				{"undo", "ana", nil}, {"undo", "ana", nil}, {"undo", "ana", nil},
				{"redo", "ana", nil}, {"redo", "ana", nil}, {"redo", "ana", nil}},
			map[int]int{3: 1, 4: 0, 5: -1, 6: 0, 7: 1, 8: 2}},
		{"threshold set twice and undone", []step{{"threshold", "ana", nil}, {"threshold", "ana", nil},
			{"undo", "ana", nil}, {"undo", "ana", nil}}, map[int]int{2: 0, 3: -1}},
		{"users have their own stacks", []step{{"accept", "ana", nil}, {"class", "ben", nil},
			{"undo", "ana", nil}, {"undo", "ben", nil}, {"undo", "ben", ErrNothingToUndo}},
			map[int]int{3: -1}},
		{"conflicting undo is refused and dropped", []step{{"accept", "ana", nil}, {"reject", "ben", nil},
			{"undo", "ana", ErrUndoConflict}, {"undo", "ana", ErrNothingToUndo}, {"undo", "ben", nil}},
			map[int]int{2: 1, 3: 1, 4: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 1, 3)
			var labelID int64
			thr := 0.25
			states := map[int]string{-1: snapshot(t, f)}
			for i, st := range tc.steps {
				var err error
				switch st.do {
				case "accept":
					err = f.s.SetStatus(ctx, st.who, Accepted, f.dets[0], f.dets[1])
				case "reject":
					err = f.s.SetStatus(ctx, st.who, Rejected, f.dets[0])
				case "class":
					err = f.s.SetClass(ctx, st.who, "solder bridge", f.dets[2])
				case "label":
					var l Label
					l, err = f.s.AddLabel(ctx, st.who, f.images[0], square, "scratch")
					labelID = l.ID
				case "move":
					err = f.s.UpdateLabel(ctx, st.who, labelID, triangle, "missing part")
				case "delete":
					err = f.s.DeleteLabel(ctx, st.who, labelID)
				case "threshold":
					thr += 0.5
					err = f.s.SetThreshold(ctx, st.who, f.model.ID, thr)
				case "undo":
					_, err = f.s.Undo(ctx, st.who)
				case "redo":
					_, err = f.s.Redo(ctx, st.who)
				}
				if !errors.Is(err, st.wantErr) || (err != nil && st.wantErr == nil) {
					t.Fatalf("step %d %s by %s: error %v, want %v", i, st.do, st.who, err, st.wantErr)
				}
				states[i] = snapshot(t, f)
				if j, ok := tc.back[i]; ok && states[i] != states[j] {
					t.Fatalf("after step %d (%s) state\n  %s\nwant the state after step %d\n  %s", i, st.do, states[i], j, states[j])
				}
				if i > 0 && st.wantErr != nil && states[i] != states[i-1] {
					t.Fatalf("failed step %d changed the state", i)
				}
			}
			// Every change is in the audit log, undo and redo included.
			log, err := f.s.Audit(ctx, AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range log {
				if e.Who == "" || e.At.IsZero() || len(e.Before) == 0 || len(e.After) == 0 {
					t.Fatalf("incomplete audit entry %+v", e)
				}
				if (e.Action == ActionEdit) != (e.Ref == 0) {
					t.Fatalf("audit entry %+v: only undo and redo refer to an op", e)
				}
			}
		})
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2)
	if err := f.s.SetStatus(ctx, "ana", Accepted, f.dets...); err != nil {
		t.Fatal(err)
	}
	log, _ := f.s.Audit(ctx, AuditFilter{Who: "ana"})
	if len(log) != 2 || log[0].Op != log[1].Op {
		t.Fatalf("one decision on two detections: %d entries %+v, want 2 of one op", len(log), log)
	}
	for _, q := range []string{`UPDATE audit SET who = 'mallory'`, `DELETE FROM audit`} {
		if _, err := f.s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refusal", q, err)
		}
	}
	// Unchanged decisions are not logged.
	if err := f.s.SetStatus(ctx, "ana", Accepted, f.dets...); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.s.Audit(ctx, AuditFilter{}); len(again) != 2 {
		t.Fatalf("repeating a decision logged %d entries, want none new", len(again)-2)
	}
	undo, redo, err := f.s.UndoDepth(ctx, "ana")
	if err != nil || undo != 1 || redo != 0 {
		t.Fatalf("UndoDepth = %d, %d, %v", undo, redo, err)
	}
}

func TestEditErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 1)
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"unknown status", func() error { return f.s.SetStatus(ctx, "ana", "maybe", f.dets[0]) }, ErrInvalid},
		{"missing detection", func() error { return f.s.SetStatus(ctx, "ana", Accepted, 9999) }, ErrNotFound},
		{"no user", func() error { return f.s.SetStatus(ctx, "", Accepted, f.dets[0]) }, ErrInvalid},
		{"label with two points", func() error {
			_, err := f.s.AddLabel(ctx, "ana", f.images[0], square[:2], "x")
			return err
		}, ErrInvalid},
		{"label on missing image", func() error { _, err := f.s.AddLabel(ctx, "ana", 9999, square, "x"); return err }, ErrNotFound},
		{"update missing label", func() error { return f.s.UpdateLabel(ctx, "ana", 9999, square, "x") }, ErrNotFound},
		{"threshold not a number", func() error { return f.s.SetThreshold(ctx, "ana", f.model.ID, math.NaN()) }, ErrInvalid},
		{"threshold of missing model", func() error { return f.s.SetThreshold(ctx, "ana", 9999, 1) }, ErrNotFound},
		{"detections twice", func() error {
			_, err := f.s.AddDetections(ctx, f.run, f.images[0], fakeDetections(1, 0))
			return err
		}, ErrAlreadyProcessed},
		{"detections of missing run", func() error {
			_, err := f.s.AddDetections(ctx, 9999, f.images[0], nil)
			return err
		}, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	if d, _ := f.s.Detection(ctx, f.dets[0]); d.Status != Pending {
		t.Fatalf("a failed edit changed detection: %+v", d)
	}
}

func TestSummariesAndMaps(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 0)
	// image 0: 2 detections pending; 1: decided; 2: clean; 3: labelled only; 4: not run.
	d0, _ := f.s.AddDetections(ctx, f.run, f.images[0], fakeDetections(2, 0))
	d1, _ := f.s.AddDetections(ctx, f.run, f.images[1], fakeDetections(2, 1))
	if _, err := f.s.AddDetections(ctx, f.run, f.images[2], nil); err != nil {
		t.Fatal(err)
	}
	f.s.SetStatus(ctx, "ana", Accepted, d1[0])
	f.s.SetStatus(ctx, "ana", Rejected, d1[1])
	f.s.SetStatus(ctx, "ana", Accepted, d0[0])
	if _, err := f.s.AddLabel(ctx, "ana", f.images[3], square, "scratch"); err != nil {
		t.Fatal(err)
	}
	sums, err := f.s.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ImageSummary{
		{f.images[0], f.run, Flagged, 1, 1, 0, 0},
		{f.images[1], f.run, Reviewed, 0, 1, 1, 0},
		{f.images[2], f.run, Clean, 0, 0, 0, 0},
		{f.images[3], 0, Reviewed, 0, 0, 0, 1},
		{f.images[4], 0, NotRun, 0, 0, 0, 0},
	}
	for i := range want {
		if sums[i] != want[i] {
			t.Errorf("summary %d = %+v, want %+v", i, sums[i], want[i])
		}
	}
	counts, _ := f.s.StateCounts(ctx)
	if counts[Flagged] != 1 || counts[Reviewed] != 2 || counts[Clean] != 1 || counts[NotRun] != 1 {
		t.Errorf("state counts %v", counts)
	}
	// A newer run replaces the image's detections in the views, not in the database.
	run2, _ := f.s.StartRun(ctx, f.model.ID, nil, "CPU")
	if _, err := f.s.AddDetections(ctx, run2, f.images[0], fakeDetections(5, 9)); err != nil {
		t.Fatal(err)
	}
	if ds, _ := f.s.Detections(ctx, f.images[0], 0); len(ds) != 5 || ds[0].RunID != run2 {
		t.Errorf("latest detections of image 0: %d of run %d", len(ds), ds[0].RunID)
	}
	if ds, _ := f.s.Detections(ctx, f.images[0], f.run); len(ds) != 2 || ds[0].Status != Accepted {
		t.Errorf("first run's detections changed: %+v", ds)
	}
	if err := f.s.FinishRun(ctx, run2, RunDone, ""); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.s.Run(ctx, run2); r.Status != RunDone || r.Finished.IsZero() {
		t.Errorf("finished run %+v", r)
	}

	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := f.s.PutMap(ctx, f.run, f.images[0], "anomaly", data); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Map(ctx, f.run, f.images[0], "anomaly")
	if err != nil || string(got) != string(data) {
		t.Fatalf("map round trip: %d bytes, %v", len(got), err)
	}
	if _, err := f.s.Map(ctx, f.run, f.images[1], "anomaly"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing map: %v", err)
	}
	// A damaged blob is reported, naming the file.
	hash, _ := f.s.PutBlob(data)
	p := f.s.blobPath(hash)
	if err := writeFileForce(p, append([]byte{1}, data[1:]...)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Map(ctx, f.run, f.images[0], "anomaly"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
		t.Errorf("damaged blob: %v", err)
	}
}

func TestPruneBlobs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2, 0)
	if n, _, err := f.s.PruneBlobs(ctx, 0); err != nil || n != 0 {
		t.Fatalf("prune without blob folder: %d, %v", n, err)
	}
	old, fresh := []byte("first anomaly map"), []byte("second anomaly map")
	if err := f.s.PutMap(ctx, f.run, f.images[0], "anomaly", old); err != nil {
		t.Fatal(err)
	}
	if err := f.s.PutMap(ctx, f.run, f.images[1], "anomaly", old); err != nil { // shared blob
		t.Fatal(err)
	}
	if err := f.s.PutMap(ctx, f.run, f.images[0], "anomaly", fresh); err != nil { // replaces image 0's
		t.Fatal(err)
	}
	orphan, _ := f.s.PutBlob([]byte("never referenced"))
	if n, _, _ := f.s.PruneBlobs(ctx, time.Hour); n != 0 {
		t.Fatalf("pruned %d young blobs", n)
	}
	n, freed, err := f.s.PruneBlobs(ctx, 0)
	if err != nil || n != 1 || freed != int64(len("never referenced")) {
		t.Fatalf("pruned %d files, %d bytes, %v; want the one orphan", n, freed, err)
	}
	if _, err := f.s.Blob(orphan); !errors.Is(err, ErrNotFound) {
		t.Fatalf("orphan still there: %v", err)
	}
	for i, want := range [][]byte{fresh, old} {
		got, err := f.s.Map(ctx, f.run, f.images[i], "anomaly")
		if err != nil || string(got) != string(want) {
			t.Fatalf("map of image %d after prune: %q, %v", i, got, err)
		}
	}
}

func TestReplaceLabelsAndReview(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2, 1)
	img := f.images[0]
	live := func() string {
		ls, err := f.s.Labels(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, l := range ls {
			fmt.Fprintf(&b, "%d:%s:%d ", l.ID, l.Class, len(l.Polygon))
		}
		return b.String()
	}
	ids, err := f.s.ReplaceLabels(ctx, "ana", img, []LabelEdit{{Polygon: square, Class: "a"}, {Polygon: triangle, Class: "b"}})
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	s1 := live()
	if s1 != fmt.Sprintf("%d:a:4 %d:b:3 ", ids[0], ids[1]) {
		t.Fatalf("after first save: %s", s1)
	}
	// Second save: first label reshaped, second dropped, one new.
	ids2, err := f.s.ReplaceLabels(ctx, "ana", img, []LabelEdit{{ID: ids[0], Polygon: triangle, Class: "a"}, {Polygon: square, Class: "c"}})
	if err != nil || ids2[0] != ids[0] {
		t.Fatal(ids2, err)
	}
	s2 := live()
	if s2 != fmt.Sprintf("%d:a:3 %d:c:4 ", ids[0], ids2[1]) {
		t.Fatalf("after second save: %s", s2)
	}
	// Bringing a deleted label back by id, unchanged save logs nothing.
	if _, err := f.s.ReplaceLabels(ctx, "ana", img, []LabelEdit{{ID: ids[0], Polygon: triangle, Class: "a"}, {ID: ids2[1], Polygon: square, Class: "c"}, {ID: ids[1], Polygon: triangle, Class: "b"}}); err != nil {
		t.Fatal(err)
	}
	before, _ := f.s.Audit(ctx, AuditFilter{})
	if _, err := f.s.ReplaceLabels(ctx, "ana", img, []LabelEdit{{ID: ids[0], Polygon: triangle, Class: "a"}, {ID: ids2[1], Polygon: square, Class: "c"}, {ID: ids[1], Polygon: triangle, Class: "b"}}); err != nil {
		t.Fatal(err)
	}
	if after, _ := f.s.Audit(ctx, AuditFilter{}); len(after) != len(before) {
		t.Fatalf("an unchanged save logged %d entries", len(after)-len(before))
	}
	// Each save is one undo step.
	for _, want := range []string{s2, s1, ""} {
		if _, err := f.s.Undo(ctx, "ana"); err != nil {
			t.Fatal(err)
		}
		if got := live(); got != want {
			t.Fatalf("after undo: %q, want %q", got, want)
		}
	}
	// A label of another image is refused, nothing changes.
	other, _ := f.s.AddLabel(ctx, "ana", f.images[1], square, "x")
	if _, err := f.s.ReplaceLabels(ctx, "ana", img, []LabelEdit{{ID: other.ID, Polygon: square}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign label: %v", err)
	}
	// SetReview: status and class in one undo step.
	if err := f.s.SetReview(ctx, "ana", f.dets[0], Accepted, "solder_bridge"); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.s.Detection(ctx, f.dets[0]); d.Status != Accepted || d.Class != "solder_bridge" {
		t.Fatalf("reviewed detection %+v", d)
	}
	f.s.Undo(ctx, "ana")
	if d, _ := f.s.Detection(ctx, f.dets[0]); d.Status != Pending || d.Class != "" {
		t.Fatalf("after undo %+v", d)
	}
}
