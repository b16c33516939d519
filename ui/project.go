package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// ThumbSize is the longest side of the project list's thumbnails, in pixels.
const ThumbSize = 96

// filterAll is the filter choice that shows every image.
const filterAll = "all"

// Remover takes images out of a project and puts them back (an undoable soft delete:
// their results and labels are kept). A Project that also implements Remover gets a tick
// box per row and a "Remove" button.
type Remover interface {
	RemoveImages(ctx context.Context, ids []int64) error
	RestoreImages(ctx context.Context, ids []int64) error
}

// ProjectScreen lists a project's images with thumbnails and status, filters them by
// status with counts, runs batch inference with a progress bar, ETA and cancel, exports
// the project and removes images from it (after a confirmation; UndoRemove brings them
// back). Errors are shown in dialogs on the window.
type ProjectScreen struct {
	widget.BaseWidget

	// OnOpen is called when an image is chosen in the list.
	OnOpen func(ImageItem)
	// OnBatchDone is called after a batch ends (err is nil, context.Canceled or the failure).
	OnBatchDone func(err error)
	// OnRemoved is called after images were removed (removed true: by Remove or RedoRemove)
	// or put back (false: by UndoRemove), once the list shows it.
	OnRemoved func(ids []int64, removed bool)

	project  Project
	runner   BatchRunner
	exporter Exporter
	remover  Remover
	win      fyne.Window

	current        int64          // the image last opened (0: none)
	marked         map[int64]bool // ticked images
	undoRm, redoRm [][]int64      // removals to undo and to redo, latest last

	items, shown []ImageItem
	filter       string

	thumbMu sync.Mutex
	thumbs  map[int64]image.Image
	loading map[int64]bool

	list      *widget.List
	filterSel *widget.Select
	counts    *widget.Label
	progress  *widget.ProgressBar
	status    *widget.Label
	runBtn    *widget.Button
	cancelBtn *widget.Button
	exportBtn *widget.Button
	removeBtn *widget.Button

	cancel  context.CancelFunc
	running bool
	now     func() time.Time
}

var _ fyne.Widget = (*ProjectScreen)(nil)

// NewProjectScreen shows project p; runner and exporter may be nil (their buttons hide),
// and images can be removed when p implements Remover. win hosts the dialogs.
func NewProjectScreen(p Project, runner BatchRunner, exporter Exporter, win fyne.Window) *ProjectScreen {
	s := &ProjectScreen{project: p, runner: runner, exporter: exporter, win: win, filter: filterAll,
		thumbs: map[int64]image.Image{}, loading: map[int64]bool{}, marked: map[int64]bool{}, now: time.Now}
	s.remover, _ = p.(Remover)
	s.counts = widget.NewLabel("")
	s.status = widget.NewLabel("")
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	s.filterSel = widget.NewSelect(append([]string{filterAll}, Statuses...), func(f string) {
		s.filter = f
		s.applyFilter()
	})
	s.runBtn = widget.NewButtonWithIcon("Run", theme.MediaPlayIcon(), func() { s.RunBatch(nil) })
	s.runBtn.Importance = widget.HighImportance
	s.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancelBtn.Hide()
	s.exportBtn = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), s.ShowExport)
	if runner == nil {
		s.runBtn.Hide()
	}
	if exporter == nil {
		s.exportBtn.Hide()
	}
	s.removeBtn = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), s.ConfirmRemove)
	if s.remover == nil {
		s.removeBtn.Hide()
	}
	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject {
			img := canvas.NewImageFromImage(nil)
			img.FillMode = canvas.ImageFillContain
			img.SetMinSize(fyne.NewSize(64, 48))
			name := widget.NewLabel("image name")
			name.Truncation = fyne.TextTruncateEllipsis
			st := widget.NewLabel("reviewed (000)")
			if s.remover != nil {
				return container.NewBorder(nil, nil, container.NewHBox(widget.NewCheck("", nil), img), st, name)
			}
			return container.NewBorder(nil, nil, img, st, name)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(s.shown) {
				return
			}
			c := o.(*fyne.Container)
			it := s.shown[i]
			c.Objects[0].(*widget.Label).SetText(it.Name)
			st := it.Status.String()
			if it.Status == Flagged || it.Status == Reviewed {
				st = fmt.Sprintf("%s (%d)", st, it.Defects)
			}
			lbl := c.Objects[2].(*widget.Label)
			lbl.Importance = statusImportance(it.Status)
			lbl.SetText(st)
			var img *canvas.Image
			switch left := c.Objects[1].(type) {
			case *canvas.Image:
				img = left
			case *fyne.Container: // tick box and thumbnail
				check := left.Objects[0].(*widget.Check)
				check.OnChanged = nil
				check.SetChecked(s.marked[it.ID])
				id := it.ID
				check.OnChanged = func(on bool) { s.SetMarked(id, on) }
				img = left.Objects[1].(*canvas.Image)
			}
			img.Image = s.thumb(it.ID)
			img.Refresh()
			c.Refresh()
		})
	s.list.OnSelected = func(i widget.ListItemID) {
		if i < len(s.shown) {
			s.current = s.shown[i].ID
			if s.OnOpen != nil {
				s.OnOpen(s.shown[i])
			}
		}
		s.list.UnselectAll()
	}
	s.filterSel.SetSelected(filterAll)
	s.ExtendBaseWidget(s)
	return s
}

// statusImportance colours a status: flagged warns, reviewed and clean are done.
func statusImportance(s ImageStatus) widget.Importance {
	switch s {
	case Flagged:
		return widget.WarningImportance
	case Reviewed, Clean:
		return widget.SuccessImportance
	}
	return widget.LowImportance
}

// thumb returns a cached thumbnail or starts loading it off the UI goroutine.
func (s *ProjectScreen) thumb(id int64) image.Image {
	s.thumbMu.Lock()
	defer s.thumbMu.Unlock()
	if t, ok := s.thumbs[id]; ok {
		return t
	}
	if !s.loading[id] {
		s.loading[id] = true
		go func() {
			t, err := s.project.Thumbnail(id, ThumbSize)
			if err != nil {
				t = nil // the row keeps its empty thumbnail; opening the image shows the error
			}
			fyne.Do(func() {
				s.thumbMu.Lock()
				s.thumbs[id] = t
				s.thumbMu.Unlock()
				s.list.Refresh()
				s.thumbMu.Lock()
				delete(s.loading, id) // only now: ThumbnailsLoading counts the refresh too
				s.thumbMu.Unlock()
			})
		}()
	}
	return nil
}

// Reload reads the image list again (after a batch or a review) and shows errors in a dialog.
func (s *ProjectScreen) Reload() error {
	items, err := s.project.Images()
	if err != nil {
		s.showError(fmt.Errorf("list project images: %w", err))
		return err
	}
	s.items = items
	s.applyFilter()
	return nil
}

// ThumbnailsLoading is the number of thumbnails still being prepared off the UI goroutine.
// Tests wait for zero before driving the window: Fyne's test driver runs the refresh that
// follows each load on the loading goroutine itself, concurrently with the test.
func (s *ProjectScreen) ThumbnailsLoading() int {
	s.thumbMu.Lock()
	defer s.thumbMu.Unlock()
	return len(s.loading)
}

// Invalidate drops a cached thumbnail (after the image changed).
func (s *ProjectScreen) Invalidate(id int64) {
	s.thumbMu.Lock()
	delete(s.thumbs, id)
	delete(s.loading, id)
	s.thumbMu.Unlock()
}

// SetFilter shows only images of one status ("all" or a Statuses name).
func (s *ProjectScreen) SetFilter(f string) { s.filterSel.SetSelected(f) }

// Shown is the filtered list.
func (s *ProjectScreen) Shown() []ImageItem { return slices.Clone(s.shown) }

// Counts is the counts line ("12 images · 3 not run · …").
func (s *ProjectScreen) Counts() string { return s.counts.Text }

// Status is the batch status line.
func (s *ProjectScreen) Status() string { return s.status.Text }

// Progress is the batch progress bar.
func (s *ProjectScreen) Progress() *widget.ProgressBar { return s.progress }

func (s *ProjectScreen) applyFilter() {
	s.shown = nil
	var n [4]int
	for _, it := range s.items {
		if it.Status >= 0 && int(it.Status) < len(n) {
			n[it.Status]++
		}
		if s.filter == filterAll || s.filter == it.Status.String() {
			s.shown = append(s.shown, it)
		}
	}
	s.counts.SetText(fmt.Sprintf("%d images · %d not run · %d flagged · %d reviewed · %d clean",
		len(s.items), n[NotRun], n[Flagged], n[Reviewed], n[Clean]))
	s.list.Refresh()
}

// Running reports whether a batch is in progress.
func (s *ProjectScreen) Running() bool { return s.running }

// RunBatch runs inference on ids (nil: every image not run yet, or all when none is left)
// in the background, updating the progress bar and ETA; Cancel stops it.
func (s *ProjectScreen) RunBatch(ids []int64) {
	if s.runner == nil || s.running {
		return
	}
	if ids == nil {
		for _, it := range s.items {
			if it.Status == NotRun {
				ids = append(ids, it.ID)
			}
		}
		if len(ids) == 0 {
			for _, it := range s.items {
				ids = append(ids, it.ID)
			}
		}
	}
	if len(ids) == 0 {
		s.status.SetText("Nothing to run.")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.running = cancel, true
	s.progress.SetValue(0)
	s.progress.Show()
	s.cancelBtn.Show()
	s.runBtn.Disable()
	start := s.now()
	s.status.SetText(fmt.Sprintf("Running 0/%d…", len(ids)))
	go func() {
		err := s.runner.RunBatch(ctx, ids, func(done, total int) {
			el := s.now().Sub(start)
			fyne.Do(func() {
				if total > 0 {
					s.progress.SetValue(float64(done) / float64(total))
				}
				s.status.SetText(fmt.Sprintf("Running %d/%d · %s left", done, total, FormatETA(ETA(el, done, total))))
			})
		})
		cancel()
		fyne.Do(func() { s.batchDone(err, len(ids), s.now().Sub(start)) })
	}()
}

func (s *ProjectScreen) batchDone(err error, n int, took time.Duration) {
	s.running, s.cancel = false, nil
	s.cancelBtn.Hide()
	s.runBtn.Enable()
	switch {
	case err == nil:
		s.progress.SetValue(1)
		s.status.SetText(fmt.Sprintf("Done: %d images in %s.", n, took.Round(100*time.Millisecond)))
	case errors.Is(err, context.Canceled):
		s.status.SetText("Cancelled.")
	default:
		s.status.SetText("Failed.")
		s.showError(fmt.Errorf("batch inference: %w", err))
	}
	s.progress.Hide()
	_ = s.Reload()
	if s.OnBatchDone != nil {
		s.OnBatchDone(err)
	}
}

// Cancel stops a running batch (the images already done stay saved).
func (s *ProjectScreen) Cancel() {
	if s.cancel != nil {
		s.cancel()
		s.status.SetText("Cancelling…")
	}
}

// ETA estimates the time left from the time spent on done of total items.
func ETA(elapsed time.Duration, done, total int) time.Duration {
	if done <= 0 || total <= done {
		return 0
	}
	return time.Duration(float64(elapsed) / float64(done) * float64(total-done))
}

// FormatETA writes a duration as "45 s", "3 min 20 s" or "1 h 05 min".
func FormatETA(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min", s/3600, s/60%60)
}

func (s *ProjectScreen) showError(err error) {
	if s.win != nil {
		dialog.ShowError(err, s.win)
	}
}

// ShowExport opens the export dialog: a format and a destination folder.
func (s *ProjectScreen) ShowExport() {
	if s.exporter == nil || s.win == nil {
		return
	}
	format := widget.NewSelect(ExportFormats, nil)
	format.SetSelected(ExportFormats[0])
	dir := widget.NewEntry()
	dir.SetPlaceHolder("/path/to/folder")
	browse := widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() {
		dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				dir.SetText(u.Path())
			}
		}, s.win)
	})
	items := []*widget.FormItem{
		widget.NewFormItem("Format", format),
		widget.NewFormItem("Folder", container.NewBorder(nil, nil, nil, browse, dir)),
	}
	d := dialog.NewForm("Export project", "Export", "Cancel", items, func(ok bool) {
		if ok {
			s.Export(format.Selected, dir.Text)
		}
	}, s.win)
	d.Resize(fyne.NewSize(480, 220))
	d.Show()
}

// Export writes the project in format to dir in the background; failures open a dialog.
func (s *ProjectScreen) Export(format, dir string) {
	if dir == "" {
		s.showError(errors.New("export: choose a destination folder"))
		return
	}
	s.status.SetText(fmt.Sprintf("Exporting %s to %s…", format, dir))
	go func() {
		err := s.exporter.Export(context.Background(), format, dir)
		fyne.Do(func() {
			if err != nil {
				s.showError(fmt.Errorf("export %s to %s: %w", format, dir, err))
				s.status.SetText("Export failed.")
				return
			}
			s.status.SetText(fmt.Sprintf("Exported %s to %s.", format, dir))
		})
	}()
}

// SetCurrent records the image shown (opened from the list or elsewhere): it is the one
// "Remove" takes when no image is ticked.
func (s *ProjectScreen) SetCurrent(id int64) { s.current = id }

// SetMarked ticks or unticks an image.
func (s *ProjectScreen) SetMarked(id int64, on bool) {
	if on {
		s.marked[id] = true
	} else {
		delete(s.marked, id)
	}
}

// Selection is what "Remove" takes: the ticked images still listed, in list
// order, or else the current image when it is listed.
func (s *ProjectScreen) Selection() []int64 {
	var ids []int64
	for _, it := range s.items {
		if s.marked[it.ID] {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 && s.current != 0 && slices.ContainsFunc(s.items, func(it ImageItem) bool { return it.ID == s.current }) {
		ids = []int64{s.current}
	}
	return ids
}

// HandleKey removes the selection (after the confirmation) on Delete and reports whether
// it used the key.
func (s *ProjectScreen) HandleKey(k fyne.KeyName) bool {
	if k != fyne.KeyDelete || s.remover == nil {
		return false
	}
	s.ConfirmRemove()
	return true
}

// ConfirmRemove asks whether to remove the selected images from the project, saying that
// Undo brings them back, and removes them when confirmed.
func (s *ProjectScreen) ConfirmRemove() {
	if s.remover == nil {
		return
	}
	ids := s.Selection()
	if len(ids) == 0 {
		s.status.SetText("Tick the images to remove (or open one) first.")
		return
	}
	if s.win == nil {
		return
	}
	what, its, it := fmt.Sprintf("%d images", len(ids)), "Their", "them"
	if len(ids) == 1 {
		what, its, it = fmt.Sprintf("%q", s.name(ids[0])), "Its", "it"
	}
	msg := widget.NewLabel(fmt.Sprintf("Remove %s from the project?\n\n%s results, decisions and labels are kept: "+
		"Undo (Ctrl+Z) brings %s back.", what, its, it))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm("Remove from project", "Remove", "Cancel", msg, func(ok bool) {
		if ok {
			s.Remove(ids)
		}
	}, s.win)
	d.Resize(fyne.NewSize(420, 200))
	d.Show()
}

// images is "1 image" or "n images".
func images(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}

func (s *ProjectScreen) name(id int64) string {
	for _, it := range s.items {
		if it.ID == id {
			return it.Name
		}
	}
	return fmt.Sprintf("image %d", id)
}

// Remove takes images out of the project at once (no confirmation) and remembers it for
// UndoRemove; false when it failed (the error is shown in a dialog).
func (s *ProjectScreen) Remove(ids []int64) bool {
	if !s.setRemoved(ids, true) {
		return false
	}
	s.undoRm = append(s.undoRm, slices.Clone(ids))
	s.redoRm = nil
	return true
}

// UndoRemove puts the images of the latest removal back; false when there is none or it
// failed.
func (s *ProjectScreen) UndoRemove() bool { return s.replayRemove(&s.undoRm, &s.redoRm, false) }

// RedoRemove removes again the images of the latest UndoRemove; false when there is none
// or it failed.
func (s *ProjectScreen) RedoRemove() bool { return s.replayRemove(&s.redoRm, &s.undoRm, true) }

// replayRemove applies the latest entry of from (removed or put back) and moves it to to.
func (s *ProjectScreen) replayRemove(from, to *[][]int64, removed bool) bool {
	n := len(*from)
	if n == 0 || !s.setRemoved((*from)[n-1], removed) {
		return false
	}
	*to = append(*to, (*from)[n-1])
	*from = (*from)[:n-1]
	return true
}

func (s *ProjectScreen) setRemoved(ids []int64, removed bool) bool {
	if s.remover == nil || len(ids) == 0 {
		return false
	}
	ctx := context.Background()
	var err error
	if removed {
		err = s.remover.RemoveImages(ctx, ids)
	} else {
		err = s.remover.RestoreImages(ctx, ids)
	}
	if err != nil {
		verb := "restore"
		if removed {
			verb = "remove"
		}
		s.status.SetText(fmt.Sprintf("Could not %s the images.", verb))
		s.showError(fmt.Errorf("%s %d images: %w", verb, len(ids), err))
		return false
	}
	for _, id := range ids {
		delete(s.marked, id)
	}
	if removed {
		s.status.SetText(fmt.Sprintf("Removed %s from the project · Ctrl+Z to undo.", images(len(ids))))
	} else {
		s.status.SetText(fmt.Sprintf("Put %s back into the project.", images(len(ids))))
	}
	_ = s.Reload()
	if s.OnRemoved != nil {
		s.OnRemoved(slices.Clone(ids), removed)
	}
	return true
}

// CreateRenderer implements fyne.Widget.
func (s *ProjectScreen) CreateRenderer() fyne.WidgetRenderer {
	title := widget.NewLabelWithStyle("Images", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// Two short rows, so the list stays narrow and the viewer gets the width.
	bar := container.NewBorder(nil, nil, title, container.NewHBox(widget.NewLabel("Show"), s.filterSel))
	actions := container.NewHBox(s.runBtn, s.cancelBtn, s.exportBtn, s.removeBtn)
	top := container.NewVBox(bar, actions, s.counts)
	bottom := container.NewVBox(s.progress, s.status)
	return widget.NewSimpleRenderer(container.NewBorder(top, bottom, nil, nil, s.list))
}
