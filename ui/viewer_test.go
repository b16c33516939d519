package ui

import (
	"image"
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/hisirdesk/hisir/engine/geom"
)

// newTestViewer shows a synchronous viewer of img in a w×h test window at the given scale.
func newTestViewer(t *testing.T, img image.Image, w, h float32, scale float32) (*Viewer, fyne.Window) {
	t.Helper()
	test.NewTempApp(t)
	v := NewViewer()
	v.sync = true
	win := test.NewTempWindow(t, v)
	win.SetPadded(false)
	if scale != 1 {
		win.Canvas().(interface{ SetScale(float32) }).SetScale(scale)
	}
	win.Resize(fyne.NewSize(w, h))
	if img != nil {
		v.SetImage(img)
	}
	return v, win
}

// dragSteps sends a real-driver-like drag: many small Dragged events whose Position is
// the current pointer, then DragEnd.
func dragSteps(d fyne.Draggable, from, to fyne.Position, steps int) {
	prev := from
	for i := 1; i <= steps; i++ {
		f := float32(i) / float32(steps)
		cur := fyne.NewPos(from.X+(to.X-from.X)*f, from.Y+(to.Y-from.Y)*f)
		d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: cur}, Dragged: fyne.NewDelta(cur.X-prev.X, cur.Y-prev.Y)})
		prev = cur
	}
	d.DragEnd()
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestViewerKeys(t *testing.T) {
	for _, scale := range []float32{1, 2} {
		v, _ := newTestViewer(t, checker(400, 200, 10), 200, 200, scale)
		fit := 200 * float64(scale) / 400
		tests := []struct {
			keys string
			zoom float64
			fit  bool
		}{
			{"", fit, true},
			{"1", 1, false},
			{"+", 2, false},
			{"++", 8, false},
			{"-", 4, false},
			{"f", fit, true},
			{"F1", 1, false},
		}
		for _, tt := range tests {
			test.Type(v, tt.keys)
			if !near(v.View().Zoom, tt.zoom) || v.fit != tt.fit {
				t.Errorf("scale %v after %q: zoom %v fit %v, want %v %v", scale, tt.keys, v.View().Zoom, v.fit, tt.zoom, tt.fit)
			}
		}
	}
}

func TestViewerZoomLimits(t *testing.T) {
	v, _ := newTestViewer(t, checker(3840, 2160, 64), 400, 300, 1)
	for i := 0; i < 20; i++ {
		test.Type(v, "+")
	}
	if z := v.View().Zoom; z < 32 || z > MaxZoom {
		t.Errorf("zoomed in to %v, want between 3200 %% and MaxZoom", z)
	}
	for i := 0; i < 40; i++ {
		test.Type(v, "-")
	}
	if z, fit := v.View().Zoom, v.FitZoom(); z < fit/2-1e-9 {
		t.Errorf("zoomed out to %v, below half of fit %v", z, fit)
	}
}

func TestViewerToggleKeys(t *testing.T) {
	v, _ := newTestViewer(t, checker(40, 40, 4), 100, 100, 1)
	tests := []struct {
		key rune
		o   Overlay
	}{{'h', OverlayHeatmap}, {'m', OverlayMask}, {'o', OverlayOutlines}, {'l', OverlayLabels}}
	for _, tt := range tests {
		before := v.OverlayShown(tt.o)
		test.Type(v, string(tt.key))
		if v.OverlayShown(tt.o) == before {
			t.Errorf("%q did not toggle overlay %d", tt.key, tt.o)
		}
	}
	modes := []TwinMode{TwinSideBySide, TwinFlicker, TwinOff}
	for _, want := range modes {
		test.Type(v, "t")
		if v.TwinMode() != want {
			t.Errorf("t gave twin mode %v, want %v", v.TwinMode(), want)
		}
	}
	var forwarded []rune
	v.OnTypedRune = func(r rune) { forwarded = append(forwarded, r) }
	test.Type(v, "aj")
	if string(forwarded) != "aj" {
		t.Errorf("forwarded %q, want the keys the viewer does not use", string(forwarded))
	}
}

func TestViewerDragPansWithPointer(t *testing.T) {
	for _, scale := range []float32{1, 2} {
		v, _ := newTestViewer(t, checker(1000, 1000, 10), 200, 200, scale)
		test.Type(v, "1")
		grab := fyne.NewPos(50, 60)
		under := v.View().Pixel(grab, scale)
		dragSteps(v, grab, fyne.NewPos(130, 20), 17)
		if got := v.View().Pixel(fyne.NewPos(130, 20), scale); got != under {
			t.Errorf("scale %v: after dragging, pixel %v is under the pointer instead of %v", scale, got, under)
		}
		// The single-event drag of test.Drag pans by the same total.
		before := v.View().Origin
		test.Drag(canvasOf(t, v), fyne.NewPos(100, 100), -40, 0)
		if got := v.View().Origin.X - before.X; !near(got, 40*float64(scale)) {
			t.Errorf("scale %v: test.Drag moved origin by %v, want %v", scale, got, 40*scale)
		}
	}
}

func TestViewerScrollPans(t *testing.T) {
	v, win := newTestViewer(t, checker(1000, 1000, 10), 200, 200, 1)
	test.Type(v, "1")
	before := v.View().Origin
	test.Scroll(win.Canvas(), fyne.NewPos(50, 50), 0, -30)
	if got := v.View().Origin; !near(got.Y-before.Y, 30) || !near(got.X, before.X) {
		t.Errorf("scrolling down 30 moved origin %v → %v, want +30 in y", before, got)
	}
}

func TestViewerMinimapRecentres(t *testing.T) {
	v, _ := newTestViewer(t, checker(2000, 1000, 50), 800, 600, 1)
	if _, _, ok := v.minimapRect(); ok {
		t.Fatal("minimap shown at fit")
	}
	test.Type(v, "1")
	pos, size, ok := v.minimapRect()
	if !ok {
		t.Fatal("minimap hidden when zoomed in")
	}
	// Tap the minimap three quarters across and halfway down: that image point is centred.
	test.TapAt(v, pos.Add(fyne.NewPos(size.Width*0.75, size.Height*0.5)))
	c := v.View().ImagePoint(fyne.NewPos(400, 300), 1)
	if math.Abs(c.X-1500) > 2 || math.Abs(c.Y-500) > 2 {
		t.Errorf("centre after minimap tap = %v, want about (1500, 500)", c)
	}
}

func TestViewerShowRectZoomsToDefect(t *testing.T) {
	v, _ := newTestViewer(t, checker(3840, 2160, 64), 800, 500, 1)
	box := geom.Rect{X0: 1000, Y0: 700, X1: 1010, Y1: 712}
	v.ShowRect(box)
	vis := v.View().Visible(3840, 2160, v.Size(), 1)
	if vis.Intersect(box) != box {
		t.Errorf("visible %v does not hold the defect %v", vis, box)
	}
	if z := v.View().Zoom; !near(z, 8) {
		t.Errorf("zoom %v, want the 800 %% cap for a small defect", z)
	}
}

func canvasOf(t *testing.T, o fyne.CanvasObject) fyne.Canvas {
	t.Helper()
	c := fyne.CurrentApp().Driver().CanvasForObject(o)
	if c == nil {
		t.Fatal("viewer not on a canvas")
	}
	return c
}

func TestViewerRendersOverlaysGolden(t *testing.T) {
	img := checker(64, 48, 8)
	v, win := newTestViewer(t, img, 256, 192, 1)
	data := make([]float32, 64*48)
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			dx, dy := float64(x-40), float64(y-20)
			data[y*64+x] = float32(2 * math.Exp(-(dx*dx+dy*dy)/40))
		}
	}
	v.SetScores(NewScores(64, 48, data))
	v.SetThreshold(1)
	v.SetDefects([]Defect{{ID: 1, Outline: geom.Polygon{{X: 36, Y: 16}, {X: 44, Y: 16}, {X: 44, Y: 24}, {X: 36, Y: 24}}, Decision: Pending}}, -1)
	v.SetLabels([]Label{{Class: "solder_bridge", Polygon: geom.Polygon{{X: 4, Y: 30}, {X: 20, Y: 30}, {X: 12, Y: 44}}}})
	test.AssertRendersToImage(t, "viewer_overlays.png", win.Canvas())
	v.ShowOverlay(OverlayHeatmap, false)
	v.ShowOverlay(OverlayMask, false)
	test.AssertRendersToImage(t, "viewer_plain.png", win.Canvas())
}

func TestViewerCapsOutlines(t *testing.T) {
	v, _ := newTestViewer(t, checker(100, 100, 10), 100, 100, 1)
	var ds []Defect
	for i := 0; i < MaxOutlines+50; i++ {
		ds = append(ds, Defect{ID: int64(i), Outline: geom.Polygon{{X: 1, Y: 1}, {X: 2, Y: 1}, {X: 2, Y: 2}}})
	}
	v.SetDefects(ds, int64(MaxOutlines+20))
	shapes := v.shapes()
	if len(shapes) != MaxOutlines+1 {
		t.Fatalf("%d outlines drawn, want %d (the cap plus the selected one)", len(shapes), MaxOutlines+1)
	}
	if last := shapes[len(shapes)-1]; last.Width != 3 {
		t.Errorf("the selected defect beyond the cap is not drawn highlighted: %+v", last)
	}
}

func TestViewerTwinModes(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	twin := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for i := range twin.Pix {
		twin.Pix[i] = 255
	}
	v, _ := newTestViewer(t, img, 200, 100, 1)
	v.SetTwin(twin)
	frame := func() *image.RGBA {
		return test.WidgetRenderer(v).(*viewerRenderer).frame.Image.(*image.RGBA)
	}
	// Side by side: each half shows one image, fitted to the half; a tap on the right half
	// maps to the same image pixel as on the left.
	v.SetTwinMode(TwinSideBySide)
	if l, r := rgbaAt(frame(), 50, 50), rgbaAt(frame(), 150, 50); l[0] != 0 || r[0] != 255 {
		t.Errorf("side by side: left %v right %v", l, r)
	}
	var tapped []geom.Point
	v.OnTapped = func(p geom.Point) { tapped = append(tapped, p) }
	test.TapAt(v, fyne.NewPos(30, 40))
	test.TapAt(v, fyne.NewPos(130, 40))
	if len(tapped) != 2 || tapped[0] != tapped[1] {
		t.Errorf("taps on the two panes mapped to %v, want the same pixel", tapped)
	}
	// Flicker: Flick swaps what is drawn.
	v.SetTwinMode(TwinFlicker)
	before := rgbaAt(frame(), 100, 50)
	v.Flick()
	after := rgbaAt(frame(), 100, 50)
	if before[0] != 0 || after[0] != 255 {
		t.Errorf("flicker: %v then %v, want image then twin", before, after)
	}
	test.Type(v, " ")
	if got := rgbaAt(frame(), 100, 50); got[0] != 0 {
		t.Errorf("space did not flick back: %v", got)
	}
}

func TestViewerHoverReportsPixel(t *testing.T) {
	v, _ := newTestViewer(t, checker(100, 100, 10), 100, 100, 2)
	var got []image.Point
	v.OnHover = func(p image.Point, ok bool) {
		if ok {
			got = append(got, p)
		}
	}
	v.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(10.2, 20.7)}})
	// 100×100 image in a 100×100 widget at scale 2: fit zoom 2, so widget units are pixels.
	if len(got) != 1 || got[0] != image.Pt(10, 20) {
		t.Errorf("hover reported %v, want (10,20)", got)
	}
}

func TestViewerRendersOffTheUIGoroutine(t *testing.T) {
	test.NewTempApp(t)
	v := NewViewer() // asynchronous: frames come from the render goroutine through fyne.Do
	win := test.NewTempWindow(t, v)
	win.SetPadded(false)
	win.Resize(fyne.NewSize(160, 120))
	v.SetImage(checker(320, 240, 16))
	r := test.WidgetRenderer(v).(*viewerRenderer)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, ok := r.frame.Image.(*image.RGBA); ok && m.Rect.Dx() == 160 && m.Rect.Dy() == 120 {
			// fit: 320×240 at zoom 0.5 from level 1, where 16-px squares are 8 px
			if rgbaAt(m, 12, 4) == [4]uint8{255, 255, 255, 255} && rgbaAt(m, 4, 12) == [4]uint8{255, 255, 255, 255} && rgbaAt(m, 12, 12)[0] == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no frame of the window's size arrived from the render goroutine")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.Destroy()
}
