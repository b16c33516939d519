package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/store"
	"github.com/hisirdesk/hisir/ui"
)

// guiEventually polls cond (work runs on goroutines that finish with fyne.Do).
func guiEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGUIReviewLabelThresholdFlow drives the whole window headlessly on a real project
// and the tiny model: it opens the image, reviews by keyboard with undo, draws a label,
// and commits a new threshold, checking the store after each step.
func TestGUIReviewLabelThresholdFlow(t *testing.T) {
	b, dir := guiTestBackend(t)
	ctx := context.Background()
	if _, err := b.ImportFiles(ctx, []string{guiBoardImage(t, dir, "flow.png", 3)}); err != nil {
		t.Fatal(err)
	}
	items, _ := b.Images()
	if err := b.RunBatch(ctx, []int64{items[0].ID}, nil); err != nil {
		t.Fatal(err)
	}

	a := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1200, 800))
	g := newGUI(a, w, guiOptions{})
	g.b = b
	g.build()
	// Opening is asynchronous: wait for the defects and their selection, then let the UI
	// goroutine drain so no late refresh lands between the keys below.
	guiEventually(t, "the image to open", func() bool {
		_, sel := g.review.Selected()
		return g.cur != nil && len(g.review.Defects()) > 0 && sel
	})
	guiEventually(t, "the thumbnails", func() bool { return g.project.ThumbnailsLoading() == 0 })
	fyne.DoAndWait(func() {})
	n := len(g.review.Defects())

	// Review by keyboard through the window's handler: accept the first, reject the second.
	first, _ := g.review.Selected()
	g.typedRune('a')
	g.typedRune('r')
	d1, err := b.st.Detection(ctx, first.ID)
	if err != nil {
		t.Fatalf("detection %d: %v", first.ID, err)
	}
	if d1.Status != store.Accepted {
		t.Errorf("after A the store has %q, want accepted", d1.Status)
	}
	g.undo()
	second := g.review.Defects()[1]
	if d, _ := b.st.Detection(ctx, second.ID); d.Status != store.Pending {
		t.Errorf("after undo the second defect is %q, want pending", d.Status)
	}
	// The viewer keys still work: F fits, 1 goes 1:1.
	g.typedRune('1')
	if z := g.viewer.View().Zoom; z != 1 {
		t.Errorf("zoom after 1 is %v", z)
	}

	// Labels tab: draw a triangle with the editor and close it with Enter.
	g.tabs.Select(g.labelTab)
	if !g.labelMode || g.editor == nil {
		t.Fatal("labels tab did not start the polygon tool")
	}
	g.labelClass.SetSelected("solder_bridge")
	for _, p := range []struct{ x, y float64 }{{5, 5}, {30, 5}, {15, 25}} {
		g.editor.Tap(guiPt(p.x, p.y), 1)
	}
	g.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	ls, _ := b.st.Labels(ctx, g.cur.im.ID)
	if len(ls) != 1 || ls[0].Class != "solder_bridge" {
		t.Fatalf("stored labels %+v, want one solder_bridge", ls)
	}
	g.undo()
	if ls, _ = b.st.Labels(ctx, g.cur.im.ID); len(ls) != 0 {
		t.Errorf("undo left %d labels in the store", len(ls))
	}
	g.redo()
	if ls, _ = b.st.Labels(ctx, g.cur.im.ID); len(ls) != 1 {
		t.Errorf("redo left %d labels in the store", len(ls))
	}
	g.tabs.Select(g.tabs.Items[0])
	if g.labelMode {
		t.Error("leaving the labels tab kept the polygon tool")
	}

	// Threshold: a higher value, committed, recomputes fewer defects and is saved.
	run := g.cur.runID
	g.slider.SetValue(3)
	g.commitThreshold(3)
	guiEventually(t, "the re-threshold run", func() bool { return g.cur.runID != run })
	guiEventually(t, "the review list to follow", func() bool { return len(g.review.Defects()) == len(g.cur.dets) })
	if len(g.cur.dets) > n {
		t.Errorf("threshold 3 gave %d defects, more than %d at 1", len(g.cur.dets), n)
	}
	if v, ok, _ := b.st.Threshold(ctx, b.modelRow.ID); !ok || v != 3 {
		t.Errorf("saved threshold %v %v, want 3", v, ok)
	}
	// The accepted decision survives the new threshold when its region does.
	accepted := 0
	for _, d := range g.review.Defects() {
		if d.Decision == ui.Accepted {
			accepted++
		}
	}
	t.Logf("%d → %d defects, %d still accepted", n, len(g.cur.dets), accepted)
}

func guiPt(x, y float64) geom.Point { return geom.Point{X: x, Y: y} }

func TestGUIModelPathFindsAShippedModel(t *testing.T) {
	p, err := guiModelPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(p) != ".onnx" || filepath.Base(filepath.Dir(p)) != "models" {
		t.Errorf("model %s is not an ONNX file of assets/models", p)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
}
