package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

type fakeProject struct {
	mu      sync.Mutex
	items   []ImageItem
	fail    error
	thumbed []int64
}

func (f *fakeProject) Images() ([]ImageItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return append([]ImageItem(nil), f.items...), nil
}

func (f *fakeProject) Thumbnail(id int64, size int) (image.Image, error) {
	f.mu.Lock()
	f.thumbed = append(f.thumbed, id)
	f.mu.Unlock()
	return checker(size, size*3/4, 8), nil
}

// fakeRunner runs one image per value received on step; it marks images flagged.
type fakeRunner struct {
	p    *fakeProject
	step chan struct{}
	ids  []int64
	err  error
}

func (r *fakeRunner) RunBatch(ctx context.Context, ids []int64, progress func(done, total int)) error {
	r.ids = ids
	for i, id := range ids {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.step:
		}
		if r.err != nil && i == 1 {
			return r.err
		}
		r.p.mu.Lock()
		for k := range r.p.items {
			if r.p.items[k].ID == id {
				r.p.items[k].Status, r.p.items[k].Defects = Flagged, 2
			}
		}
		r.p.mu.Unlock()
		progress(i+1, len(ids))
	}
	return nil
}

type fakeExporter struct {
	mu          sync.Mutex
	format, dir string
	err         error
}

func (e *fakeExporter) Export(ctx context.Context, format, dir string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.format, e.dir = format, dir
	return e.err
}

func projectItems() []ImageItem {
	return []ImageItem{
		{ID: 1, Name: "panel_001.png", Status: NotRun},
		{ID: 2, Name: "panel_002.png", Status: Flagged, Defects: 3},
		{ID: 3, Name: "panel_003.png", Status: Clean},
		{ID: 4, Name: "panel_004.png", Status: NotRun},
		{ID: 5, Name: "panel_005.png", Status: Reviewed, Defects: 1},
	}
}

// waitFor polls cond (the batch runs on its own goroutine) for up to two seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newTestProject(t *testing.T) (*ProjectScreen, *fakeProject, *fakeRunner, *fakeExporter, fyne.Window) {
	test.NewTempApp(t)
	p := &fakeProject{items: projectItems()}
	r := &fakeRunner{p: p, step: make(chan struct{})}
	e := &fakeExporter{}
	win := test.NewTempWindow(t, widget.NewLabel(""))
	s := NewProjectScreen(p, r, e, win)
	win.SetContent(s)
	win.Resize(fyne.NewSize(640, 480))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	return s, p, r, e, win
}

func TestProjectScreenFilters(t *testing.T) {
	s, _, _, _, _ := newTestProject(t)
	if got, want := s.Counts(), "5 images · 2 not run · 1 flagged · 1 reviewed · 1 clean"; got != want {
		t.Errorf("counts %q, want %q", got, want)
	}
	tests := []struct {
		filter string
		ids    string
	}{{"all", "[1 2 3 4 5]"}, {"not run", "[1 4]"}, {"flagged", "[2]"}, {"reviewed", "[5]"}, {"clean", "[3]"}}
	for _, tt := range tests {
		s.SetFilter(tt.filter)
		var ids []int64
		for _, it := range s.Shown() {
			ids = append(ids, it.ID)
		}
		if fmt.Sprint(ids) != tt.ids {
			t.Errorf("filter %q shows %v, want %s", tt.filter, ids, tt.ids)
		}
	}
}

func TestProjectScreenOpensImage(t *testing.T) {
	s, _, _, _, _ := newTestProject(t)
	var opened []int64
	s.OnOpen = func(it ImageItem) { opened = append(opened, it.ID) }
	s.SetFilter("flagged")
	s.list.Select(0)
	if fmt.Sprint(opened) != "[2]" {
		t.Errorf("opened %v, want [2]", opened)
	}
}

func TestProjectScreenBatchProgressAndCancel(t *testing.T) {
	s, p, r, _, _ := newTestProject(t)
	clock := time.Unix(0, 0)
	var mu sync.Mutex
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	done := make(chan error, 1)
	s.OnBatchDone = func(err error) { done <- err }
	s.RunBatch(nil)
	if !s.Running() || !s.Progress().Visible() {
		t.Fatal("batch did not start")
	}
	mu.Lock()
	clock = clock.Add(10 * time.Second)
	mu.Unlock()
	r.step <- struct{}{} // first of the two not-run images, after 10 s
	waitFor(t, "progress 1/2", func() bool { return strings.Contains(s.Status(), "1/2") })
	if got := s.Progress().Value; got != 0.5 {
		t.Errorf("progress %v, want 0.5", got)
	}
	if !strings.Contains(s.Status(), "10 s left") {
		t.Errorf("status %q, want an ETA of 10 s", s.Status())
	}
	s.Cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("batch ended with %v, want cancelled", err)
	}
	if s.Running() || s.Status() != "Cancelled." {
		t.Errorf("after cancel: running %v status %q", s.Running(), s.Status())
	}
	if fmt.Sprint(r.ids) != "[1 4]" {
		t.Errorf("ran %v, want the not-run images [1 4]", r.ids)
	}
	// The image finished before the cancel stays done, and the list shows it.
	if got := s.Counts(); got != "5 images · 1 not run · 2 flagged · 1 reviewed · 1 clean" {
		t.Errorf("counts after cancel %q", got)
	}
	_ = p
}

func TestProjectScreenBatchErrorDialog(t *testing.T) {
	s, _, r, _, win := newTestProject(t)
	r.err = errors.New("model file corrupt: tiny.onnx")
	done := make(chan error, 1)
	s.OnBatchDone = func(err error) { done <- err }
	s.RunBatch([]int64{3, 5})
	r.step <- struct{}{}
	r.step <- struct{}{}
	if err := <-done; err == nil {
		t.Fatal("batch error lost")
	}
	if s.Status() != "Failed." {
		t.Errorf("status %q", s.Status())
	}
	if !dialogShows(win, "tiny.onnx") {
		t.Error("no error dialog naming the file")
	}
}

func TestProjectScreenExport(t *testing.T) {
	s, _, _, e, win := newTestProject(t)
	s.Export("coco", "/tmp/out")
	waitFor(t, "export", func() bool { return strings.HasPrefix(s.Status(), "Exported") })
	e.mu.Lock()
	if e.format != "coco" || e.dir != "/tmp/out" {
		t.Errorf("exported %q to %q", e.format, e.dir)
	}
	e.err = errors.New("permission denied")
	e.mu.Unlock()
	s.Export("mvtec", "/root/ro")
	waitFor(t, "failed export", func() bool { return s.Status() == "Export failed." })
	if !dialogShows(win, "permission denied") {
		t.Error("export error not shown in a dialog")
	}
	s.ShowExport()
	if !dialogShows(win, "Export project") {
		t.Error("export dialog not shown")
	}
}

func TestProjectScreenListError(t *testing.T) {
	test.NewTempApp(t)
	p := &fakeProject{fail: errors.New("database is locked: project.hisir")}
	win := test.NewTempWindow(t, widget.NewLabel(""))
	s := NewProjectScreen(p, nil, nil, win)
	win.SetContent(s)
	if err := s.Reload(); err == nil {
		t.Fatal("Reload hid the error")
	}
	if !dialogShows(win, "project.hisir") {
		t.Error("list error not shown in a dialog")
	}
}

// dialogShows reports whether the top overlay's markup contains text.
func dialogShows(win fyne.Window, text string) bool {
	top := win.Canvas().Overlays().Top()
	return top != nil && strings.Contains(test.RenderObjectToMarkup(top), text)
}

func TestETA(t *testing.T) {
	tests := []struct {
		elapsed     time.Duration
		done, total int
		want        time.Duration
		text        string
	}{
		{10 * time.Second, 1, 2, 10 * time.Second, "10 s"},
		{10 * time.Second, 1, 21, 200 * time.Second, "3 min 20 s"},
		{time.Minute, 1, 66, 65 * time.Minute, "1 h 05 min"},
		{0, 0, 5, 0, "0 s"},
		{time.Second, 5, 5, 0, "0 s"},
	}
	for _, tt := range tests {
		got := ETA(tt.elapsed, tt.done, tt.total)
		if got != tt.want || FormatETA(got) != tt.text {
			t.Errorf("ETA(%v, %d, %d) = %v %q, want %v %q", tt.elapsed, tt.done, tt.total, got, FormatETA(got), tt.want, tt.text)
		}
	}
}

func TestProjectScreenGolden(t *testing.T) {
	s, p, _, _, win := newTestProject(t)
	s.list.Refresh()
	waitFor(t, "thumbnails", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.thumbed) >= 5 })
	waitFor(t, "thumbnail cache", func() bool {
		s.thumbMu.Lock()
		defer s.thumbMu.Unlock()
		return len(s.thumbs) >= 5
	})
	s.list.Refresh()
	test.AssertRendersToImage(t, "project.png", win.Canvas())
}

// fakeRemovingProject is a fakeProject that can remove images (it hides them).
type fakeRemovingProject struct {
	*fakeProject
	removed map[int64]bool
	calls   []string
	err     error
}

func (f *fakeRemovingProject) Images() ([]ImageItem, error) {
	all, err := f.fakeProject.Images()
	var out []ImageItem
	for _, it := range all {
		if !f.removed[it.ID] {
			out = append(out, it)
		}
	}
	return out, err
}

func (f *fakeRemovingProject) RemoveImages(ctx context.Context, ids []int64) error {
	return f.set(ids, true)
}

func (f *fakeRemovingProject) RestoreImages(ctx context.Context, ids []int64) error {
	return f.set(ids, false)
}

func (f *fakeRemovingProject) set(ids []int64, on bool) error {
	f.calls = append(f.calls, fmt.Sprintf("%v %v", on, ids))
	if f.err != nil {
		return f.err
	}
	for _, id := range ids {
		f.removed[id] = on
	}
	return nil
}

func newRemovingProject(t *testing.T) (*ProjectScreen, *fakeRemovingProject, fyne.Window) {
	test.NewTempApp(t)
	p := &fakeRemovingProject{fakeProject: &fakeProject{items: projectItems()}, removed: map[int64]bool{}}
	win := test.NewTempWindow(t, widget.NewLabel(""))
	s := NewProjectScreen(p, nil, nil, win)
	win.SetContent(s)
	win.Resize(fyne.NewSize(640, 480))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	return s, p, win
}

// find returns the first object under o (widgets through their renderers) that match accepts.
func find[T fyne.CanvasObject](o fyne.CanvasObject, match func(T) bool) (T, bool) {
	if v, ok := o.(T); ok && match(v) {
		return v, true
	}
	var kids []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		kids = c.Objects
	case fyne.Widget:
		kids = test.WidgetRenderer(c).Objects()
	}
	for _, k := range kids {
		if v, ok := find(k, match); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// tapDialogButton taps the button with this text in the window's top overlay.
func tapDialogButton(t *testing.T, win fyne.Window, text string) {
	t.Helper()
	top := win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog open")
	}
	b, ok := find(top, func(b *widget.Button) bool { return b.Text == text })
	if !ok {
		t.Fatalf("no %q button in the dialog", text)
	}
	test.Tap(b)
}

func shownIDs(s *ProjectScreen) string {
	var ids []int64
	for _, it := range s.Shown() {
		ids = append(ids, it.ID)
	}
	return fmt.Sprint(ids)
}

func TestProjectScreenRemoveTickedWithUndo(t *testing.T) {
	s, p, win := newRemovingProject(t)
	var events []string
	s.OnRemoved = func(ids []int64, removed bool) { events = append(events, fmt.Sprintf("%v %v", removed, ids)) }
	if !s.removeBtn.Visible() {
		t.Fatal("no Remove button for a project that can remove images")
	}
	// Tick images 2 and 4 through the tick boxes of their rows.
	for _, id := range []int64{2, 4} {
		name := fmt.Sprintf("panel_%03d.png", id)
		row, ok := find(s.list, func(c *fyne.Container) bool {
			_, named := find(c, func(l *widget.Label) bool { return l.Text == name })
			return named && len(c.Objects) == 3
		})
		if !ok {
			t.Fatalf("no row for %s", name)
		}
		check, ok := find(row, func(*widget.Check) bool { return true })
		if !ok {
			t.Fatalf("no tick box in the row of %s", name)
		}
		test.TapAt(check, fyne.NewPos(check.MinSize().Width/2, check.Size().Height/2))
	}
	if got := fmt.Sprint(s.Selection()); got != "[2 4]" {
		t.Fatalf("selection %s, want [2 4]", got)
	}
	if !s.HandleKey(fyne.KeyDelete) {
		t.Fatal("Delete not handled")
	}
	if !dialogShows(win, "Remove 2 images from the project?") || !dialogShows(win, "Ctrl+Z") {
		t.Fatal("no confirmation naming the count and Ctrl+Z")
	}
	tapDialogButton(t, win, "Remove")
	if got := shownIDs(s); got != "[1 3 5]" {
		t.Errorf("after removal the list shows %s", got)
	}
	if got, want := s.Counts(), "3 images · 1 not run · 0 flagged · 1 reviewed · 1 clean"; got != want {
		t.Errorf("counts %q, want %q", got, want)
	}
	if !strings.Contains(s.Status(), "Ctrl+Z to undo") {
		t.Errorf("status %q does not say how to undo", s.Status())
	}
	if len(s.Selection()) != 0 {
		t.Errorf("removed images still selected: %v", s.Selection())
	}
	if !s.UndoRemove() || shownIDs(s) != "[1 2 3 4 5]" {
		t.Errorf("after undo the list shows %s", shownIDs(s))
	}
	if !s.RedoRemove() || shownIDs(s) != "[1 3 5]" {
		t.Errorf("after redo the list shows %s", shownIDs(s))
	}
	if s.RedoRemove() {
		t.Error("redo with nothing to redo")
	}
	if got, want := fmt.Sprint(p.calls), "[true [2 4] false [2 4] true [2 4]]"; got != want {
		t.Errorf("store calls %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(events), "[true [2 4] false [2 4] true [2 4]]"; got != want {
		t.Errorf("OnRemoved %s, want %s", got, want)
	}
}

func TestProjectScreenRemoveCurrentAndCancel(t *testing.T) {
	tests := []struct {
		name    string
		open    int // list row to open first (-1: none)
		confirm string
		calls   string
		shown   string
		status  string
	}{
		{"nothing selected", -1, "", "[]", "[1 2 3 4 5]", "Tick the images"},
		{"opened image, cancelled", 2, "Cancel", "[]", "[1 2 3 4 5]", ""},
		{"opened image, confirmed", 2, "Remove", "[true [3]]", "[1 2 4 5]", "Removed 1 image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, p, win := newRemovingProject(t)
			if tc.open >= 0 {
				s.list.Select(tc.open)
			}
			s.ConfirmRemove()
			if tc.confirm != "" {
				if !dialogShows(win, `Remove "panel_003.png" from the project?`) {
					t.Fatal("no confirmation naming the opened image")
				}
				tapDialogButton(t, win, tc.confirm)
			} else if win.Canvas().Overlays().Top() != nil {
				t.Error("a dialog opened with nothing to remove")
			}
			if got := fmt.Sprint(p.calls); got != tc.calls {
				t.Errorf("store calls %s, want %s", got, tc.calls)
			}
			if got := shownIDs(s); got != tc.shown {
				t.Errorf("list %s, want %s", got, tc.shown)
			}
			if !strings.HasPrefix(s.Status(), tc.status) {
				t.Errorf("status %q, want it to start with %q", s.Status(), tc.status)
			}
		})
	}
}

func TestProjectScreenRemoveError(t *testing.T) {
	s, p, win := newRemovingProject(t)
	p.err = errors.New("project is busy: p.hisir")
	if s.Remove([]int64{1}) {
		t.Fatal("Remove reported success")
	}
	if !dialogShows(win, "p.hisir") {
		t.Error("removal error not shown in a dialog")
	}
	if shownIDs(s) != "[1 2 3 4 5]" || s.UndoRemove() {
		t.Errorf("a failed removal changed the list (%s) or the undo history", shownIDs(s))
	}
}

func TestProjectScreenWithoutRemover(t *testing.T) {
	s, _, _, _, _ := newTestProject(t)
	if s.removeBtn.Visible() {
		t.Error("Remove button shown for a project that cannot remove images")
	}
	if s.HandleKey(fyne.KeyDelete) {
		t.Error("Delete handled without a Remover")
	}
	if _, ok := find(s.list, func(*widget.Check) bool { return true }); ok {
		t.Error("tick boxes shown without a Remover")
	}
}
