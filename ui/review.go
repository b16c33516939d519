package ui

import (
	"fmt"
	"slices"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// ReviewPanel lists an image's defects by descending peak score and records the
// inspector's decisions. Keys: A accept, R reject, C next class, J/↓ next, K/↑ previous,
// Ctrl+Z undo, Ctrl+Shift+Z (or Ctrl+Y) redo. Every decision, undo and redo calls the
// Reviewer at once; when it fails the change is rolled back and OnError is told.
type ReviewPanel struct {
	widget.BaseWidget

	// OnSelect is called with the selected defect (the viewer zooms to it).
	OnSelect func(Defect)
	// OnChanged is called after a decision was saved (to refresh outlines and counts).
	OnChanged func([]Defect)
	// OnError receives failures of the Reviewer.
	OnError func(error)
	// AutoAdvance moves to the next defect after accept or reject (on by default).
	AutoAdvance bool
	// OnTypedRune and OnTypedKey receive the keys the panel does not use (for example
	// the viewer's F and 1 while the list has the focus).
	OnTypedRune func(rune)
	OnTypedKey  func(*fyne.KeyEvent)
	// OnShortcut, when set, gets the shortcuts typed while the panel has the focus first and
	// reports whether it handled them (a window that keeps one undo order across its panels
	// takes Ctrl+Z here); the panel handles the rest itself.
	OnShortcut func(fyne.Shortcut) bool

	reviewer   Reviewer
	defects    []Defect
	sel        int
	classes    []string
	undo, redo []reviewOp

	list    *widget.List
	summary *widget.Label
	picker  *widget.Select
	syncing bool
}

type reviewOp struct {
	id            int64
	before, after Decision
	fromC, toC    string
}

var (
	_ fyne.Widget       = (*ReviewPanel)(nil)
	_ fyne.Focusable    = (*ReviewPanel)(nil)
	_ fyne.Shortcutable = (*ReviewPanel)(nil)
)

// NewReviewPanel records decisions through r; classes are the picker's choices
// (nil means the five SIPCBA classes).
func NewReviewPanel(r Reviewer, classes []string) *ReviewPanel {
	if classes == nil {
		classes = Classes
	}
	p := &ReviewPanel{reviewer: r, sel: -1, classes: slices.Clone(classes), AutoAdvance: true}
	p.summary = widget.NewLabel("")
	p.summary.Wrapping = fyne.TextWrapWord
	p.picker = widget.NewSelect(p.classes, func(c string) {
		if !p.syncing {
			p.SetClass(c)
		}
	})
	p.picker.PlaceHolder = "class…"
	p.list = widget.NewList(
		func() int { return len(p.defects) },
		func() fyne.CanvasObject {
			icon := widget.NewIcon(theme.RadioButtonIcon())
			l := widget.NewLabel("#00  0.00  missing_component  pending")
			l.TextStyle.Monospace = true
			return container.NewBorder(nil, nil, icon, nil, l)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := o.(*fyne.Container)
			d := p.defects[i]
			c.Objects[0].(*widget.Label).SetText(defectLine(i, d))
			c.Objects[1].(*widget.Icon).SetResource(decisionIcon(d.Decision))
		})
	p.list.OnSelected = func(i widget.ListItemID) {
		if p.syncing {
			return
		}
		p.selectIndex(i)
		if c := fyne.CurrentApp().Driver().CanvasForObject(p); c != nil {
			c.Focus(p) // keep the letter keys on the panel
		}
	}
	p.ExtendBaseWidget(p)
	p.updateSummary()
	return p
}

func defectLine(i int, d Defect) string {
	class := d.Class
	if class == "" {
		class = "—"
	}
	return fmt.Sprintf("#%-2d %5.2f %-15.21s %s", i+1, d.Peak, class, d.Decision)
}

func decisionIcon(d Decision) fyne.Resource {
	switch d {
	case Accepted:
		return theme.NewErrorThemedResource(theme.ConfirmIcon())
	case Rejected:
		return theme.NewDisabledResource(theme.CancelIcon())
	}
	return theme.NewWarningThemedResource(theme.RadioButtonIcon())
}

// SetDefects shows an image's defects sorted by descending peak score and selects the first.
func (p *ReviewPanel) SetDefects(ds []Defect) {
	p.defects = slices.Clone(ds)
	sort.SliceStable(p.defects, func(i, j int) bool { return p.defects[i].Peak > p.defects[j].Peak })
	p.undo, p.redo = nil, nil
	p.sel = -1
	p.list.Refresh()
	if len(p.defects) > 0 {
		p.selectIndex(0)
	} else {
		p.syncSelection()
	}
	p.updateSummary()
}

// Defects returns the defects with their current decisions, in list order.
func (p *ReviewPanel) Defects() []Defect { return slices.Clone(p.defects) }

// Selected is the selected defect and whether there is one.
func (p *ReviewPanel) Selected() (Defect, bool) {
	if p.sel < 0 || p.sel >= len(p.defects) {
		return Defect{}, false
	}
	return p.defects[p.sel], true
}

// AddClass offers a custom class in the picker.
func (p *ReviewPanel) AddClass(c string) {
	if c != "" && !slices.Contains(p.classes, c) {
		p.classes = append(p.classes, c)
		p.picker.SetOptions(p.classes)
	}
}

func (p *ReviewPanel) selectIndex(i int) {
	if i < 0 || i >= len(p.defects) {
		return
	}
	p.sel = i
	p.syncSelection()
	if p.OnSelect != nil {
		p.OnSelect(p.defects[i])
	}
}

// syncSelection mirrors the selection in the list and the picker without callbacks.
func (p *ReviewPanel) syncSelection() {
	p.syncing = true
	defer func() { p.syncing = false }()
	if p.sel >= 0 {
		p.list.Select(p.sel)
		p.list.ScrollTo(p.sel)
		p.picker.SetSelected(p.defects[p.sel].Class)
		if p.defects[p.sel].Class == "" {
			p.picker.ClearSelected()
		}
	} else {
		p.list.UnselectAll()
		p.picker.ClearSelected()
	}
}

// Next selects the next defect (stays on the last).
func (p *ReviewPanel) Next() { p.selectIndex(min(p.sel+1, len(p.defects)-1)) }

// Prev selects the previous defect (stays on the first).
func (p *ReviewPanel) Prev() { p.selectIndex(max(p.sel-1, 0)) }

// Accept marks the selected defect as real.
func (p *ReviewPanel) Accept() { p.decide(Accepted, "", true) }

// Reject marks the selected defect as a false alarm.
func (p *ReviewPanel) Reject() { p.decide(Rejected, "", true) }

// SetClass re-classes the selected defect (keeping its decision).
func (p *ReviewPanel) SetClass(c string) {
	if d, ok := p.Selected(); ok {
		p.decide(d.Decision, c, false)
	}
}

// CycleClass gives the selected defect the picker's next class.
func (p *ReviewPanel) CycleClass() {
	d, ok := p.Selected()
	if !ok || len(p.classes) == 0 {
		return
	}
	i := slices.Index(p.classes, d.Class)
	p.SetClass(p.classes[(i+1)%len(p.classes)])
}

func (p *ReviewPanel) decide(dec Decision, class string, advance bool) {
	d, ok := p.Selected()
	if !ok {
		return
	}
	if class == "" {
		class = d.Class
	}
	op := reviewOp{id: d.ID, before: d.Decision, after: dec, fromC: d.Class, toC: class}
	if op.before == op.after && op.fromC == op.toC {
		if advance && p.AutoAdvance {
			p.Next()
		}
		return
	}
	if !p.apply(op.id, op.after, op.toC) {
		return
	}
	p.undo = append(p.undo, op)
	p.redo = nil
	if advance && p.AutoAdvance {
		p.Next()
	}
}

// apply saves a decision through the Reviewer, then shows it; false when saving failed.
func (p *ReviewPanel) apply(id int64, dec Decision, class string) bool {
	i := slices.IndexFunc(p.defects, func(d Defect) bool { return d.ID == id })
	if i < 0 {
		return false
	}
	if p.reviewer != nil {
		if err := p.reviewer.SetReview(id, dec, class); err != nil {
			if p.OnError != nil {
				p.OnError(fmt.Errorf("save review of defect %d: %w", id, err))
			}
			return false
		}
	}
	p.defects[i].Decision, p.defects[i].Class = dec, class
	p.list.RefreshItem(i)
	if i == p.sel {
		p.syncSelection()
	}
	p.updateSummary()
	if p.OnChanged != nil {
		p.OnChanged(p.Defects())
	}
	return true
}

// Undo reverts the last decision (and selects that defect).
func (p *ReviewPanel) Undo() bool {
	if len(p.undo) == 0 {
		return false
	}
	op := p.undo[len(p.undo)-1]
	if !p.apply(op.id, op.before, op.fromC) {
		return false
	}
	p.undo = p.undo[:len(p.undo)-1]
	p.redo = append(p.redo, op)
	p.selectID(op.id)
	return true
}

// Redo re-applies the last undone decision.
func (p *ReviewPanel) Redo() bool {
	if len(p.redo) == 0 {
		return false
	}
	op := p.redo[len(p.redo)-1]
	if !p.apply(op.id, op.after, op.toC) {
		return false
	}
	p.redo = p.redo[:len(p.redo)-1]
	p.undo = append(p.undo, op)
	p.selectID(op.id)
	return true
}

func (p *ReviewPanel) selectID(id int64) {
	if i := slices.IndexFunc(p.defects, func(d Defect) bool { return d.ID == id }); i >= 0 {
		p.selectIndex(i)
	}
}

func (p *ReviewPanel) updateSummary() {
	var acc, rej int
	for _, d := range p.defects {
		switch d.Decision {
		case Accepted:
			acc++
		case Rejected:
			rej++
		}
	}
	n := len(p.defects)
	if n == 0 {
		p.summary.SetText("No defects above the threshold.")
		return
	}
	p.summary.SetText(fmt.Sprintf("%d defects · %d accepted · %d rejected · %d to review", n, acc, rej, n-acc-rej))
}

// Summary is the counts line shown above the list.
func (p *ReviewPanel) Summary() string { return p.summary.Text }

// HandleRune applies a review key and reports whether r was one.
func (p *ReviewPanel) HandleRune(r rune) bool {
	switch r {
	case 'a', 'A':
		p.Accept()
	case 'r', 'R':
		p.Reject()
	case 'c', 'C':
		p.CycleClass()
	case 'j', 'J':
		p.Next()
	case 'k', 'K':
		p.Prev()
	default:
		return false
	}
	return true
}

// HandleKey applies the arrow keys and reports whether k was one.
func (p *ReviewPanel) HandleKey(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyDown:
		p.Next()
	case fyne.KeyUp:
		p.Prev()
	default:
		return false
	}
	return true
}

// HandleShortcut applies undo (Ctrl+Z) and redo (Ctrl+Shift+Z, Ctrl+Y).
func (p *ReviewPanel) HandleShortcut(s fyne.Shortcut) bool {
	switch {
	case IsUndo(s):
		p.Undo()
	case IsRedo(s):
		p.Redo()
	default:
		return false
	}
	return true
}

// FocusGained implements fyne.Focusable.
func (p *ReviewPanel) FocusGained() {}

// FocusLost implements fyne.Focusable.
func (p *ReviewPanel) FocusLost() {}

// TypedRune implements fyne.Focusable.
func (p *ReviewPanel) TypedRune(r rune) {
	if !p.HandleRune(r) && p.OnTypedRune != nil {
		p.OnTypedRune(r)
	}
}

// TypedKey implements fyne.Focusable.
func (p *ReviewPanel) TypedKey(ev *fyne.KeyEvent) {
	if !p.HandleKey(ev.Name) && p.OnTypedKey != nil {
		p.OnTypedKey(ev)
	}
}

// TypedShortcut implements fyne.Shortcutable.
func (p *ReviewPanel) TypedShortcut(s fyne.Shortcut) {
	if p.OnShortcut != nil && p.OnShortcut(s) {
		return
	}
	p.HandleShortcut(s)
}

// CreateRenderer implements fyne.Widget.
func (p *ReviewPanel) CreateRenderer() fyne.WidgetRenderer {
	title := widget.NewLabelWithStyle("Review", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	buttons := container.NewGridWithColumns(2,
		widget.NewButtonWithIcon("Accept (A)", theme.ConfirmIcon(), p.Accept),
		widget.NewButtonWithIcon("Reject (R)", theme.CancelIcon(), p.Reject),
		widget.NewButtonWithIcon("Prev (K)", theme.MoveUpIcon(), p.Prev),
		widget.NewButtonWithIcon("Next (J)", theme.MoveDownIcon(), p.Next),
	)
	top := container.NewVBox(title, p.summary, buttons, container.NewBorder(nil, nil, widget.NewLabel("Class (C)"), nil, p.picker))
	return widget.NewSimpleRenderer(container.NewBorder(top, nil, nil, nil, p.list))
}
