package ui

import (
	"image/color"
	"math"
	"slices"

	"fyne.io/fyne/v2"

	"github.com/hisirdesk/hisir/engine/geom"
)

// LabelEditor is the polygon tool: it edits one image's labels in image coordinates and
// keeps an undo history. Attached to a Viewer (SetEditor) it receives the viewer's taps,
// drags and keys:
//
//   - tap on empty image: start a polygon; each further tap adds a vertex; tap the first
//     vertex or press Enter to close it, Escape cancels, Backspace drops the last vertex;
//   - tap a polygon or a vertex to select it; tap an edge of the selected polygon to insert
//     a vertex there;
//   - drag a vertex to move it, drag inside a polygon to move the polygon (other drags pan);
//   - Delete or Backspace removes the selected vertex (a triangle loses the whole polygon)
//     or the selected polygon.
type LabelEditor struct {
	// OnChanged receives the labels after every finished change (to save them).
	OnChanged func([]Label)
	// OnSelect reports the selected label's index (-1 for none).
	OnSelect func(int)

	class  string
	labels []Label
	sel    int
	vtx    int
	draft  geom.Polygon

	dragKind  int // 0 none, 1 vertex, 2 polygon
	dragStart geom.Point
	dragOrig  geom.Polygon
	dragSnap  []Label

	undo, redo [][]Label
	onView     func()
	nextKey    int64
}

// NewLabelEditor edits a copy of labels; new polygons get the first SIPCBA class.
// Every label gets a Key unique in this editor.
func NewLabelEditor(labels []Label) *LabelEditor {
	e := &LabelEditor{labels: cloneLabels(labels), sel: -1, vtx: -1, class: Classes[0]}
	for i := range e.labels {
		e.labels[i].Key = e.newKey()
	}
	return e
}

func (e *LabelEditor) newKey() int64 {
	e.nextKey++
	return e.nextKey
}

func cloneLabels(ls []Label) []Label {
	out := make([]Label, len(ls))
	for i, l := range ls {
		out[i] = Label{ID: l.ID, Key: l.Key, Class: l.Class, Polygon: slices.Clone(l.Polygon)}
	}
	return out
}

// Labels returns a copy of the current labels.
func (e *LabelEditor) Labels() []Label { return cloneLabels(e.labels) }

// Selected is the index of the selected label and of its selected vertex (-1 for none).
func (e *LabelEditor) Selected() (label, vertex int) { return e.sel, e.vtx }

// Draft is the polygon being drawn (nil when none).
func (e *LabelEditor) Draft() geom.Polygon { return slices.Clone(e.draft) }

// Class is the class given to new polygons.
func (e *LabelEditor) Class() string { return e.class }

// SetClass sets the class of new polygons and re-classes the selected one.
func (e *LabelEditor) SetClass(class string) {
	e.class = class
	if e.sel >= 0 && e.labels[e.sel].Class != class {
		e.commit(func() { e.labels[e.sel].Class = class })
	}
	e.view()
}

// Add appends a finished polygon (for example a detection turned into a label) and selects it.
func (e *LabelEditor) Add(class string, p geom.Polygon) {
	if len(p) < 3 {
		return
	}
	e.commit(func() {
		e.labels = append(e.labels, Label{Key: e.newKey(), Class: class, Polygon: slices.Clone(p)})
		e.sel, e.vtx = len(e.labels)-1, -1
	})
	e.selectChanged()
}

func (e *LabelEditor) view() {
	if e.onView != nil {
		e.onView()
	}
}

func (e *LabelEditor) selectChanged() {
	if e.OnSelect != nil {
		e.OnSelect(e.sel)
	}
}

// commit records the state for undo, applies f and reports the change.
func (e *LabelEditor) commit(f func()) {
	e.undo = append(e.undo, cloneLabels(e.labels))
	e.redo = nil
	f()
	e.changed()
}

func (e *LabelEditor) changed() {
	if e.OnChanged != nil {
		e.OnChanged(e.Labels())
	}
	e.view()
}

// Undo reverts the last change (or, while drawing, drops the last vertex).
func (e *LabelEditor) Undo() bool {
	if len(e.draft) > 0 {
		e.draft = e.draft[:len(e.draft)-1]
		e.view()
		return true
	}
	if len(e.undo) == 0 {
		return false
	}
	e.redo = append(e.redo, e.labels)
	e.labels = e.undo[len(e.undo)-1]
	e.undo = e.undo[:len(e.undo)-1]
	e.fixSelection()
	e.changed()
	return true
}

// Redo re-applies the last undone change.
func (e *LabelEditor) Redo() bool {
	if len(e.redo) == 0 {
		return false
	}
	e.undo = append(e.undo, e.labels)
	e.labels = e.redo[len(e.redo)-1]
	e.redo = e.redo[:len(e.redo)-1]
	e.fixSelection()
	e.changed()
	return true
}

func (e *LabelEditor) fixSelection() {
	if e.sel >= len(e.labels) {
		e.sel, e.vtx = -1, -1
	}
	if e.sel >= 0 && e.vtx >= len(e.labels[e.sel].Polygon) {
		e.vtx = -1
	}
}

// hitVertex finds a vertex within tol, preferring the selected polygon.
func (e *LabelEditor) hitVertex(p geom.Point, tol float64) (int, int) {
	order := e.order()
	for _, i := range order {
		for j, q := range e.labels[i].Polygon {
			if math.Hypot(q.X-p.X, q.Y-p.Y) <= tol {
				return i, j
			}
		}
	}
	return -1, -1
}

// order lists label indices, the selected first, then topmost (last drawn) first.
func (e *LabelEditor) order() []int {
	out := make([]int, 0, len(e.labels))
	if e.sel >= 0 {
		out = append(out, e.sel)
	}
	for i := len(e.labels) - 1; i >= 0; i-- {
		if i != e.sel {
			out = append(out, i)
		}
	}
	return out
}

func (e *LabelEditor) hitInside(p geom.Point) int {
	for _, i := range e.order() {
		if e.labels[i].Polygon.Contains(p) {
			return i
		}
	}
	return -1
}

// hitEdge finds the edge of polygon i within tol of p and the projection of p on it.
func hitEdge(poly geom.Polygon, p geom.Point, tol float64) (int, geom.Point) {
	best, bestD, bestQ := -1, tol, geom.Point{}
	n := len(poly)
	for j := 0; j < n; j++ {
		a, b := poly[j], poly[(j+1)%n]
		dx, dy := b.X-a.X, b.Y-a.Y
		l2 := dx*dx + dy*dy
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((p.X-a.X)*dx+(p.Y-a.Y)*dy)/l2))
		}
		q := geom.Point{X: a.X + t*dx, Y: a.Y + t*dy}
		if d := math.Hypot(p.X-q.X, p.Y-q.Y); d <= bestD {
			best, bestD, bestQ = j, d, q
		}
	}
	return best, bestQ
}

// Tap handles a click at image point p; tol is the hit radius in image pixels.
func (e *LabelEditor) Tap(p geom.Point, tol float64) {
	defer e.view()
	if e.draft != nil {
		if len(e.draft) >= 3 && math.Hypot(e.draft[0].X-p.X, e.draft[0].Y-p.Y) <= tol {
			e.Close()
			return
		}
		e.draft = append(e.draft, p)
		return
	}
	if i, j := e.hitVertex(p, tol); i >= 0 {
		e.sel, e.vtx = i, j
		e.selectChanged()
		return
	}
	if e.sel >= 0 {
		if j, q := hitEdge(e.labels[e.sel].Polygon, p, tol); j >= 0 {
			e.commit(func() {
				e.labels[e.sel].Polygon = slices.Insert(e.labels[e.sel].Polygon, j+1, q)
				e.vtx = j + 1
			})
			return
		}
	}
	if i := e.hitInside(p); i >= 0 {
		e.sel, e.vtx = i, -1
		e.selectChanged()
		return
	}
	e.sel, e.vtx = -1, -1
	e.selectChanged()
	e.draft = geom.Polygon{p}
}

// Close finishes the polygon being drawn (needs 3 vertices) as a new label.
func (e *LabelEditor) Close() bool {
	if len(e.draft) < 3 {
		return false
	}
	p := e.draft
	e.draft = nil
	e.Add(e.class, p)
	return true
}

// DeleteSelected removes the selected vertex, or the selected polygon when no vertex is
// selected or it would have fewer than 3 vertices left.
func (e *LabelEditor) DeleteSelected() bool {
	if e.sel < 0 {
		return false
	}
	e.commit(func() {
		if e.vtx >= 0 && len(e.labels[e.sel].Polygon) > 3 {
			e.labels[e.sel].Polygon = slices.Delete(e.labels[e.sel].Polygon, e.vtx, e.vtx+1)
			e.vtx = -1
			return
		}
		e.labels = slices.Delete(e.labels, e.sel, e.sel+1)
		e.sel, e.vtx = -1, -1
	})
	e.selectChanged()
	return true
}

// Key handles Enter/Return (close), Escape (cancel or deselect), Delete and Backspace;
// it reports whether the key was used.
func (e *LabelEditor) Key(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		return e.Close()
	case fyne.KeyEscape:
		if e.draft != nil {
			e.draft = nil
		} else if e.sel >= 0 {
			e.sel, e.vtx = -1, -1
			e.selectChanged()
		} else {
			return false
		}
		e.view()
		return true
	case fyne.KeyDelete, fyne.KeyBackspace:
		if e.draft != nil {
			return e.Undo()
		}
		return e.DeleteSelected()
	}
	return false
}

// BeginDrag starts moving the vertex or polygon under p and reports whether there was one.
func (e *LabelEditor) BeginDrag(p geom.Point, tol float64) bool {
	if e.draft != nil {
		return false
	}
	i, j := e.hitVertex(p, tol)
	kind := 1
	if i < 0 {
		if i = e.hitInside(p); i < 0 {
			return false
		}
		kind = 2
	}
	e.sel, e.vtx = i, j
	e.dragKind, e.dragStart = kind, p
	e.dragOrig = slices.Clone(e.labels[i].Polygon)
	e.dragSnap = cloneLabels(e.labels)
	e.selectChanged()
	e.view()
	return true
}

// DragTo moves the dragged vertex or polygon so that it follows p.
func (e *LabelEditor) DragTo(p geom.Point) {
	switch e.dragKind {
	case 1:
		e.labels[e.sel].Polygon[e.vtx] = p
	case 2:
		e.labels[e.sel].Polygon = e.dragOrig.Translate(p.X-e.dragStart.X, p.Y-e.dragStart.Y)
	default:
		return
	}
	e.view()
}

// EndDrag finishes a move as one undoable change.
func (e *LabelEditor) EndDrag() {
	if e.dragKind == 0 {
		return
	}
	e.dragKind = 0
	if slices.Equal(e.dragOrig, e.labels[e.sel].Polygon) {
		return
	}
	e.undo = append(e.undo, e.dragSnap)
	e.redo = nil
	e.changed()
}

// shapes draws the labels, the selection handles and the draft.
func (e *LabelEditor) shapes() []Shape {
	out := make([]Shape, 0, len(e.labels)+1)
	for i, l := range e.labels {
		// A copy: the render goroutine reads it while drags keep editing the label.
		s := Shape{Polygon: slices.Clone(l.Polygon), Color: ClassColor(l.Class), Width: 2, Active: -1}
		if i == e.sel {
			s.Width, s.Handles, s.Active = 3, true, e.vtx
		}
		out = append(out, s)
	}
	if len(e.draft) > 0 {
		out = append(out, Shape{Polygon: slices.Clone(e.draft), Color: color.RGBA{0, 230, 255, 255}, Width: 2, Open: true, Handles: true, Active: 0})
	}
	return out
}
