package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/render"
	"github.com/hisirdesk/hisir/store"
	"github.com/hisirdesk/hisir/ui"
)

// guiBoardImage writes a small board-like PNG: a smooth green field with sharp bright pads,
// which the tiny test model (a 3×3 box blur) reconstructs badly at their edges.
func guiBoardImage(t *testing.T, dir, name string, pads int) string {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			m.SetNRGBA(x, y, color.NRGBA{30, 110, 60, 255})
		}
	}
	for k := 0; k < pads; k++ {
		x0, y0 := 10+k*28, 20
		for y := y0; y < y0+14; y++ {
			for x := x0; x < x0+14; x++ {
				m.SetNRGBA(x, y, color.NRGBA{250, 250, 240, 255})
			}
		}
	}
	p := filepath.Join(dir, name)
	if err := render.SavePNG(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

func guiTestBackend(t *testing.T) (*backend, string) {
	t.Helper()
	wd, _ := os.Getwd()
	root, ok := repoRootAbove(wd)
	if !ok {
		t.Fatal("no repository root")
	}
	dir := t.TempDir()
	b, err := openBackend(context.Background(), filepath.Join(dir, "p.hisir"), filepath.Join(root, "testdata", "models", "tiny.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

func TestGUIBackendRunReviewRethreshold(t *testing.T) {
	b, dir := guiTestBackend(t)
	ctx := context.Background()
	if want := engine.DefaultThreshold(b.info); b.norm != normCalibrated || b.Threshold() != want || want <= 1 {
		t.Fatalf("tiny model: norm %s threshold %v, want calibrated %v (> 1)", b.norm, b.Threshold(), want)
	}
	paths := []string{guiBoardImage(t, dir, "a.png", 3), guiBoardImage(t, dir, "b.png", 0)}
	if n, err := b.ImportFiles(ctx, paths); err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	items, err := b.Images()
	if err != nil || len(items) != 2 || items[0].Status != ui.NotRun {
		t.Fatalf("images %+v, %v", items, err)
	}
	var progress []int
	if err := b.RunBatch(ctx, []int64{items[0].ID, items[1].ID}, func(done, total int) { progress = append(progress, done*10+total) }); err != nil {
		t.Fatal(err)
	}
	if len(progress) != 2 || progress[0] != 12 || progress[1] != 22 {
		t.Errorf("progress %v, want 1/2 then 2/2", progress)
	}
	items, _ = b.Images()
	if items[0].Status != ui.Flagged || items[0].Defects == 0 {
		t.Errorf("board with pads: %+v, want flagged", items[0])
	}
	if items[1].Status != ui.Clean {
		t.Errorf("plain board: %+v, want clean", items[1])
	}

	o, err := b.openImage(ctx, items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.scores == nil || o.scores.W != 96 || o.pyr.W != 96 || len(o.dets) == 0 {
		t.Fatalf("opened image: scores %v, %d detections", o.scores != nil, len(o.dets))
	}
	// The stored map is the score map the defects came from (16-bit quantised).
	again := engine.FindDefects(o.scores, 1, guiMinArea)
	if len(again) != len(o.dets) {
		t.Errorf("defects from the stored map: %d, stored detections %d", len(again), len(o.dets))
	}

	// Review every detection: the image becomes reviewed.
	first := o.dets[0]
	if err := b.SetReview(first.ID, ui.Accepted, "extra_component"); err != nil {
		t.Fatal(err)
	}
	for _, d := range o.dets[1:] {
		if err := b.SetReview(d.ID, ui.Rejected, ""); err != nil {
			t.Fatal(err)
		}
	}
	d, err := b.st.Detection(ctx, first.ID)
	if err != nil || d.Status != store.Accepted || d.Class != "extra_component" {
		t.Errorf("stored decision %+v, %v", d, err)
	}
	if items, _ = b.Images(); items[0].Status != ui.Reviewed {
		t.Errorf("status after review %v, want reviewed", items[0].Status)
	}
	// Export writes a new folder named after the project and the format.
	out := t.TempDir()
	for _, f := range ui.ExportFormats {
		if err := b.Export(ctx, f, out); err != nil {
			t.Fatalf("export %s: %v", f, err)
		}
		if st, err := os.Stat(filepath.Join(out, "p-"+f)); err != nil || !st.IsDir() {
			t.Errorf("export %s: no folder p-%s (%v)", f, f, err)
		}
	}
	if err := b.Export(ctx, "coco", out); err != nil {
		t.Errorf("second coco export: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "p-coco-2")); err != nil {
		t.Errorf("a second export did not go to a new folder: %v", err)
	}

	// Re-thresholding stores a new run whose overlapping detections keep their decisions.
	if err := b.SaveThreshold(ctx, 0.8); err != nil {
		t.Fatal(err)
	}
	oldRun := o.runID
	if err := b.rethreshold(ctx, o, 0.8); err != nil {
		t.Fatal(err)
	}
	if o.runID == oldRun || len(o.dets) == 0 {
		t.Fatalf("rethreshold: run %d (was %d), %d detections", o.runID, oldRun, len(o.dets))
	}
	kept := false
	for _, d := range o.dets {
		if d.Status == store.Accepted && d.Class == "extra_component" {
			kept = true
		}
	}
	if !kept {
		t.Errorf("the accepted decision did not carry over: %+v", o.dets)
	}
	if v, ok, _ := b.st.Threshold(ctx, b.modelRow.ID); !ok || v != 0.8 {
		t.Errorf("stored threshold %v %v, want 0.8", v, ok)
	}
	// A new backend on the same project starts from the saved threshold.
	b2, err := openBackend(ctx, b.st.Path(), b.info.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2.Threshold() != 0.8 {
		t.Errorf("reopened threshold %v, want 0.8", b2.Threshold())
	}
}

func TestGUIBackendBatchErrorsAndCancel(t *testing.T) {
	b, dir := guiTestBackend(t)
	ctx := context.Background()
	good := guiBoardImage(t, dir, "good.png", 1)
	bad := guiBoardImage(t, dir, "bad.png", 2)
	if _, err := b.ImportFiles(ctx, []string{good, bad}); err != nil {
		t.Fatal(err)
	}
	// The file breaks after import: the batch names it and keeps the image done before.
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	items, _ := b.Images()
	err := b.RunBatch(ctx, []int64{items[0].ID, items[1].ID}, nil)
	if err == nil || !strings.Contains(err.Error(), "bad.png") {
		t.Fatalf("batch error %v, want one naming bad.png", err)
	}
	if items, _ = b.Images(); items[0].Status == ui.NotRun || items[1].Status != ui.NotRun {
		t.Errorf("after the failure: %v %v, want the good image kept and the bad one not run", items[0].Status, items[1].Status)
	}
	runs, _ := b.st.Runs(ctx, 0)
	if last := runs[len(runs)-1]; last.Status != store.RunFailed || !strings.Contains(last.Error, "bad.png") {
		t.Errorf("run %+v, want failed naming the file", last)
	}
	// Opening the broken image reports it too.
	if _, err := b.openImage(ctx, items[1].ID); err == nil || !strings.Contains(err.Error(), "bad.png") {
		t.Errorf("open broken image: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.RunBatch(cctx, []int64{items[0].ID}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled batch returned %v", err)
	}
	runs, _ = b.st.Runs(ctx, 0)
	if last := runs[len(runs)-1]; last.Status != store.RunCancelled {
		t.Errorf("cancelled run status %v", last.Status)
	}
}

func TestGUIBackendLabelSync(t *testing.T) {
	b, dir := guiTestBackend(t)
	ctx := context.Background()
	if _, err := b.ImportFiles(ctx, []string{guiBoardImage(t, dir, "l.png", 1)}); err != nil {
		t.Fatal(err)
	}
	items, _ := b.Images()
	id := items[0].ID
	tri := geom.Polygon{{X: 1, Y: 1}, {X: 20, Y: 1}, {X: 10, Y: 15}}
	sq := geom.Polygon{{X: 30, Y: 30}, {X: 40, Y: 30}, {X: 40, Y: 40}, {X: 30, Y: 40}}
	e := ui.NewLabelEditor(nil)
	sync := newLabelSync(b, id, e.Labels())
	var saveErr error
	e.OnChanged = func(ls []ui.Label) {
		if err := sync.SaveLabels(ls); err != nil {
			saveErr = err
		}
	}
	stored := func() []store.Label {
		ls, err := b.st.Labels(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	steps := []struct {
		name  string
		do    func()
		want  int
		class string
	}{
		{"add two", func() { e.Add("solder_bridge", tri); e.Add("misalignment", sq) }, 2, "solder_bridge"},
		{"re-class first", func() { e.Tap(geom.Point{X: 10, Y: 5}, 1); e.SetClass("extra_component") }, 2, "extra_component"},
		{"delete first", func() { e.DeleteSelected() }, 1, "misalignment"},
		{"undo delete", func() { e.Undo() }, 2, ""},
		{"redo delete", func() { e.Redo() }, 1, "misalignment"},
	}
	for _, s := range steps {
		s.do()
		if saveErr != nil {
			t.Fatalf("%s: %v", s.name, saveErr)
		}
		got := stored()
		if len(got) != s.want {
			t.Fatalf("%s: %d labels stored, want %d", s.name, len(got), s.want)
		}
		if s.class != "" && got[0].Class != s.class {
			t.Errorf("%s: first stored class %q, want %q", s.name, got[0].Class, s.class)
		}
	}
	// Reopening: the editor starts from the stored labels and edits them in place.
	o, err := b.openImage(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e2 := ui.NewLabelEditor(uiLabels(o))
	sync2 := newLabelSync(b, id, e2.Labels())
	e2.OnChanged = func(ls []ui.Label) { saveErr = sync2.SaveLabels(ls) }
	e2.Tap(geom.Point{X: 35, Y: 35}, 1)
	e2.BeginDrag(geom.Point{X: 35, Y: 35}, 1)
	e2.DragTo(geom.Point{X: 45, Y: 35})
	e2.EndDrag()
	got := stored()
	if saveErr != nil || len(got) != 1 || got[0].ID != o.labels[0].ID || math.Abs(got[0].Polygon[0].X-40) > 1e-9 {
		t.Errorf("moved label stored as %+v (err %v), want the same id moved by 10", got, saveErr)
	}
}

func TestScoreMapRoundTrip(t *testing.T) {
	m := engine.NewMap(5, 3)
	for i := range m.V {
		m.V[i] = float32(i) * 0.9
	}
	m.V[14] = 40 // beyond the stored range: clamped
	data, err := encodeScores(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeScores(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.V {
		want := math.Min(float64(v), scoreMapScale)
		if math.Abs(float64(back.V[i])-want) > scoreMapScale/65535 {
			t.Errorf("value %d: %v back as %v", i, v, back.V[i])
		}
	}
	if _, err := decodeScores([]byte("junk")); err == nil {
		t.Error("junk decoded as a score map")
	}
}

func TestTwinPath(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"p1.png", "p1_golden.png", "p2.jpg", "p2.twin.png", "p3.png"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	tests := []struct{ in, want string }{
		{"p1.png", "p1_golden.png"}, {"p2.jpg", "p2.twin.png"}, {"p3.png", ""},
	}
	for _, tt := range tests {
		got := twinPath(filepath.Join(dir, tt.in))
		if (tt.want == "" && got != "") || (tt.want != "" && got != filepath.Join(dir, tt.want)) {
			t.Errorf("twinPath(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !isTwinName("a_golden.png") || isTwinName("golden_a.png") {
		t.Error("isTwinName")
	}
}

// TestGUIBackendRemoveImages removes an image with results and labels from a real project
// file: it leaves the list, the not-run list and the export, and comes back intact.
func TestGUIBackendRemoveImages(t *testing.T) {
	b, dir := guiTestBackend(t)
	ctx := context.Background()
	paths := []string{guiBoardImage(t, dir, "a.png", 2), guiBoardImage(t, dir, "b.png", 3), guiBoardImage(t, dir, "c.png", 1)}
	if _, err := b.ImportFiles(ctx, paths); err != nil {
		t.Fatal(err)
	}
	items, _ := b.Images()
	a, bb, c := items[0].ID, items[1].ID, items[2].ID
	if err := b.RunBatch(ctx, []int64{a}, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a, bb, c} { // labelled: b and c are exported (a is flagged)
		if _, err := b.st.AddLabel(ctx, b.who, id, geom.Polygon{{X: 1, Y: 1}, {X: 9, Y: 1}, {X: 9, Y: 9}}, "solder_bridge"); err != nil {
			t.Fatal(err)
		}
	}
	before, err := b.openImage(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.dets) == 0 || before.scores == nil {
		t.Fatalf("image a has %d detections and map %v; the test needs both", len(before.dets), before.scores != nil)
	}

	ids := func() []int64 {
		items, err := b.Images()
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	notRun := func() []int64 {
		ids, err := b.notRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if err := b.RemoveImages(ctx, []int64{a, bb}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids()); got != fmt.Sprint([]int64{c}) {
		t.Errorf("after removal the list is %s", got)
	}
	if got := fmt.Sprint(notRun()); got != fmt.Sprint([]int64{c}) {
		t.Errorf("after removal not run is %s (a batch would run removed images)", got)
	}
	exp := filepath.Join(dir, "exported")
	if err := b.Export(ctx, "sipcba", exp); err != nil {
		t.Fatal(err)
	}
	var exported []string
	filepath.WalkDir(exp, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".png") || strings.HasSuffix(p, ".jpg")) {
			exported = append(exported, filepath.Base(p))
		}
		return nil
	})
	if len(exported) == 0 || !strings.HasPrefix(exported[0], "c") {
		t.Errorf("exported images %v, want c's", exported)
	}
	for _, name := range exported {
		if strings.HasPrefix(name, "a") || strings.HasPrefix(name, "b") {
			t.Errorf("export holds %s of a removed image (all: %v)", name, exported)
		}
	}
	if err := b.RemoveImages(ctx, []int64{c, 12345}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing an unknown id: %v, want ErrNotFound", err)
	}
	if got := fmt.Sprint(ids()); got != fmt.Sprint([]int64{c}) {
		t.Errorf("a failed removal changed the list: %s", got)
	}

	if err := b.RestoreImages(ctx, []int64{a, bb}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids()); got != fmt.Sprint([]int64{a, bb, c}) {
		t.Errorf("after restore the list is %s", got)
	}
	after, err := b.openImage(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.dets) != len(before.dets) || len(after.labels) != 1 || after.scores == nil || after.runID != before.runID {
		t.Errorf("restored image has %d detections (was %d), %d labels, map %v, run %d (was %d)",
			len(after.dets), len(before.dets), len(after.labels), after.scores != nil, after.runID, before.runID)
	}
}

// TestGUIRemoveWithUndo drives the window: Delete on the image shown asks for a
// confirmation, removes it and opens the next one; Ctrl+Z (the window's undo) puts it back
// and a later review decision is undone before the removal.
func TestGUIRemoveWithUndo(t *testing.T) {
	b, dir := guiTestBackend(t)
	ctx := context.Background()
	if _, err := b.ImportFiles(ctx, []string{guiBoardImage(t, dir, "one.png", 3), guiBoardImage(t, dir, "two.png", 2)}); err != nil {
		t.Fatal(err)
	}
	items, _ := b.Images()
	first, second := items[0].ID, items[1].ID
	if err := b.RunBatch(ctx, []int64{first, second}, nil); err != nil {
		t.Fatal(err)
	}
	a := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1200, 800))
	g := newGUI(a, w, guiOptions{})
	g.b = b
	g.build()
	guiEventually(t, "the first image", func() bool { return g.cur != nil && g.cur.im.ID == first })
	guiEventually(t, "the thumbnails", func() bool { return g.project.ThumbnailsLoading() == 0 })
	fyne.DoAndWait(func() {})

	g.typedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
	top := w.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(test.RenderObjectToMarkup(top), "Ctrl+Z") {
		t.Fatal("Delete did not ask for a confirmation that mentions Ctrl+Z")
	}
	remove := findButton(top, "Remove")
	if remove == nil {
		t.Fatal("no Remove button in the confirmation")
	}
	test.Tap(remove)
	if im, _ := b.st.Image(ctx, first); im.Removed.IsZero() {
		t.Fatal("the image shown was not removed")
	}
	if got := len(g.project.Shown()); got != 1 {
		t.Errorf("the list shows %d images after the removal, want 1", got)
	}
	guiEventually(t, "the next image to open", func() bool { return g.cur != nil && g.cur.im.ID == second })
	guiEventually(t, "its defects", func() bool { _, ok := g.review.Selected(); return ok })
	fyne.DoAndWait(func() {})

	// A decision after the removal is undone first, then the removal — also when Ctrl+Z is
	// typed while the review panel has the focus (it passes undo to the window).
	d, _ := g.review.Selected()
	g.typedRune('a')
	g.review.TypedShortcut(ui.UndoShortcut)
	if got, _ := b.st.Detection(ctx, d.ID); got.Status != store.Pending {
		t.Errorf("first Ctrl+Z left the decision %q, want it undone", got.Status)
	}
	if im, _ := b.st.Image(ctx, first); im.Removed.IsZero() {
		t.Error("first Ctrl+Z undid the removal instead of the later decision")
	}
	g.review.TypedShortcut(ui.UndoShortcut)
	if im, _ := b.st.Image(ctx, first); !im.Removed.IsZero() {
		t.Fatal("second Ctrl+Z did not put the image back")
	}
	if got := len(g.project.Shown()); got != 2 {
		t.Errorf("the list shows %d images after undo, want 2", got)
	}
	guiEventually(t, "the restored image to open", func() bool { return g.cur != nil && g.cur.im.ID == first })
	g.redo()
	if im, _ := b.st.Image(ctx, first); im.Removed.IsZero() {
		t.Error("redo did not remove the image again")
	}
}

// findButton returns the button with this text under o (widgets through their renderers).
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	if b, ok := o.(*widget.Button); ok && b.Text == text {
		return b
	}
	var kids []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		kids = c.Objects
	case fyne.Widget:
		kids = test.WidgetRenderer(c).Objects()
	}
	for _, k := range kids {
		if b := findButton(k, text); b != nil {
			return b
		}
	}
	return nil
}
