package main

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/ui"
)

// gui is the main window: project list on the left, the viewer with the threshold
// slider in the middle, review / labels / tuning / view / model tabs on the right, a
// toolbar on top and a status bar below.
type gui struct {
	a    fyne.App
	w    fyne.Window
	opts guiOptions
	b    *backend

	viewer  *ui.Viewer
	slider  *ui.ThresholdSlider
	review  *ui.ReviewPanel
	project *ui.ProjectScreen
	tuning  *ui.TuningChart
	tabs    *container.AppTabs

	labelTab   *container.TabItem
	labelClass *widget.Select
	labelInfo  *widget.Label
	tuningNote *widget.Label
	modelCard  *widget.Label

	statusMsg, statusPos, statusModel *widget.Label

	cur         *openedImage
	editor      *ui.LabelEditor
	labelSync   *labelSync
	labelMode   bool
	quietSelect bool
	classes     []string

	// hist and histRedo order the window's undoable actions for Ctrl+Z and redo: removals
	// from the project (histRemove) and review or label edits (histEdit, undone by the
	// review panel or the label editor). replaying is set while those undo or redo.
	hist, histRedo []histKind
	replaying      bool
}

// histKind is what one entry of the window's undo history undoes.
type histKind int

const (
	histEdit   histKind = iota // a review decision or a label edit
	histRemove                 // images removed from the project
)

func newGUI(a fyne.App, w fyne.Window, o guiOptions) *gui {
	return &gui{a: a, w: w, opts: o, classes: append([]string(nil), ui.Classes...)}
}

// start opens the project and the model off the UI goroutine, then builds the window.
func (g *gui) start(ctx context.Context) {
	if err := g.open(ctx); err != nil {
		fyne.Do(func() {
			g.w.SetContent(container.NewCenter(widget.NewLabel("No project open.")))
			d := dialog.NewError(err, g.w)
			d.SetOnClosed(g.w.Close)
			d.Show()
		})
		fmt.Fprintln(os.Stderr, "hisir:", err)
		return
	}
	fyne.Do(g.build)
}

// open resolves the project and model from the flags and opens them.
func (g *gui) open(ctx context.Context) error {
	project, model := g.opts.project, g.opts.model
	var images []string
	if g.opts.demo {
		p, ims, m, err := demoSetup()
		if err != nil {
			return err
		}
		if project == "" {
			project = p
		}
		if model == "" {
			model = m
		}
		images = ims
		g.opts.autorun = true
	}
	if project == "" {
		p, err := defaultProjectPath(g.a)
		if err != nil {
			return err
		}
		project = p
	}
	if model == "" {
		m, err := guiModelPath()
		if err != nil {
			return err
		}
		model = m
	}
	b, err := openBackend(ctx, project, model)
	if err != nil {
		return err
	}
	if len(images) > 0 {
		if _, err := b.ImportFiles(ctx, images); err != nil {
			b.Close()
			return fmt.Errorf("demo: import samples: %w", err)
		}
		if err := addDemoLabels(ctx, b.st, b.who); err != nil {
			b.Close()
			return err
		}
		if err := setDemoThreshold(ctx, b); err != nil {
			b.Close()
			return err
		}
	}
	g.b = b
	g.a.Preferences().SetString("lastProject", b.st.Path())
	return nil
}

func (g *gui) close() {
	if g.b != nil {
		g.b.Close()
	}
}

// build lays out the window (on the UI goroutine, once the backend is open).
func (g *gui) build() {
	g.viewer = ui.NewViewer()
	g.viewer.OnHover = g.hover
	g.viewer.OnTypedRune = func(r rune) { g.typedRune(r) }
	g.viewer.OnTypedKey = func(ev *fyne.KeyEvent) { g.typedKey(ev) }

	lo, hi := 0.0, 1.0
	if g.b.norm == normCalibrated {
		// Room on both sides of the model's default and of the saved threshold.
		lo, hi = 0, math.Ceil(max(5, 2*engine.DefaultThreshold(g.b.info), 1.5*g.b.Threshold()))
	}
	g.slider = ui.NewThresholdSlider(lo, hi, 0.01)
	g.slider.SetValue(g.b.Threshold())
	g.viewer.SetThreshold(g.b.Threshold())
	g.viewer.SetHeatmap(0.45, ui.Turbo, math.Max(2, 2*g.b.Threshold()))
	g.slider.OnChanged = func(t float64) {
		g.viewer.SetThreshold(t)
		g.tuning.SetThreshold(t)
	}
	g.slider.OnCommit = g.commitThreshold

	g.review = ui.NewReviewPanel(g.b, g.classes)
	g.review.OnSelect = func(d ui.Defect) {
		g.viewer.SetDefects(g.review.Defects(), d.ID)
		if !g.quietSelect {
			g.viewer.ShowRect(d.Box)
		}
	}
	g.review.OnChanged = func(ds []ui.Defect) {
		sel := int64(-1)
		if d, ok := g.review.Selected(); ok {
			sel = d.ID
		}
		g.viewer.SetDefects(ds, sel)
		g.edited()
		g.refreshProjectSoon()
	}
	g.review.OnError = g.showError
	g.review.OnTypedRune = func(r rune) { g.viewer.HandleRune(r) }
	g.review.OnTypedKey = func(ev *fyne.KeyEvent) { g.typedKey(ev) }
	g.review.OnShortcut = func(s fyne.Shortcut) bool { // undo keeps the window's order when the panel has the focus
		switch {
		case ui.IsUndo(s):
			g.undo()
		case ui.IsRedo(s):
			g.redo()
		default:
			return false
		}
		return true
	}

	g.project = ui.NewProjectScreen(g.b, g.b, g.b, g.w)
	g.project.OnOpen = func(it ui.ImageItem) { g.openImage(it.ID) }
	g.project.OnBatchDone = g.batchDone
	g.project.OnRemoved = g.imagesRemoved
	g.hist, g.histRedo = nil, nil

	g.tuning = ui.NewTuningChart()
	g.tuning.SetThreshold(g.b.Threshold())
	g.tuning.OnTapped = func(t float64) {
		g.slider.SetValue(t)
		g.viewer.SetThreshold(t)
		g.commitThreshold(t)
	}
	g.tuningNote = widget.NewLabel("Precision and recall are measured against the labels and accepted detections of every image run so far.")
	g.tuningNote.Wrapping = fyne.TextWrapWord

	g.statusMsg = widget.NewLabel("Ready.")
	g.statusPos = widget.NewLabel("")
	g.statusPos.TextStyle.Monospace = true
	g.statusModel = widget.NewLabel(describeModel(g.b.info))

	g.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Review", theme.ConfirmIcon(), g.review),
		g.buildLabelTab(),
		container.NewTabItemWithIcon("Tuning", theme.GridIcon(), g.buildTuningTab()),
		container.NewTabItemWithIcon("View", theme.VisibilityIcon(), g.buildViewTab()),
		container.NewTabItemWithIcon("Model", theme.InfoIcon(), g.buildModelTab()),
	)
	g.tabs.OnSelected = func(t *container.TabItem) {
		g.setLabelMode(t == g.labelTab)
		if t.Text == "Tuning" {
			g.computeTuning()
		}
	}

	center := container.NewBorder(nil, container.NewPadded(g.slider), nil, nil, g.viewer)
	right := container.NewHSplit(center, g.tabs)
	right.SetOffset(0.74)
	main := container.NewHSplit(g.project, right)
	main.SetOffset(0.2)
	status := container.NewBorder(nil, nil, g.statusMsg, container.NewHBox(g.statusPos, widget.NewSeparator(), g.statusModel))
	g.w.SetContent(container.NewBorder(g.toolbar(), container.NewVBox(widget.NewSeparator(), status), nil, nil, main))
	g.shortcuts()
	g.w.SetTitle("HiSIR Desk — " + filepath.Base(g.b.st.Path()))

	if err := g.project.Reload(); err == nil {
		items := g.project.Shown()
		if len(items) > 0 {
			g.openImage(items[0].ID)
		} else {
			g.setStatus("The project is empty: add a folder of board photos with + in the toolbar, or start with hisir --demo.")
		}
		if g.opts.autorun {
			if ids, err := g.b.notRun(context.Background()); err != nil {
				g.showError(err)
			} else if len(ids) > 0 {
				g.project.RunBatch(ids)
			}
		}
	}
	g.w.Canvas().Focus(g.viewer)
}

func (g *gui) toolbar() fyne.CanvasObject {
	return widget.NewToolbar(
		widget.NewToolbarAction(theme.FolderOpenIcon(), g.openProjectDialog),
		widget.NewToolbarAction(theme.ContentAddIcon(), g.importDialog),
		widget.NewToolbarAction(theme.MediaPlayIcon(), g.runCurrent),
		widget.NewToolbarSeparator(),
		widget.NewToolbarAction(theme.ZoomFitIcon(), g.viewer.Fit),
		widget.NewToolbarAction(theme.ViewFullScreenIcon(), g.viewer.ActualSize),
		widget.NewToolbarAction(theme.ZoomInIcon(), func() { g.viewer.ZoomBy(2) }),
		widget.NewToolbarAction(theme.ZoomOutIcon(), func() { g.viewer.ZoomBy(0.5) }),
		widget.NewToolbarSeparator(),
		widget.NewToolbarAction(theme.ColorPaletteIcon(), func() { g.toggle(ui.OverlayHeatmap) }),
		widget.NewToolbarAction(theme.VisibilityIcon(), func() { g.toggle(ui.OverlayOutlines) }),
		widget.NewToolbarAction(theme.ViewRestoreIcon(), g.cycleTwin),
		widget.NewToolbarAction(theme.DocumentCreateIcon(), func() { g.tabs.Select(g.labelTab) }),
		widget.NewToolbarSeparator(),
		widget.NewToolbarAction(theme.ContentUndoIcon(), g.undo),
		widget.NewToolbarAction(theme.ContentRedoIcon(), g.redo),
		widget.NewToolbarSpacer(),
		widget.NewToolbarAction(theme.HelpIcon(), g.showHelp),
	)
}

func (g *gui) toggle(o ui.Overlay) {
	g.viewer.ShowOverlay(o, !g.viewer.OverlayShown(o))
}

func (g *gui) cycleTwin() {
	g.viewer.SetTwinMode((g.viewer.TwinMode() + 1) % 3)
	g.setStatus("Twin image: " + g.viewer.TwinMode().String())
}

// shortcuts registers the window-wide keys (they work whatever has focus).
func (g *gui) shortcuts() {
	c := g.w.Canvas()
	c.SetOnTypedRune(g.typedRune)
	c.SetOnTypedKey(g.typedKey)
	c.AddShortcut(ui.UndoShortcut, func(fyne.Shortcut) { g.undo() })
	c.AddShortcut(ui.RedoShortcut, func(fyne.Shortcut) { g.redo() })
	c.AddShortcut(ui.RedoShortcutAlt, func(fyne.Shortcut) { g.redo() })
}

// typedRune routes a letter: viewer keys first, then review or label keys.
func (g *gui) typedRune(r rune) {
	if g.viewer.HandleRune(r) {
		return
	}
	if r == '?' {
		g.showHelp()
		return
	}
	if !g.labelMode {
		g.review.HandleRune(r)
	}
}

func (g *gui) typedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyF1 {
		g.showHelp()
		return
	}
	if g.labelMode && g.editor != nil && g.editor.Key(ev.Name) {
		return
	}
	if !g.labelMode {
		if g.project.HandleKey(ev.Name) {
			return
		}
		g.review.HandleKey(ev.Name)
	}
}

// edited records a new review decision or label edit in the window's undo history.
func (g *gui) edited() {
	if g.replaying {
		return
	}
	g.hist = append(g.hist, histEdit)
	g.histRedo = nil
}

// undo reverts the window's latest action: a removal from the project, or else (as before
// removals existed) the label editor's or the review panel's latest edit. Edits whose
// panel was reset by opening another image are skipped.
func (g *gui) undo() { g.step(&g.hist, &g.histRedo, true) }

// redo re-applies the latest undone action; see undo.
func (g *gui) redo() { g.step(&g.histRedo, &g.hist, false) }

func (g *gui) step(from, to *[]histKind, undo bool) {
	for {
		n := len(*from)
		if n > 0 && (*from)[n-1] == histRemove {
			ok := g.project.RedoRemove
			if undo {
				ok = g.project.UndoRemove
			}
			g.replaying = true
			done := ok()
			g.replaying = false
			if done {
				*from, *to = (*from)[:n-1], append(*to, histRemove)
			}
			return
		}
		g.replaying = true
		var ok bool
		switch {
		case g.labelMode && g.editor != nil && undo:
			ok = g.editor.Undo()
		case g.labelMode && g.editor != nil:
			ok = g.editor.Redo()
		case undo:
			ok = g.review.Undo()
		default:
			ok = g.review.Redo()
		}
		g.replaying = false
		if n > 0 {
			*from = (*from)[:n-1]
		}
		if ok {
			*to = append(*to, histEdit)
			return
		}
		if n == 0 {
			return
		}
	}
}

// imagesRemoved follows a removal (or its undo) in the viewer: when the image shown was
// removed the first listed one opens instead; images put back open the first of them.
func (g *gui) imagesRemoved(ids []int64, removed bool) {
	if removed && !g.replaying { // a new removal (not its redo)
		g.hist = append(g.hist, histRemove)
		g.histRedo = nil
	}
	if !removed {
		g.openImage(ids[0])
		return
	}
	if g.cur == nil || !slices.Contains(ids, g.cur.im.ID) {
		return
	}
	if items := g.project.Shown(); len(items) > 0 {
		g.openImage(items[0].ID)
		return
	}
	g.clearImage()
}

// clearImage empties the viewer and the panels (no image left to show).
func (g *gui) clearImage() {
	g.cur, g.editor = nil, nil
	g.viewer.SetEditor(nil)
	g.viewer.SetScores(nil)
	g.viewer.SetTwin(nil)
	g.viewer.SetPyramid(nil)
	g.viewer.SetLabels(nil)
	g.review.SetDefects(nil)
	g.viewer.SetDefects(nil, -1)
	g.setStatus("The project has no images left: Ctrl+Z puts the removed ones back.")
}

// helpText lists every keyboard shortcut.
const helpText = `Viewer
  F            fit the image to the window
  1            1:1 (one image pixel per screen pixel)
  + / −        zoom in / out (Ctrl+scroll zooms at the pointer)
  drag, scroll pan
  H  M  O  L   heatmap, threshold mask, defect outlines, labels
  T            twin image: off → side by side → flicker
  Space        swap image and twin while flickering

Review
  A / R        accept / reject the selected defect (then next)
  C            next class (or pick one in the list)
  J / K, ↓ / ↑ next / previous defect
  Ctrl+Z       undo    Ctrl+Shift+Z or Ctrl+Y   redo

Project list
  tick boxes   select images; Delete or "Remove" removes the
               ticked ones (or the image shown) after a confirmation;
               Ctrl+Z puts them back with their results and labels

Labels (Labels tab)
  click        add a vertex; click the first vertex or Enter to close
  Esc          cancel the polygon / deselect
  drag         move a vertex or a whole polygon
  click edge   insert a vertex (selected polygon)
  Delete       delete the selected vertex or polygon

Threshold
  drag the slider: the mask recolours live; release to recompute and save
  tap the tuning chart to pick a threshold

F1 or ?        this help`

func (g *gui) showHelp() {
	t := widget.NewLabel(helpText)
	t.TextStyle.Monospace = true
	d := dialog.NewCustom("Keyboard shortcuts", "Close", container.NewVScroll(t), g.w)
	d.Resize(fyne.NewSize(620, 640))
	d.Show()
}

func (g *gui) setStatus(msg string) { g.statusMsg.SetText(msg) }

func (g *gui) showError(err error) {
	g.setStatus("Error: " + firstLine(err.Error()))
	dialog.ShowError(err, g.w)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// hover shows the pixel under the pointer and its score.
func (g *gui) hover(p image.Point, ok bool) {
	if !ok || g.cur == nil || p.X < 0 || p.Y < 0 || p.X >= g.cur.pyr.W || p.Y >= g.cur.pyr.H {
		g.statusPos.SetText("")
		return
	}
	txt := fmt.Sprintf("x %4d  y %4d", p.X, p.Y)
	if s := g.cur.scores; s != nil {
		txt += fmt.Sprintf("  score %.2f", s.V[p.Y*s.W+p.X])
	}
	g.statusPos.SetText(txt)
}

// openImage loads an image in the background and shows it.
func (g *gui) openImage(id int64) {
	g.setStatus("Opening image…")
	go func() {
		start := time.Now()
		o, err := g.b.openImage(context.Background(), id)
		var twin image.Image
		if err == nil {
			if tp := twinPath(o.im.Path); tp != "" {
				twin, _ = decodeDisplay(tp) // a broken twin only loses the comparison
			}
		}
		fyne.Do(func() {
			if err != nil {
				g.showError(err)
				return
			}
			g.show(o, twin)
			g.setStatus(fmt.Sprintf("%s · %d×%d · opened in %d ms", filepath.Base(o.im.Path), o.pyr.W, o.pyr.H, time.Since(start).Milliseconds()))
		})
	}()
}

// show puts an opened image on screen (UI goroutine).
func (g *gui) show(o *openedImage, twin image.Image) {
	g.cur = o
	g.project.SetCurrent(o.im.ID)
	g.viewer.SetPyramid(o.pyr)
	g.viewer.SetTwin(twin)
	g.showResults()
	g.editor = nil
	if g.labelMode {
		g.startEditor()
	} else {
		g.viewer.SetLabels(uiLabels(o))
	}
}

// showResults shows the opened image's scores and defects.
func (g *gui) showResults() {
	o := g.cur
	if o.scores != nil {
		g.viewer.SetScores(ui.NewScores(o.scores.W, o.scores.H, o.scores.V))
	} else {
		g.viewer.SetScores(nil)
	}
	ds := uiDefects(o.dets)
	g.quietSelect = true // a new result set shows the whole image, not its first defect
	g.review.SetDefects(ds)
	g.quietSelect = false
	sel := int64(-1)
	if d, ok := g.review.Selected(); ok {
		sel = d.ID
	}
	g.viewer.SetDefects(g.review.Defects(), sel)
}

func uiLabels(o *openedImage) []ui.Label {
	out := make([]ui.Label, len(o.labels))
	for i, l := range o.labels {
		out[i] = ui.Label{ID: l.ID, Class: l.Class, Polygon: l.Polygon}
	}
	return out
}

// commitThreshold recomputes the current image's defects at t and saves t.
func (g *gui) commitThreshold(t float64) {
	o := g.cur
	g.tuning.SetThreshold(t)
	g.viewer.SetHeatmap(0.45, ui.Turbo, math.Max(2, 2*t))
	go func() {
		ctx := context.Background()
		start := time.Now()
		err := g.b.SaveThreshold(ctx, t)
		if err == nil && o != nil {
			err = g.b.rethreshold(ctx, o, t)
		}
		took := time.Since(start)
		fyne.Do(func() {
			if err != nil {
				g.showError(err)
				return
			}
			if o != nil && o == g.cur {
				g.showResults()
			}
			g.setStatus(fmt.Sprintf("Threshold %.2f saved · %d defects · %d ms", t, len(g.review.Defects()), took.Milliseconds()))
			g.refreshProjectSoon()
		})
	}()
}

// runCurrent runs the model on the image shown.
func (g *gui) runCurrent() {
	if g.cur == nil {
		return
	}
	g.project.RunBatch([]int64{g.cur.im.ID})
}

// batchDone reloads the image shown after a batch (it may have new results).
func (g *gui) batchDone(err error) {
	if g.cur != nil {
		g.openImage(g.cur.im.ID)
	}
	if err != nil {
		return
	}
	n := 0
	if g.cur != nil {
		n = len(g.cur.dets)
	}
	items := g.project.Shown()
	flagged := 0
	for _, it := range items {
		if it.Status == ui.Flagged {
			flagged++
		}
	}
	// A line for scripts and the smoke test.
	fmt.Printf("hisir: batch done: %d images, %d flagged, model %s\n", len(items), flagged, g.b.info.Name)
	_ = n
}

func (g *gui) refreshProjectSoon() {
	go func() {
		fyne.Do(func() { _ = g.project.Reload() })
	}()
}

// setLabelMode turns the polygon tool on or off.
func (g *gui) setLabelMode(on bool) {
	if g.labelMode == on {
		return
	}
	g.labelMode = on
	if on {
		g.startEditor()
		g.setStatus("Labelling: click to add vertices, Enter to close, drag to move; see Help (F1).")
		return
	}
	g.viewer.SetEditor(nil)
	if g.cur != nil {
		ls, err := g.b.st.Labels(context.Background(), g.cur.im.ID)
		if err != nil {
			g.showError(fmt.Errorf("read labels: %w", err))
		} else {
			g.cur.labels = ls
		}
		g.viewer.SetLabels(uiLabels(g.cur))
	}
	g.setStatus("Review mode.")
}

func (g *gui) startEditor() {
	if g.cur == nil {
		return
	}
	e := ui.NewLabelEditor(uiLabels(g.cur))
	if g.labelClass != nil && g.labelClass.Selected != "" {
		e.SetClass(g.labelClass.Selected)
	}
	sync := newLabelSync(g.b, g.cur.im.ID, e.Labels())
	e.OnChanged = func(ls []ui.Label) {
		if err := sync.SaveLabels(ls); err != nil {
			g.showError(err)
			return
		}
		g.edited()
		g.labelInfo.SetText(fmt.Sprintf("%d labels saved.", len(ls)))
		g.refreshProjectSoon()
	}
	e.OnSelect = func(i int) {
		if i >= 0 {
			g.labelClass.SetSelected(e.Labels()[i].Class)
		}
	}
	g.editor, g.labelSync = e, sync
	g.viewer.SetEditor(e)
	g.labelInfo.SetText(fmt.Sprintf("%d labels.", len(e.Labels())))
}

func (g *gui) buildLabelTab() *container.TabItem {
	g.labelInfo = widget.NewLabel("")
	g.labelClass = widget.NewSelect(g.classes, func(c string) {
		if g.editor != nil {
			g.editor.SetClass(c)
		}
	})
	g.labelClass.SetSelected(g.classes[0])
	custom := widget.NewEntry()
	custom.SetPlaceHolder("custom class")
	addClass := func() {
		c := strings.TrimSpace(custom.Text)
		if c == "" {
			return
		}
		if _, err := g.b.st.AddClass(context.Background(), c, ""); err != nil {
			g.showError(fmt.Errorf("add class %q: %w", c, err))
			return
		}
		g.classes = append(g.classes, c)
		g.labelClass.SetOptions(g.classes)
		g.labelClass.SetSelected(c)
		g.review.AddClass(c)
		custom.SetText("")
	}
	custom.OnSubmitted = func(string) { addClass() }
	fromDetection := widget.NewButtonWithIcon("Selected detection → polygon", theme.ContentCopyIcon(), func() {
		d, ok := g.review.Selected()
		if !ok || g.editor == nil {
			g.setStatus("Select a detection in the Review tab first.")
			return
		}
		poly := d.Outline
		if len(poly) < 3 {
			poly = engine.BoxPolygon(d.Box)
		}
		class := d.Class
		if class == "" {
			class = g.labelClass.Selected
		}
		g.editor.Add(class, poly)
	})
	allDetections := widget.NewButtonWithIcon("Accepted detections → polygons", theme.ContentPasteIcon(), func() {
		if g.editor == nil {
			return
		}
		for _, d := range g.review.Defects() {
			if d.Decision == ui.Accepted {
				class := d.Class
				if class == "" {
					class = g.labelClass.Selected
				}
				g.editor.Add(class, d.Outline)
			}
		}
	})
	del := widget.NewButtonWithIcon("Delete selected", theme.DeleteIcon(), func() {
		if g.editor != nil {
			g.editor.DeleteSelected()
		}
	})
	help := widget.NewLabel("Click to add vertices; click the first vertex or press Enter to close. Drag vertices or polygons; click an edge of the selected polygon to insert a vertex; Delete removes.")
	help.Wrapping = fyne.TextWrapWord
	box := container.NewVBox(
		widget.NewLabelWithStyle("Polygon labels", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		help,
		widget.NewForm(widget.NewFormItem("Class", g.labelClass),
			widget.NewFormItem("New class", container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("", theme.ContentAddIcon(), addClass), custom))),
		fromDetection, allDetections, del,
		container.NewGridWithColumns(2,
			widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), g.undo),
			widget.NewButtonWithIcon("Redo", theme.ContentRedoIcon(), g.redo)),
		g.labelInfo,
	)
	g.labelTab = container.NewTabItemWithIcon("Labels", theme.DocumentCreateIcon(), container.NewVScroll(box))
	if cs, err := g.b.st.Classes(context.Background()); err == nil {
		for _, c := range cs {
			g.classes = append(g.classes, c.Name)
			g.review.AddClass(c.Name)
		}
		g.labelClass.SetOptions(g.classes)
	}
	return g.labelTab
}

func (g *gui) buildTuningTab() fyne.CanvasObject {
	return container.NewBorder(
		widget.NewLabelWithStyle("Threshold tuning", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		g.tuningNote, nil, nil, g.tuning)
}

// computeTuning measures precision, recall and false alarms per clean board over the
// project's images with results, against labels and accepted detections, in the background.
func (g *gui) computeTuning() {
	g.tuningNote.SetText("Measuring…")
	lo, hi := 0.1, max(4, 2*engine.DefaultThreshold(g.b.info))
	if g.b.norm != normCalibrated {
		lo, hi = 0.02, 1.0
	}
	go func() {
		pts, n, clean, err := g.b.tuningCurve(context.Background(), lo, hi, 40)
		fyne.Do(func() {
			if err != nil {
				g.tuningNote.SetText("")
				g.showError(err)
				return
			}
			g.tuning.SetPoints(pts)
			if n == 0 {
				g.tuningNote.SetText("No image has both results and ground truth (labels or decisions) yet.")
				return
			}
			g.tuningNote.SetText(fmt.Sprintf("%d images with ground truth, %d of them defect-free. Tap the chart to pick a threshold.", n, clean))
		})
	}()
}

func (g *gui) buildViewTab() fyne.CanvasObject {
	check := func(label string, o ui.Overlay) *widget.Check {
		c := widget.NewCheck(label, func(on bool) { g.viewer.ShowOverlay(o, on) })
		c.SetChecked(g.viewer.OverlayShown(o))
		return c
	}
	opacity := widget.NewSlider(0, 1)
	opacity.Step = 0.05
	opacity.SetValue(0.45)
	cmap := widget.NewSelect(ui.Colormaps, nil)
	cmap.SetSelected("turbo")
	apply := func() {
		c := ui.Turbo
		for i, n := range ui.Colormaps {
			if n == cmap.Selected {
				c = ui.Colormap(i)
			}
		}
		g.viewer.SetHeatmap(opacity.Value, c, math.Max(2, 2*g.slider.Value()))
	}
	opacity.OnChanged = func(float64) { apply() }
	cmap.OnChanged = func(string) { apply() }
	twin := widget.NewRadioGroup([]string{"off", "side by side", "flicker"}, func(s string) {
		for m := ui.TwinOff; m <= ui.TwinFlicker; m++ {
			if m.String() == s {
				g.viewer.SetTwinMode(m)
			}
		}
	})
	twin.SetSelected("off")
	return container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Overlays", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		check("Heatmap (H)", ui.OverlayHeatmap),
		check("Threshold mask (M)", ui.OverlayMask),
		check("Defect outlines (O)", ui.OverlayOutlines),
		check("Labels (L)", ui.OverlayLabels),
		widget.NewForm(widget.NewFormItem("Opacity", opacity), widget.NewFormItem("Colours", cmap)),
		widget.NewLabelWithStyle("Twin (golden) image (T)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		twin,
	))
}

func (g *gui) buildModelTab() fyne.CanvasObject {
	info := g.b.info
	cal := "none: scores are per-image min-max; run calibrate for a line-wide threshold"
	if c := info.Calibration; c != nil {
		cal = fmt.Sprintf("%d images, q50 %.4g, q99.9 %.4g (%s merge, %s cell, blur σ %.1f)", c.Images, c.Q50, c.Q999, c.Merge, c.CellStat, c.BlurSigma)
	}
	txt := fmt.Sprintf("Name: %s\nFile: %s\nBackbone: %s, patch %d, stride %d\nSIR-Gate: %v, positional encoding: %v\nProvider: %s\nCalibration: %s\nProject: %s",
		info.Name, info.Path, info.Backbone, info.PatchSize, info.Stride, info.Gate, info.PositionalEncoding, info.Provider, cal, g.b.st.Path())
	if info.Card != "" {
		txt += "\n\nModel card:\n" + info.Card
	}
	g.modelCard = widget.NewLabel(txt)
	g.modelCard.Wrapping = fyne.TextWrapWord
	return container.NewVScroll(g.modelCard)
}

// openProjectDialog opens another project file (the window is rebuilt).
func (g *gui) openProjectDialog() {
	dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		g.setStatus("Opening " + path + "…")
		go func() {
			old := g.b
			b, err := openBackend(context.Background(), path, g.b.info.Path)
			fyne.Do(func() {
				if err != nil {
					g.showError(err)
					return
				}
				old.Close()
				g.b, g.cur = b, nil
				g.a.Preferences().SetString("lastProject", b.st.Path())
				g.build()
			})
		}()
	}, g.w)
}

// importDialog adds an image file, or every image of a folder, to the project.
func (g *gui) importDialog() {
	dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		dir := u.Path()
		entries, err := os.ReadDir(dir)
		if err != nil {
			g.showError(fmt.Errorf("import from %s: %w", dir, err))
			return
		}
		var paths []string
		for _, e := range entries {
			if e.Type().IsRegular() && guiIsImage(e.Name()) {
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
		}
		if len(paths) == 0 {
			g.showError(fmt.Errorf("import from %s: no PNG, JPEG, BMP or TIFF image there", dir))
			return
		}
		g.setStatus(fmt.Sprintf("Importing %d images…", len(paths)))
		go func() {
			n, err := g.b.ImportFiles(context.Background(), paths)
			fyne.Do(func() {
				if err != nil {
					g.showError(err)
				}
				g.setStatus(fmt.Sprintf("Imported %d new images from %s.", n, dir))
				_ = g.project.Reload()
			})
		}()
	}, g.w)
}
