package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/hisirdesk/hisir/engine/geom"
)

// TwinMode is how the twin (golden) image is shown.
type TwinMode int

// Twin display modes.
const (
	TwinOff TwinMode = iota
	TwinSideBySide
	TwinFlicker
)

func (m TwinMode) String() string {
	return [...]string{"off", "side by side", "flicker"}[m]
}

// MaxOutlines is the most defect outlines drawn (the first ones given, which the review
// panel sorts by score, plus the selected one): a badly tuned threshold can produce
// thousands of regions, which would bury the image and slow every frame.
const MaxOutlines = 500

// minimapSize is the longest side of the minimap, in widget units.
const minimapSize = 180

// Viewer shows a large image (4K and more) with zoom from fit-to-window to 6400 %, pan by
// drag and scroll, a minimap and toggleable overlays: a score heatmap, the tinted mask of
// scores at or above the threshold, defect outlines, human labels and a twin image.
//
// Only the visible window is rendered, at screen resolution, from a pyramid of
// downsampled levels, on a background goroutine; the result is pushed with fyne.Do.
// Keys: F fit, 1 1:1, + and − zoom, H heatmap, M mask, O outlines, L labels, T twin mode.
// Ctrl+scroll zooms at the pointer; plain scroll pans.
type Viewer struct {
	widget.BaseWidget

	// OnViewChanged is called after every zoom or pan.
	OnViewChanged func(View)
	// OnTapped is called with the image point tapped when no label tool takes the tap.
	OnTapped func(geom.Point)
	// OnHover reports the image pixel under the pointer (ok false when the pointer left).
	OnHover func(p image.Point, ok bool)
	// OnTypedRune and OnTypedKey receive the keys the viewer does not use itself.
	OnTypedRune func(rune)
	OnTypedKey  func(*fyne.KeyEvent)

	img, twin *Pyramid
	scores    *Scores
	view      View
	fit       bool // the view follows fit-to-window on resize
	twinMode  TwinMode
	flicker   bool // flicker phase: twin shown
	stopFlick chan struct{}

	heat, mask, outlines, labels bool
	opacity                      float64
	colormap                     Colormap
	heatMax, threshold           float32

	defects  []Defect
	selected int64
	shown    []Label
	editor   *LabelEditor

	dragging   bool
	dragEditor bool
	focused    bool
	sync       bool // render on the calling goroutine (tests)
}

var (
	_ fyne.Widget         = (*Viewer)(nil)
	_ fyne.Draggable      = (*Viewer)(nil)
	_ fyne.Scrollable     = (*Viewer)(nil)
	_ fyne.Tappable       = (*Viewer)(nil)
	_ fyne.Focusable      = (*Viewer)(nil)
	_ desktop.Hoverable   = (*Viewer)(nil)
	_ fyne.WidgetRenderer = (*viewerRenderer)(nil)
)

// NewViewer returns an empty viewer; overlays start on (heatmap at 45 % opacity).
func NewViewer() *Viewer {
	v := &Viewer{fit: true, heat: true, mask: true, outlines: true, labels: true,
		opacity: 0.45, heatMax: 2, threshold: 1, selected: -1, view: View{Zoom: 1}}
	v.ExtendBaseWidget(v)
	return v
}

// SetImage shows img (fit to the window) and drops the score map, defects and twin if
// their size differs. Building the pyramid converts the image; call it off the UI
// goroutine for 4K images, or use SetPyramid with one built elsewhere.
func (v *Viewer) SetImage(img image.Image) { v.SetPyramid(NewPyramid(img)) }

// SetPyramid shows an image whose pyramid is already built.
func (v *Viewer) SetPyramid(p *Pyramid) {
	v.img = p
	if v.scores != nil && (v.scores.W != p.W || v.scores.H != p.H) {
		v.scores = nil
	}
	if v.twin != nil && (v.twin.W != p.W || v.twin.H != p.H) {
		v.twin = nil
	}
	v.fit = true
	v.viewChanged()
}

// Image returns the pyramid shown, or nil.
func (v *Viewer) Image() *Pyramid { return v.img }

// SetTwin sets the twin (golden) image compared side by side or by flicker; nil removes it.
func (v *Viewer) SetTwin(img image.Image) {
	if img == nil {
		v.twin = nil
	} else {
		v.twin = NewPyramid(img)
	}
	v.viewChanged()
}

// SetScores sets the per-pixel score map (w×h must match the image) drawn as heatmap and mask.
func (v *Viewer) SetScores(s *Scores) {
	v.scores = s
	v.Refresh()
}

// SetThreshold moves the mask threshold and re-renders the visible window.
func (v *Viewer) SetThreshold(t float64) {
	v.threshold = float32(t)
	v.Refresh()
}

// Threshold is the mask threshold.
func (v *Viewer) Threshold() float64 { return float64(v.threshold) }

// SetHeatmap sets the heatmap opacity (0..1), palette and the score at the top of the palette.
func (v *Viewer) SetHeatmap(opacity float64, cm Colormap, maxScore float64) {
	v.opacity, v.colormap, v.heatMax = opacity, cm, float32(maxScore)
	v.Refresh()
}

// Overlay names a toggleable layer.
type Overlay int

// Overlays of the viewer.
const (
	OverlayHeatmap Overlay = iota
	OverlayMask
	OverlayOutlines
	OverlayLabels
)

func (v *Viewer) layer(o Overlay) *bool {
	switch o {
	case OverlayHeatmap:
		return &v.heat
	case OverlayMask:
		return &v.mask
	case OverlayOutlines:
		return &v.outlines
	default:
		return &v.labels
	}
}

// ShowOverlay turns a layer on or off.
func (v *Viewer) ShowOverlay(o Overlay, on bool) {
	*v.layer(o) = on
	v.Refresh()
}

// OverlayShown reports whether a layer is on.
func (v *Viewer) OverlayShown(o Overlay) bool { return *v.layer(o) }

// SetDefects sets the outlined defects and the selected one (-1 for none).
func (v *Viewer) SetDefects(ds []Defect, selected int64) {
	v.defects, v.selected = ds, selected
	v.Refresh()
}

// SetLabels sets the human labels drawn when no editor is attached.
func (v *Viewer) SetLabels(ls []Label) {
	v.shown = ls
	v.Refresh()
}

// SetEditor attaches a polygon label editor that takes taps and drags (nil detaches it).
func (v *Viewer) SetEditor(e *LabelEditor) {
	if v.editor != nil {
		v.editor.onView = nil
	}
	v.editor = e
	if e != nil {
		e.onView = v.Refresh
	}
	v.Refresh()
}

// SetTwinMode chooses how the twin image is shown; flicker swaps every 500 ms.
func (v *Viewer) SetTwinMode(m TwinMode) {
	if v.stopFlick != nil {
		close(v.stopFlick)
		v.stopFlick = nil
	}
	v.twinMode, v.flicker = m, false
	if m == TwinFlicker && !v.sync {
		stop := make(chan struct{})
		v.stopFlick = stop
		go func() {
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fyne.Do(func() {
						if v.stopFlick == stop {
							v.Flick()
						}
					})
				}
			}
		}()
	}
	v.viewChanged()
}

// TwinMode is the current twin display mode.
func (v *Viewer) TwinMode() TwinMode { return v.twinMode }

// Flick swaps the image and its twin in flicker mode.
func (v *Viewer) Flick() {
	v.flicker = !v.flicker
	v.Refresh()
}

// View is the current transform.
func (v *Viewer) View() View { return v.view }

// SetView sets the transform (the fit mode ends).
func (v *Viewer) SetView(view View) {
	v.fit = false
	v.view = view
	v.viewChanged()
}

func (v *Viewer) scale() float32 {
	if app := fyne.CurrentApp(); app != nil {
		if c := app.Driver().CanvasForObject(v); c != nil {
			return c.Scale()
		}
	}
	return 1
}

// paneSize is the widget area one image occupies (half the width side by side).
func (v *Viewer) paneSize() fyne.Size {
	s := v.Size()
	if v.twinMode == TwinSideBySide && v.twin != nil {
		s.Width /= 2
	}
	return s
}

// Fit shows the whole image.
func (v *Viewer) Fit() {
	v.fit = true
	v.viewChanged()
}

// FitZoom is the zoom at which the whole image fits.
func (v *Viewer) FitZoom() float64 {
	if v.img == nil {
		return 1
	}
	return FitView(v.img.W, v.img.H, v.paneSize(), v.scale()).Zoom
}

// ActualSize shows image pixels 1:1 with screen pixels, keeping the centre.
func (v *Viewer) ActualSize() { v.ZoomTo(1) }

// ZoomTo sets the zoom (device pixels per image pixel) around the centre.
func (v *Viewer) ZoomTo(zoom float64) {
	s := v.paneSize()
	v.zoomAt(fyne.NewPos(s.Width/2, s.Height/2), zoom)
}

// ZoomBy multiplies the zoom around the centre.
func (v *Viewer) ZoomBy(f float64) { v.ZoomTo(v.view.Zoom * f) }

func (v *Viewer) zoomAt(p fyne.Position, zoom float64) {
	v.fit = false
	lo := math.Min(v.FitZoom(), 1) / 2
	zoom = math.Max(lo, math.Min(MaxZoom, zoom))
	v.view = v.view.ZoomAt(p, v.scale(), zoom)
	v.viewChanged()
}

// ShowRect centres image rectangle r so that it covers about a third of the view, never
// zooming beyond 800 % nor out beyond fit.
func (v *Viewer) ShowRect(r geom.Rect) {
	if v.img == nil || r.Empty() {
		return
	}
	s := v.paneSize()
	sc := float64(v.scale())
	z := math.Min(float64(s.Width)*sc/float64(r.Dx()), float64(s.Height)*sc/float64(r.Dy())) / 3
	z = math.Max(v.FitZoom(), math.Min(8, z))
	v.fit = false
	v.view = CenterOn(r, s, v.scale(), z)
	v.viewChanged()
}

func (v *Viewer) viewChanged() {
	if v.img != nil {
		if v.fit {
			v.view = FitView(v.img.W, v.img.H, v.paneSize(), v.scale())
		} else {
			v.view = v.view.Clamp(v.img.W, v.img.H, v.paneSize(), v.scale())
		}
	}
	v.Refresh()
	if v.OnViewChanged != nil {
		v.OnViewChanged(v.view)
	}
}

// toImage maps a widget position to image coordinates, in whichever pane it falls.
func (v *Viewer) toImage(p fyne.Position) geom.Point {
	if v.twinMode == TwinSideBySide && v.twin != nil {
		half := v.Size().Width / 2
		if p.X >= half {
			p.X -= half
		}
	}
	return v.view.ImagePoint(p, v.scale())
}

// tolerance is the hit radius for vertices and edges, in image pixels (8 widget units).
func (v *Viewer) tolerance() float64 { return 8 * float64(v.scale()) / v.view.Zoom }

// minimapRect is the minimap's place in the widget, and whether it is shown.
func (v *Viewer) minimapRect() (fyne.Position, fyne.Size, bool) {
	if v.img == nil || v.fit || v.view.Zoom <= v.FitZoom()*1.01 {
		return fyne.Position{}, fyne.Size{}, false
	}
	s := v.Size()
	k := float32(minimapSize) / float32(max(v.img.W, v.img.H))
	ms := fyne.NewSize(float32(v.img.W)*k, float32(v.img.H)*k)
	if ms.Width > s.Width/3 || ms.Height > s.Height/3 {
		return fyne.Position{}, fyne.Size{}, false
	}
	pad := theme.Padding() * 2
	return fyne.NewPos(s.Width-ms.Width-pad, s.Height-ms.Height-pad), ms, true
}

// Scrolled pans, or zooms at the pointer while Ctrl is held.
func (v *Viewer) Scrolled(ev *fyne.ScrollEvent) {
	if v.img == nil {
		return
	}
	if ctrlHeld() {
		v.zoomAt(ev.Position, v.view.Zoom*math.Exp2(float64(ev.Scrolled.DY)/40))
		return
	}
	v.fit = false
	v.view = v.view.Pan(ev.Scrolled.DX, ev.Scrolled.DY, v.scale())
	v.viewChanged()
}

func ctrlHeld() bool {
	if app := fyne.CurrentApp(); app != nil {
		if d, ok := app.Driver().(desktop.Driver); ok {
			m := d.CurrentKeyModifiers()
			return m&fyne.KeyModifierControl != 0 || m&fyne.KeyModifierSuper != 0
		}
	}
	return false
}

// Dragged moves a label vertex or polygon when the drag starts on one, else pans.
func (v *Viewer) Dragged(ev *fyne.DragEvent) {
	if v.img == nil {
		return
	}
	if !v.dragging {
		v.dragging = true
		start := ev.Position.Subtract(ev.Dragged)
		v.dragEditor = v.editor != nil && v.editor.BeginDrag(v.toImage(start), v.tolerance())
	}
	if v.dragEditor {
		v.editor.DragTo(v.toImage(ev.Position))
		return
	}
	v.fit = false
	v.view = v.view.Pan(ev.Dragged.DX, ev.Dragged.DY, v.scale())
	v.viewChanged()
}

// DragEnd finishes a pan or an edit.
func (v *Viewer) DragEnd() {
	if v.dragEditor {
		v.editor.EndDrag()
	}
	v.dragging, v.dragEditor = false, false
}

// Tapped focuses the viewer; on the minimap it recentres, otherwise the editor or
// OnTapped gets the image point.
func (v *Viewer) Tapped(ev *fyne.PointEvent) {
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil {
		c.Focus(v)
	}
	if v.img == nil {
		return
	}
	if pos, size, ok := v.minimapRect(); ok {
		q := ev.Position.Subtract(pos)
		if q.X >= 0 && q.Y >= 0 && q.X < size.Width && q.Y < size.Height {
			cx := float64(q.X/size.Width) * float64(v.img.W)
			cy := float64(q.Y/size.Height) * float64(v.img.H)
			v.fit = false
			v.view = CenterOn(geom.Rect{X0: int(cx), Y0: int(cy), X1: int(cx) + 1, Y1: int(cy) + 1}, v.paneSize(), v.scale(), v.view.Zoom)
			v.viewChanged()
			return
		}
	}
	p := v.toImage(ev.Position)
	if v.editor != nil {
		v.editor.Tap(p, v.tolerance())
		return
	}
	if v.OnTapped != nil {
		v.OnTapped(p)
	}
}

// MouseIn implements desktop.Hoverable.
func (v *Viewer) MouseIn(ev *desktop.MouseEvent) { v.MouseMoved(ev) }

// MouseMoved reports the pixel under the pointer.
func (v *Viewer) MouseMoved(ev *desktop.MouseEvent) {
	if v.OnHover != nil && v.img != nil {
		q := v.toImage(ev.Position)
		v.OnHover(image.Pt(int(math.Floor(q.X)), int(math.Floor(q.Y))), true)
	}
}

// MouseOut implements desktop.Hoverable.
func (v *Viewer) MouseOut() {
	if v.OnHover != nil {
		v.OnHover(image.Point{}, false)
	}
}

// FocusGained implements fyne.Focusable.
func (v *Viewer) FocusGained() { v.focused = true }

// FocusLost implements fyne.Focusable.
func (v *Viewer) FocusLost() { v.focused = false }

// TypedRune handles the viewer's letter shortcuts and forwards the others.
func (v *Viewer) TypedRune(r rune) {
	if !v.HandleRune(r) && v.OnTypedRune != nil {
		v.OnTypedRune(r)
	}
}

// HandleRune applies a viewer shortcut and reports whether r was one.
func (v *Viewer) HandleRune(r rune) bool {
	switch r {
	case 'f', 'F':
		v.Fit()
	case '1':
		v.ActualSize()
	case '+', '=':
		v.ZoomBy(2)
	case '-':
		v.ZoomBy(0.5)
	case 'h', 'H':
		v.ShowOverlay(OverlayHeatmap, !v.heat)
	case 'm', 'M':
		v.ShowOverlay(OverlayMask, !v.mask)
	case 'o', 'O':
		v.ShowOverlay(OverlayOutlines, !v.outlines)
	case 'l', 'L':
		v.ShowOverlay(OverlayLabels, !v.labels)
	case 't', 'T':
		v.SetTwinMode((v.twinMode + 1) % 3)
	case ' ':
		if v.twinMode != TwinFlicker {
			return false
		}
		v.Flick()
	default:
		return false
	}
	return true
}

// TypedKey gives Enter, Escape, Delete and Backspace to the editor and forwards the rest.
func (v *Viewer) TypedKey(ev *fyne.KeyEvent) {
	if v.editor != nil && v.editor.Key(ev.Name) {
		return
	}
	if v.OnTypedKey != nil {
		v.OnTypedKey(ev)
	}
}

// shapes lists the outlines of the current frame.
func (v *Viewer) shapes() []Shape {
	var out []Shape
	if v.outlines {
		for i, d := range v.defects {
			if i >= MaxOutlines && d.ID != v.selected {
				continue
			}
			c := decisionColor(d.Decision)
			w := 1
			if v.view.Zoom >= 1 {
				w = 2
			}
			if d.ID == v.selected {
				c, w = color.RGBA{255, 255, 255, 255}, 3
			}
			out = append(out, Shape{Polygon: d.Outline, Color: c, Width: w, Active: -1})
		}
	}
	if v.labels {
		if v.editor != nil {
			out = append(out, v.editor.shapes()...)
		} else {
			for _, l := range v.shown {
				out = append(out, Shape{Polygon: l.Polygon, Color: ClassColor(l.Class), Width: 2, Active: -1})
			}
		}
	}
	return out
}

func decisionColor(d Decision) color.RGBA {
	switch d {
	case Accepted:
		return color.RGBA{255, 48, 48, 255}
	case Rejected:
		return color.RGBA{140, 140, 140, 255}
	}
	return color.RGBA{255, 200, 0, 255}
}

// spec snapshots the state for one frame of w×h device pixels.
func (v *Viewer) spec(w, h int) *frameSpec {
	return &frameSpec{W: w, H: h, View: v.view, Image: v.img, Twin: v.twin,
		SideBySide: v.twinMode == TwinSideBySide, ShowTwin: v.twinMode == TwinFlicker && v.flicker,
		Scores: v.scores, Heat: v.heat, Opacity: v.opacity, Colormap: v.colormap, HeatMax: v.heatMax,
		Mask: v.mask, Threshold: v.threshold, Shapes: v.shapes()}
}

// CreateRenderer implements fyne.Widget.
func (v *Viewer) CreateRenderer() fyne.WidgetRenderer {
	r := &viewerRenderer{v: v, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.frame = canvas.NewImageFromImage(image.NewRGBA(image.Rect(0, 0, 1, 1)))
	r.frame.FillMode = canvas.ImageFillStretch
	r.frame.ScaleMode = canvas.ImageScalePixels
	r.bg = canvas.NewRectangle(background)
	r.mini = canvas.NewImageFromImage(nil)
	r.mini.FillMode = canvas.ImageFillStretch
	r.miniFrame = canvas.NewRectangle(color.Transparent)
	r.miniFrame.StrokeColor = color.RGBA{220, 220, 220, 255}
	r.miniFrame.StrokeWidth = 1
	r.miniBox = canvas.NewRectangle(color.RGBA{255, 255, 255, 40})
	r.miniBox.StrokeColor = color.RGBA{255, 200, 0, 255}
	r.miniBox.StrokeWidth = 1.5
	r.zoom = canvas.NewText("", color.RGBA{230, 230, 230, 255})
	r.zoom.TextSize = theme.CaptionTextSize()
	r.zoomBg = canvas.NewRectangle(color.RGBA{0, 0, 0, 140})
	r.objects = []fyne.CanvasObject{r.bg, r.frame, r.mini, r.miniFrame, r.miniBox, r.zoomBg, r.zoom}
	if !v.sync {
		go r.loop()
	}
	return r
}

type viewerRenderer struct {
	v                          *Viewer
	bg                         *canvas.Rectangle
	frame, mini                *canvas.Image
	miniFrame, miniBox, zoomBg *canvas.Rectangle
	zoom                       *canvas.Text
	objects                    []fyne.CanvasObject
	miniOf                     *Pyramid // sync mode: image the minimap shows

	mu      sync.Mutex
	pending *frameSpec
	wake    chan struct{}
	done    chan struct{}
	closed  bool
}

func (r *viewerRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	r.frame.Resize(size)
	r.v.viewChanged()
}

func (r *viewerRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 90) }

func (r *viewerRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *viewerRenderer) Destroy() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.done)
	}
}

// Refresh lays out the minimap and zoom badge and asks for a new frame.
func (r *viewerRenderer) Refresh() {
	v := r.v
	size := v.Size()
	sc := v.scale()
	w, h := int(math.Ceil(float64(size.Width*sc))), int(math.Ceil(float64(size.Height*sc)))
	if v.sync && v.img != nil && r.miniOf != v.img {
		r.miniOf = v.img
		r.mini.Image = v.img.Thumbnail(2 * minimapSize)
		r.mini.Refresh()
	}
	if pos, ms, ok := v.minimapRect(); ok {
		r.mini.Move(pos)
		r.mini.Resize(ms)
		r.miniFrame.Move(pos)
		r.miniFrame.Resize(ms)
		vis := v.view.Visible(v.img.W, v.img.H, v.paneSize(), sc)
		k := ms.Width / float32(v.img.W)
		r.miniBox.Move(pos.Add(fyne.NewPos(float32(vis.X0)*k, float32(vis.Y0)*k)))
		r.miniBox.Resize(fyne.NewSize(float32(vis.Dx())*k, float32(vis.Dy())*k))
		r.mini.Show()
		r.miniFrame.Show()
		r.miniBox.Show()
	} else {
		r.mini.Hide()
		r.miniFrame.Hide()
		r.miniBox.Hide()
	}
	if v.img != nil {
		r.zoom.Text = fmt.Sprintf("%.0f %%  %d×%d", v.view.Zoom*100, v.img.W, v.img.H)
		ts := r.zoom.MinSize()
		pad := theme.Padding()
		r.zoomBg.Move(fyne.NewPos(pad, size.Height-ts.Height-3*pad))
		r.zoomBg.Resize(ts.Add(fyne.NewSize(2*pad, 2*pad)))
		r.zoom.Move(fyne.NewPos(2*pad, size.Height-ts.Height-2*pad))
		r.zoom.Show()
		r.zoomBg.Show()
	} else {
		r.zoom.Hide()
		r.zoomBg.Hide()
	}
	r.zoom.Refresh()
	r.bg.Refresh()
	if w <= 0 || h <= 0 {
		return
	}
	spec := v.spec(w, h)
	if v.sync {
		r.frame.Image = renderFrame(spec)
		r.frame.Refresh()
		return
	}
	r.mu.Lock()
	r.pending = spec
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// loop renders the latest pending frame off the UI goroutine and pushes it with fyne.Do.
func (r *viewerRenderer) loop() {
	var lastThumb *Pyramid
	for {
		select {
		case <-r.done:
			return
		case <-r.wake:
		}
		r.mu.Lock()
		spec := r.pending
		r.pending = nil
		r.mu.Unlock()
		if spec == nil {
			continue
		}
		img := renderFrame(spec)
		var thumb *image.RGBA
		if spec.Image != nil && spec.Image != lastThumb {
			lastThumb = spec.Image
			thumb = spec.Image.Thumbnail(2 * minimapSize)
		}
		fyne.Do(func() {
			r.frame.Image = img
			r.frame.Refresh()
			if thumb != nil {
				r.mini.Image = thumb
				r.mini.Refresh()
			}
		})
	}
}
