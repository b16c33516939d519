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

// ProjectScreen lists a project's images with thumbnails and status, filters them by
// status with counts, runs batch inference with a progress bar, ETA and cancel, and
// exports the project. Errors are shown in dialogs on the window.
type ProjectScreen struct {
	widget.BaseWidget

	// OnOpen is called when an image is chosen in the list.
	OnOpen func(ImageItem)
	// OnBatchDone is called after a batch ends (err is nil, context.Canceled or the failure).
	OnBatchDone func(err error)

	project  Project
	runner   BatchRunner
	exporter Exporter
	win      fyne.Window

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

	cancel  context.CancelFunc
	running bool
	now     func() time.Time
}

var _ fyne.Widget = (*ProjectScreen)(nil)

// NewProjectScreen shows project p; runner and exporter may be nil (their buttons hide).
// win hosts the dialogs.
func NewProjectScreen(p Project, runner BatchRunner, exporter Exporter, win fyne.Window) *ProjectScreen {
	s := &ProjectScreen{project: p, runner: runner, exporter: exporter, win: win, filter: filterAll,
		thumbs: map[int64]image.Image{}, loading: map[int64]bool{}, now: time.Now}
	s.counts = widget.NewLabel("")
	s.status = widget.NewLabel("")
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	s.filterSel = widget.NewSelect(append([]string{filterAll}, Statuses...), func(f string) {
		s.filter = f
		s.applyFilter()
	})
	s.runBtn = widget.NewButtonWithIcon("Run inference", theme.MediaPlayIcon(), func() { s.RunBatch(nil) })
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
	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject {
			img := canvas.NewImageFromImage(nil)
			img.FillMode = canvas.ImageFillContain
			img.SetMinSize(fyne.NewSize(64, 48))
			name := widget.NewLabel("image name")
			name.Truncation = fyne.TextTruncateEllipsis
			st := widget.NewLabel("reviewed (000)")
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
			img := c.Objects[1].(*canvas.Image)
			img.Image = s.thumb(it.ID)
			img.Refresh()
			c.Refresh()
		})
	s.list.OnSelected = func(i widget.ListItemID) {
		if i < len(s.shown) && s.OnOpen != nil {
			s.OnOpen(s.shown[i])
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

// CreateRenderer implements fyne.Widget.
func (s *ProjectScreen) CreateRenderer() fyne.WidgetRenderer {
	title := widget.NewLabelWithStyle("Images", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	bar := container.NewBorder(nil, nil, container.NewHBox(title, widget.NewLabel("Show"), s.filterSel), container.NewHBox(s.runBtn, s.cancelBtn, s.exportBtn))
	top := container.NewVBox(bar, s.counts)
	bottom := container.NewVBox(s.progress, s.status)
	return widget.NewSimpleRenderer(container.NewBorder(top, bottom, nil, nil, s.list))
}
