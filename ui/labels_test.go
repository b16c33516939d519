package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hisirdesk/hisir/engine/geom"
)

// step is one user action on a viewer with a label editor, in widget coordinates
// (the tests show a 200×200 image 1:1 in a 200×200 window, so they equal image pixels).
type step struct {
	tap      *fyne.Position
	drag     [2]fyne.Position
	key      fyne.KeyName
	undo     bool
	redo     bool
	class    string
	addPoly  geom.Polygon
	dragStep int
}

func tapAt(x, y float32) step { p := fyne.NewPos(x, y); return step{tap: &p} }
func dragFrom(x0, y0, x1, y1 float32) step {
	return step{drag: [2]fyne.Position{fyne.NewPos(x0, y0), fyne.NewPos(x1, y1)}, dragStep: 9}
}
func key(k fyne.KeyName) step { return step{key: k} }

func pts(xy ...float64) geom.Polygon {
	var p geom.Polygon
	for i := 0; i+1 < len(xy); i += 2 {
		p = append(p, geom.Point{X: xy[i], Y: xy[i+1]})
	}
	return p
}

var triangle = []step{tapAt(20, 20), tapAt(100, 20), tapAt(60, 80)}

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLabelEditorSequences(t *testing.T) {
	tests := []struct {
		name    string
		start   []Label
		steps   []step
		want    []geom.Polygon
		classes []string
		saves   int
	}{
		{"close by tapping the first vertex", nil, seq(triangle, []step{tapAt(22, 21)}),
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, []string{"missing_component"}, 1},
		{"close with Enter", nil, seq(triangle, []step{key(fyne.KeyReturn)}),
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, nil, 1},
		{"Enter with two vertices does nothing", nil, []step{tapAt(20, 20), tapAt(100, 20), key(fyne.KeyReturn)},
			nil, nil, 0},
		{"Escape cancels the draft", nil, seq(triangle, []step{key(fyne.KeyEscape), key(fyne.KeyReturn)}),
			nil, nil, 0},
		{"Backspace drops the last draft vertex", nil, seq(triangle, []step{tapAt(30, 90), key(fyne.KeyBackspace), key(fyne.KeyReturn)}),
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, nil, 1},
		{"drag a vertex with many small steps", []Label{{Class: "misalignment", Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{dragFrom(100, 20, 150, 40)},
			[]geom.Polygon{pts(20, 20, 150, 40, 60, 80)}, []string{"misalignment"}, 1},
		{"drag inside moves the polygon", []Label{{Class: "misalignment", Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{dragFrom(60, 40, 70, 60)},
			[]geom.Polygon{pts(30, 40, 110, 40, 70, 100)}, nil, 1},
		{"drag outside pans and edits nothing", []Label{{Class: "misalignment", Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{dragFrom(180, 180, 170, 170)},
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, nil, 0},
		{"select then tap an edge inserts a vertex", []Label{{Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{tapAt(60, 35), tapAt(60, 21)},
			[]geom.Polygon{pts(20, 20, 60, 20, 100, 20, 60, 80)}, nil, 1},
		{"delete a vertex", []Label{{Polygon: pts(20, 20, 100, 20, 100, 80, 20, 80)}},
			[]step{tapAt(100, 80), key(fyne.KeyDelete)},
			[]geom.Polygon{pts(20, 20, 100, 20, 20, 80)}, nil, 1},
		{"deleting a triangle vertex deletes the polygon", []Label{{Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{tapAt(100, 20), key(fyne.KeyDelete)},
			nil, nil, 1},
		{"delete a selected polygon", []Label{{Polygon: pts(20, 20, 100, 20, 60, 80)}, {Polygon: pts(120, 120, 180, 120, 150, 180)}},
			[]step{tapAt(150, 140), key(fyne.KeyDelete)},
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, nil, 1},
		{"re-class the selection", []Label{{Class: "misalignment", Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{tapAt(60, 40), {class: "solder_bridge"}},
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, []string{"solder_bridge"}, 1},
		{"custom class for new polygons", nil, seq([]step{{class: "tombstone"}}, triangle, []step{key(fyne.KeyEnter)}),
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, []string{"tombstone"}, 1},
		{"detection turned into a polygon", nil, []step{{addPoly: pts(5, 5, 15, 5, 15, 15, 5, 15), class: "extra_component"}},
			[]geom.Polygon{pts(5, 5, 15, 5, 15, 15, 5, 15)}, []string{"extra_component"}, 1},
		{"undo a vertex drag", []Label{{Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{dragFrom(100, 20, 150, 40), {undo: true}},
			[]geom.Polygon{pts(20, 20, 100, 20, 60, 80)}, nil, 2},
		{"undo then redo a delete", []Label{{Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{tapAt(60, 40), key(fyne.KeyDelete), {undo: true}, {redo: true}},
			nil, nil, 3},
		{"undo twice walks back two changes", nil, seq(triangle, []step{key(fyne.KeyReturn), dragFrom(60, 80, 60, 120), {undo: true}, {undo: true}}),
			nil, nil, 4},
		{"a new change clears redo", []Label{{Polygon: pts(20, 20, 100, 20, 60, 80)}},
			[]step{dragFrom(100, 20, 150, 40), {undo: true}, dragFrom(20, 20, 10, 10), {redo: true}},
			[]geom.Polygon{pts(10, 10, 100, 20, 60, 80)}, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newTestViewer(t, checker(200, 200, 10), 200, 200, 1)
			e := NewLabelEditor(tt.start)
			saves := 0
			e.OnChanged = func([]Label) { saves++ }
			v.SetEditor(e)
			for _, s := range tt.steps {
				switch {
				case s.tap != nil:
					test.TapAt(v, *s.tap)
				case s.dragStep > 0:
					dragSteps(v, s.drag[0], s.drag[1], s.dragStep)
				case s.key != "":
					v.TypedKey(&fyne.KeyEvent{Name: s.key})
				case s.undo:
					e.Undo()
				case s.redo:
					e.Redo()
				case s.addPoly != nil:
					e.Add(s.class, s.addPoly)
				case s.class != "":
					e.SetClass(s.class)
				}
			}
			got := e.Labels()
			if len(got) != len(tt.want) {
				t.Fatalf("%d labels %v, want %d", len(got), got, len(tt.want))
			}
			for i, l := range got {
				if !polyEqual(l.Polygon, tt.want[i]) {
					t.Errorf("label %d = %v, want %v", i, l.Polygon, tt.want[i])
				}
				if i < len(tt.classes) && l.Class != tt.classes[i] {
					t.Errorf("label %d class %q, want %q", i, l.Class, tt.classes[i])
				}
			}
			if saves != tt.saves {
				t.Errorf("OnChanged called %d times, want %d", saves, tt.saves)
			}
		})
	}
}

func polyEqual(a, b geom.Polygon) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i].X, b[i].X) || !near(a[i].Y, b[i].Y) {
			return false
		}
	}
	return true
}

func TestLabelEditorKeepsIDs(t *testing.T) {
	e := NewLabelEditor([]Label{{ID: 7, Class: "misalignment", Polygon: pts(0, 0, 10, 0, 5, 5)}})
	e.Tap(geom.Point{X: 5, Y: 2}, 1)
	e.SetClass("solder_bridge")
	if l := e.Labels()[0]; l.ID != 7 || l.Class != "solder_bridge" {
		t.Errorf("re-classed label = %+v, want ID 7 kept", l)
	}
	// Labels returns a copy: changing it does not change the editor.
	e.Labels()[0].Polygon[0].X = 99
	if e.Labels()[0].Polygon[0].X != 0 {
		t.Error("Labels shares memory with the editor")
	}
}

func TestLabelEditorRendersHandlesGolden(t *testing.T) {
	v, win := newTestViewer(t, checker(200, 200, 25), 200, 200, 1)
	v.SetHeatmap(0, Turbo, 1)
	e := NewLabelEditor([]Label{{Class: "solder_bridge", Polygon: pts(20, 20, 100, 20, 60, 80)}})
	v.SetEditor(e)
	test.TapAt(v, fyne.NewPos(100, 20))  // select a vertex
	test.TapAt(v, fyne.NewPos(120, 120)) // start a draft (deselects)
	test.TapAt(v, fyne.NewPos(180, 130)) // second draft vertex
	test.AssertRendersToImage(t, "labels_draft.png", win.Canvas())
}
