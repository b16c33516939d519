package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hisirdesk/hisir/engine/geom"
)

// fakeReviewer records every call, like a store that saves each decision at once.
type fakeReviewer struct {
	calls []string
	state map[int64]string
	fail  error
}

func (f *fakeReviewer) SetReview(id int64, d Decision, class string) error {
	if f.fail != nil {
		return f.fail
	}
	if f.state == nil {
		f.state = map[int64]string{}
	}
	f.calls = append(f.calls, fmt.Sprintf("%d:%s:%s", id, d, class))
	f.state[id] = fmt.Sprintf("%s:%s", d, class)
	return nil
}

func reviewDefects() []Defect {
	return []Defect{
		{ID: 10, Peak: 1.2, Box: geom.Rect{X0: 10, Y0: 10, X1: 20, Y1: 20}},
		{ID: 11, Peak: 3.5, Box: geom.Rect{X0: 100, Y0: 50, X1: 120, Y1: 60}, Class: "solder_bridge"},
		{ID: 12, Peak: 2.0, Box: geom.Rect{X0: 300, Y0: 200, X1: 310, Y1: 230}},
	}
}

// keys types a sequence: letters as runes, "↓"/"↑" as arrows, "z"/"Z" as undo/redo.
func typeReview(p *ReviewPanel, keys string) {
	for _, r := range keys {
		switch r {
		case '↓':
			p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
		case '↑':
			p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
		case 'z':
			p.TypedShortcut(UndoShortcut)
		case 'Z':
			p.TypedShortcut(RedoShortcut)
		case 'y':
			p.TypedShortcut(RedoShortcutAlt)
		default:
			p.TypedRune(r)
		}
	}
}

func TestReviewPanelKeys(t *testing.T) {
	tests := []struct {
		name     string
		keys     string
		sel      int64
		state    string // decisions in list order (by descending peak: 11, 12, 10)
		calls    []string
		selected []int64 // OnSelect sequence after the initial selection
	}{
		{"sorted by score, first selected", "", 11, "pending pending pending", nil, nil},
		{"accept advances", "a", 12, "accepted pending pending", []string{"11:accepted:solder_bridge"}, []int64{12}},
		{"reject then accept", "ra", 10, "rejected accepted pending", []string{"11:rejected:solder_bridge", "12:accepted:"}, []int64{12, 10}},
		{"j/k and arrows move", "jj↑k↓", 12, "pending pending pending", nil, []int64{12, 10, 12, 11, 12}},
		{"next stops at the last", "jjjj", 10, "pending pending pending", nil, []int64{12, 10, 10, 10}},
		{"c cycles the class and keeps the decision", "jc", 12, "pending pending pending", []string{"12:pending:missing_component"}, []int64{12}},
		{"c from solder_bridge goes to the next class", "c", 11, "pending pending pending", []string{"11:pending:foreign_object_debris"}, nil},
		{"undo restores and reselects", "aaz", 12, "accepted pending pending",
			[]string{"11:accepted:solder_bridge", "12:accepted:", "12:pending:"}, []int64{12, 10, 12}},
		{"undo then redo (Ctrl+Shift+Z)", "azZ", 11, "accepted pending pending",
			[]string{"11:accepted:solder_bridge", "11:pending:solder_bridge", "11:accepted:solder_bridge"}, []int64{12, 11, 11}},
		{"Ctrl+Y redoes too", "rzy", 11, "rejected pending pending",
			[]string{"11:rejected:solder_bridge", "11:pending:solder_bridge", "11:rejected:solder_bridge"}, []int64{12, 11, 11}},
		{"undo with nothing to undo", "zZ", 11, "pending pending pending", nil, nil},
		{"a new decision clears redo", "azrZ", 12, "rejected pending pending",
			[]string{"11:accepted:solder_bridge", "11:pending:solder_bridge", "11:rejected:solder_bridge"}, []int64{12, 11, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			test.NewTempApp(t)
			rv := &fakeReviewer{}
			p := NewReviewPanel(rv, nil)
			test.NewTempWindow(t, p).Resize(fyne.NewSize(360, 500))
			p.SetDefects(reviewDefects())
			var selected []int64
			p.OnSelect = func(d Defect) { selected = append(selected, d.ID) }
			typeReview(p, tt.keys)
			d, ok := p.Selected()
			if !ok || d.ID != tt.sel {
				t.Errorf("selected %v (%v), want %d", d.ID, ok, tt.sel)
			}
			var state []string
			for _, d := range p.Defects() {
				state = append(state, d.Decision.String())
			}
			if got := strings.Join(state, " "); got != tt.state {
				t.Errorf("decisions %q, want %q", got, tt.state)
			}
			if fmt.Sprint(rv.calls) != fmt.Sprint(tt.calls) {
				t.Errorf("store calls %v, want %v", rv.calls, tt.calls)
			}
			if fmt.Sprint(selected) != fmt.Sprint(tt.selected) {
				t.Errorf("OnSelect %v, want %v", selected, tt.selected)
			}
		})
	}
}

func TestReviewPanelForwardsOtherKeys(t *testing.T) {
	test.NewTempApp(t)
	p := NewReviewPanel(&fakeReviewer{}, nil)
	test.NewTempWindow(t, p)
	p.SetDefects(reviewDefects())
	var runes []rune
	var keys []fyne.KeyName
	p.OnTypedRune = func(r rune) { runes = append(runes, r) }
	p.OnTypedKey = func(ev *fyne.KeyEvent) { keys = append(keys, ev.Name) }
	typeReview(p, "f1aj")
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	p.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if string(runes) != "f1" || fmt.Sprint(keys) != "[Escape]" {
		t.Errorf("forwarded runes %q keys %v, want \"f1\" and [Escape]", string(runes), keys)
	}
}

func TestReviewPanelStoreFailureRollsBack(t *testing.T) {
	test.NewTempApp(t)
	rv := &fakeReviewer{fail: errors.New("disk full")}
	p := NewReviewPanel(rv, nil)
	test.NewTempWindow(t, p)
	p.SetDefects(reviewDefects())
	var got error
	p.OnError = func(err error) { got = err }
	typeReview(p, "a")
	if got == nil || !errors.Is(got, rv.fail) || !strings.Contains(got.Error(), "defect 11") {
		t.Fatalf("OnError got %v, want the wrapped store error naming the defect", got)
	}
	if d, _ := p.Selected(); d.ID != 11 || d.Decision != Pending {
		t.Errorf("after a failed save: selected %d %v, want 11 still pending", d.ID, d.Decision)
	}
	rv.fail = nil
	typeReview(p, "z") // nothing was recorded, so nothing to undo
	if len(rv.calls) != 0 {
		t.Errorf("undo after a failed save called the store: %v", rv.calls)
	}
}

func TestReviewPanelZoomsViewerAndSummarises(t *testing.T) {
	test.NewTempApp(t)
	v := NewViewer()
	v.sync = true
	p := NewReviewPanel(&fakeReviewer{}, nil)
	win := test.NewTempWindow(t, v)
	win.SetPadded(false)
	win.Resize(fyne.NewSize(400, 300))
	v.SetImage(checker(800, 600, 20))
	p.OnSelect = func(d Defect) { v.ShowRect(d.Box) }
	p.OnChanged = func(ds []Defect) { v.SetDefects(ds, -1) }
	p.SetDefects(reviewDefects())
	box := reviewDefects()[1].Box
	if vis := v.View().Visible(800, 600, v.Size(), 1); vis.Intersect(box) != box || v.fit {
		t.Errorf("viewer shows %v, want the top defect %v zoomed in", vis, box)
	}
	typeReview(p, "ar")
	if got, want := p.Summary(), "3 defects · 1 accepted · 1 rejected · 1 to review"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if len(v.defects) != 3 || v.defects[0].Decision != Accepted {
		t.Errorf("viewer outlines not updated: %+v", v.defects)
	}
	p.SetDefects(nil)
	if got := p.Summary(); got != "No defects above the threshold." {
		t.Errorf("empty summary %q", got)
	}
}

func TestReviewPanelCustomClassAndGolden(t *testing.T) {
	test.NewTempApp(t)
	p := NewReviewPanel(&fakeReviewer{}, nil)
	p.AddClass("tombstone")
	win := test.NewTempWindow(t, p)
	win.Resize(fyne.NewSize(380, 420))
	p.SetDefects(reviewDefects())
	p.SetClass("tombstone")
	if d, _ := p.Selected(); d.Class != "tombstone" {
		t.Errorf("custom class not applied: %q", d.Class)
	}
	typeReview(p, "a")
	test.AssertRendersToImage(t, "review.png", win.Canvas())
}
