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
