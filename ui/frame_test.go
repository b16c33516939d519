package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	xdraw "golang.org/x/image/draw"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// checker returns a w×h image of c×c squares, black and white, with a red pixel at (0,0).
func checker(w, h, c int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(0)
			if (x/c+y/c)%2 == 1 {
				v = 255
			}
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = v, v, v, 255
		}
	}
	m.Pix[0], m.Pix[1], m.Pix[2] = 255, 0, 0
	return m
}

func rgbaAt(m *image.RGBA, x, y int) [4]uint8 {
	i := m.PixOffset(x, y)
	return [4]uint8{m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3]}
}

func TestToRGBAMatchesStandardConversion(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	r := image.Rect(3, 5, 3+17, 5+9) // odd size, non-zero origin
	nrgba := image.NewNRGBA(r)
	rng.Read(nrgba.Pix)
	for i := 3; i < len(nrgba.Pix); i += 8 {
		nrgba.Pix[i] = 255 // half opaque, half random alpha
	}
	gray := image.NewGray(r)
	rng.Read(gray.Pix)
	rgba64 := image.NewRGBA64(r)
	for i := 0; i < len(rgba64.Pix); i += 8 {
		for c := 0; c < 3; c++ {
			rgba64.Pix[i+2*c], rgba64.Pix[i+2*c+1] = uint8(rng.Intn(256)), uint8(rng.Intn(256))
		}
		rgba64.Pix[i+6], rgba64.Pix[i+7] = 255, 255
	}
	nrgba64 := image.NewNRGBA64(r)
	copy(nrgba64.Pix, rgba64.Pix)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	rng.Read(ycc.Y)
	rng.Read(ycc.Cb)
	rng.Read(ycc.Cr)
	tests := []struct {
		name string
		img  image.Image
	}{
		{"nrgba", nrgba}, {"gray", gray}, {"rgba64", rgba64}, {"nrgba64", nrgba64}, {"ycbcr", ycc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toRGBA(tt.img)
			want := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
			draw.Draw(want, want.Rect, tt.img, r.Min, draw.Src)
			if got.Rect != want.Rect {
				t.Fatalf("bounds %v, want %v", got.Rect, want.Rect)
			}
			for i := range got.Pix {
				d := int(got.Pix[i]) - int(want.Pix[i])
				if d < -1 || d > 1 {
					t.Fatalf("byte %d (pixel %d,%d) = %d, want %d", i, (i/4)%r.Dx(), i/4/r.Dx(), got.Pix[i], want.Pix[i])
				}
			}
		})
	}
}

func TestPyramidLevels(t *testing.T) {
	tests := []struct {
		w, h   int
		sizes  [][2]int
		coarse int
	}{
		{8, 4, [][2]int{{8, 4}, {4, 2}, {2, 1}, {1, 1}}, 3},
		{5, 3, [][2]int{{5, 3}, {3, 2}, {2, 1}, {1, 1}}, 3},
		{1, 1, [][2]int{{1, 1}}, 0},
	}
	for _, tt := range tests {
		p := NewPyramid(checker(tt.w, tt.h, 1))
		for l, s := range tt.sizes {
			m, got := p.Level(l)
			if got != l || m.Rect.Dx() != s[0] || m.Rect.Dy() != s[1] {
				t.Errorf("%dx%d level %d = %dx%d (index %d), want %dx%d", tt.w, tt.h, l, m.Rect.Dx(), m.Rect.Dy(), got, s[0], s[1])
			}
		}
		if _, got := p.Level(50); got != tt.coarse {
			t.Errorf("%dx%d: level 50 clipped to %d, want %d", tt.w, tt.h, got, tt.coarse)
		}
	}
	// A 1-pixel checker averages to mid grey at level 1 (the red corner aside).
	p := NewPyramid(checker(8, 8, 1))
	m, _ := p.Level(1)
	if got := rgbaAt(m, 2, 2); got != [4]uint8{128, 128, 128, 255} {
		t.Errorf("level 1 of a 1-px checker = %v, want mid grey", got)
	}
}

func TestScoresMaxPoolKeepsPeaks(t *testing.T) {
	data := make([]float32, 9*7)
	data[6*9+8] = 5 // bottom-right corner, odd size
	data[2*9+3] = 3
	s := NewScores(9, 7, data)
	tests := []struct {
		level, w int
		at       [][3]int // x, y, value*1
	}{
		{1, 5, [][3]int{{4, 3, 5}, {1, 1, 3}, {0, 0, 0}}},
		{2, 3, [][3]int{{2, 1, 5}, {0, 0, 3}}},
		{3, 2, [][3]int{{1, 0, 5}, {0, 0, 3}}},
	}
	for _, tt := range tests {
		lv, w := s.Level(tt.level)
		if w != tt.w {
			t.Fatalf("level %d width %d, want %d", tt.level, w, tt.w)
		}
		for _, a := range tt.at {
			if got := lv[a[1]*w+a[0]]; got != float32(a[2]) {
				t.Errorf("level %d at (%d,%d) = %v, want %v", tt.level, a[0], a[1], got, a[2])
			}
		}
	}
}

func TestRenderFrameNearestAtHighZoom(t *testing.T) {
	img := checker(16, 16, 1)
	tests := []struct {
		name string
		zoom float64
	}{{"3200%", 32}, {"800%", 8}, {"6400%", 64}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &frameSpec{W: 256, H: 256, View: View{Zoom: tt.zoom, Origin: geom.Point{X: 2, Y: 3}}, Image: NewPyramid(img)}
			f := renderFrame(spec)
			// Every screen pixel shows exactly the image pixel under its centre: no blending.
			for y := 0; y < 256; y++ {
				for x := 0; x < 256; x++ {
					ix := 2 + int((float64(x)+0.5)/tt.zoom)
					iy := 3 + int((float64(y)+0.5)/tt.zoom)
					want := [4]uint8{background.R, background.G, background.B, 255}
					if ix < 16 && iy < 16 {
						want = rgbaAt(img, ix, iy)
					}
					if got := rgbaAt(f, x, y); got != want {
						t.Fatalf("screen (%d,%d) = %v, want image pixel (%d,%d) = %v", x, y, got, ix, iy, want)
					}
				}
			}
		})
	}
}

func TestRenderFrameBackgroundOutsideImage(t *testing.T) {
	spec := &frameSpec{W: 40, H: 40, View: View{Zoom: 1, Origin: geom.Point{X: -10, Y: -10}}, Image: NewPyramid(checker(20, 20, 4))}
	f := renderFrame(spec)
	bg := [4]uint8{background.R, background.G, background.B, 255}
	for _, p := range [][2]int{{0, 0}, {9, 20}, {30, 30}, {35, 5}} {
		if got := rgbaAt(f, p[0], p[1]); got != bg {
			t.Errorf("(%d,%d) = %v, want background", p[0], p[1], got)
		}
	}
	if got := rgbaAt(f, 10, 10); got != [4]uint8{255, 0, 0, 255} {
		t.Errorf("image origin at (10,10) = %v, want the red corner", got)
	}
}

func TestRenderFrameMaskFollowsThreshold(t *testing.T) {
	w, h := 8, 8
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 100
	}
	data := make([]float32, w*h)
	for i := range data {
		data[i] = float32(i%w) / 4 // 0, .25, … 1.75 across x
	}
	scores := NewScores(w, h, data)
	for _, th := range []float32{0.5, 1, 1.5} {
		spec := &frameSpec{W: w, H: h, View: View{Zoom: 1}, Image: NewPyramid(img), Scores: scores, Mask: true, Threshold: th}
		f := renderFrame(spec)
		for x := 0; x < w; x++ {
			tinted := rgbaAt(f, x, 4) != [4]uint8{100, 100, 100, 100}
			if want := data[x] >= th; tinted != want {
				t.Errorf("threshold %v: x=%d score %v tinted=%v, want %v", th, x, data[x], tinted, want)
			}
		}
	}
	// The heatmap colours high scores with the palette's hot end, and opacity 0 is invisible.
	spec := &frameSpec{W: w, H: h, View: View{Zoom: 1}, Image: NewPyramid(img), Scores: scores, Heat: true, Opacity: 1, HeatMax: 1.75}
	f := renderFrame(spec)
	hot, cold := rgbaAt(f, 7, 0), rgbaAt(f, 0, 0)
	if !(hot[0] > hot[2] && cold[2] > cold[0]) {
		t.Errorf("turbo heatmap: hot %v should be red, cold %v blue", hot, cold)
	}
	spec.Opacity = 0
	if got := rgbaAt(renderFrame(spec), 7, 0); got != [4]uint8{100, 100, 100, 100} {
		t.Errorf("opacity 0 heatmap changed the pixel to %v", got)
	}
}

func TestRenderFrameOutlinesAndTwin(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 20, 20))
	twin := image.NewRGBA(image.Rect(0, 0, 20, 20))
	for i := range twin.Pix {
		twin.Pix[i] = 255
	}
	red := color.RGBA{255, 0, 0, 255}
	sq := geom.Polygon{{X: 5, Y: 5}, {X: 15, Y: 5}, {X: 15, Y: 15}, {X: 5, Y: 15}}
	spec := &frameSpec{W: 40, H: 40, View: View{Zoom: 2}, Image: NewPyramid(img), Twin: NewPyramid(twin),
		Shapes: []Shape{{Polygon: sq, Color: red, Width: 1, Active: -1}}}
	f := renderFrame(spec)
	for _, p := range [][2]int{{10, 10}, {20, 10}, {30, 20}, {10, 29}} { // on the outline (×2)
		if got := rgbaAt(f, p[0], p[1]); got != [4]uint8{255, 0, 0, 255} {
			t.Errorf("outline at %v = %v, want red", p, got)
		}
	}
	if got := rgbaAt(f, 20, 20); got != [4]uint8{0, 0, 0, 0} {
		t.Errorf("inside the outline = %v, want the image", got)
	}
	spec.ShowTwin = true
	if got := rgbaAt(renderFrame(spec), 2, 2); got != [4]uint8{255, 255, 255, 255} {
		t.Errorf("flicker phase shows %v, want the white twin", got)
	}
	spec.ShowTwin, spec.SideBySide = false, true
	f = renderFrame(spec)
	if l, r := rgbaAt(f, 2, 2), rgbaAt(f, 22, 2); l != [4]uint8{0, 0, 0, 0} || r != [4]uint8{255, 255, 255, 255} {
		t.Errorf("side by side: left %v right %v, want image then twin", l, r)
	}
}

func TestDrawLineClipsHugeCoordinates(t *testing.T) {
	dst := image.NewRGBA(image.Rect(0, 0, 10, 10))
	// A segment millions of pixels long must be clipped before it is walked.
	drawLine(dst, dst.Rect, -1e9, 5, 1e9, 5, 1, color.RGBA{0, 255, 0, 255})
	for x := 0; x < 10; x++ {
		if got := rgbaAt(dst, x, 5); got != [4]uint8{0, 255, 0, 255} {
			t.Fatalf("(%d,5) = %v, want green", x, got)
		}
	}
	if got := rgbaAt(dst, 5, 4); got != [4]uint8{} {
		t.Errorf("line leaked to row 4: %v", got)
	}
}

// photo4K is a synthetic 3840×2160 board-like image (as JPEG decodes it, YCbCr).
func photo4K() image.Image {
	const w, h = 3840, 2160
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Y[y*m.YStride+x] = uint8((x*7 + y*3) ^ (x / 64 * 31))
		}
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(i*13), uint8(i*7)
	}
	return m
}

// BenchmarkFirstFrame4K measures the first frame of a 4K photo fitted to a 1600×1000
// window: RGBA conversion, the pyramid level it needs and the visible render. It reports
// the time per frame and its ratio to a naive full-image scale with x/image/draw
// (NearestNeighbor, measured in the same run), which is what a viewer without a pyramid
// and visible-window rendering would pay on every frame. Target: ≤ 300 ms.
func BenchmarkFirstFrame4K(b *testing.B) {
	src := photo4K()
	var ours, naive time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p := NewPyramid(src)
		v := FitView(p.W, p.H, fyne.NewSize(1600, 1000), 1)
		renderFrame(&frameSpec{W: 1600, H: 1000, View: v, Image: p})
		t1 := time.Now()
		dst := image.NewRGBA(image.Rect(0, 0, 1600, 900))
		xdraw.NearestNeighbor.Scale(dst, dst.Rect, src, src.Bounds(), draw.Src, nil)
		naive += time.Since(t1)
		ours += t1.Sub(t0)
	}
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/first-frame")
	b.ReportMetric(float64(naive.Milliseconds())/float64(b.N), "ms/naive-scale")
	b.ReportMetric(float64(ours)/float64(naive), "first/naive")
	b.ReportMetric(float64(ours)/float64(b.N)/300e6, "first/budget300ms")
}

// BenchmarkPanFrame4K is one frame of an already built pyramid at 3200 % and at fit:
// what every drag step and threshold change costs.
func BenchmarkPanFrame4K(b *testing.B) {
	p := NewPyramid(photo4K())
	data := make([]float32, p.W*p.H)
	scores := NewScores(p.W, p.H, data)
	for _, z := range []struct {
		name string
		view View
	}{{"fit", FitView(p.W, p.H, fyne.NewSize(1600, 1000), 1)}, {"3200pct", View{Zoom: 32, Origin: geom.Point{X: 1000, Y: 1000}}}} {
		b.Run(z.name, func(b *testing.B) {
			spec := &frameSpec{W: 1600, H: 1000, View: z.view, Image: p, Scores: scores, Heat: true, Mask: true, Opacity: 0.5, Threshold: 1}
			renderFrame(spec)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				renderFrame(spec)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/frame")
		})
	}
}

func TestRings(t *testing.T) {
	tests := []struct {
		name string
		p    geom.Polygon
		want string
	}{
		{"plain square", geom.Polygon{{X: 0, Y: 0}, {X: 4, Y: 0}, {X: 4, Y: 4}, {X: 0, Y: 4}}, "[[0 4]]"},
		{"closed square", geom.Polygon{{X: 0, Y: 0}, {X: 4, Y: 0}, {X: 4, Y: 4}, {X: 0, Y: 4}, {X: 0, Y: 0}}, "[[0 4]]"},
		{"outer and one hole", geom.Polygon{
			{X: 0, Y: 0}, {X: 9, Y: 0}, {X: 9, Y: 9}, {X: 0, Y: 9}, {X: 0, Y: 0},
			{X: 3, Y: 3}, {X: 5, Y: 3}, {X: 5, Y: 5}, {X: 3, Y: 5}, {X: 3, Y: 3}}, "[[0 4] [5 9]]"},
		{"two holes, each bridged from the first corner", geom.Polygon{
			{X: 0, Y: 0}, {X: 9, Y: 0}, {X: 9, Y: 9}, {X: 0, Y: 0},
			{X: 2, Y: 2}, {X: 3, Y: 2}, {X: 3, Y: 3}, {X: 2, Y: 2}, {X: 0, Y: 0},
			{X: 5, Y: 5}, {X: 6, Y: 5}, {X: 6, Y: 6}, {X: 5, Y: 5}}, "[[0 3] [4 7] [9 12]]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(Rings(tt.p)); got != tt.want {
			t.Errorf("%s: Rings = %s, want %s", tt.name, got, tt.want)
		}
	}
	// Drawn, the join between the outer ring and the hole leaves no pixel.
	dst := image.NewRGBA(image.Rect(0, 0, 12, 12))
	drawShape(dst, dst.Rect, View{Zoom: 1}, Shape{Polygon: tests[2].p, Color: color.RGBA{255, 0, 0, 255}, Width: 1, Active: -1})
	if got := rgbaAt(dst, 1, 1); got != [4]uint8{} {
		t.Errorf("pixel on the join from (0,0) to (3,3) was drawn: %v", got)
	}
	if got := rgbaAt(dst, 4, 3); got[0] != 255 {
		t.Errorf("hole ring not drawn: %v", got)
	}
}

func TestRingsOfEngineOutlines(t *testing.T) {
	// A 20×12 block with two 3×3 holes: one region, traced by the engine with bridges.
	m := engine.NewMap(30, 20)
	for y := 4; y < 16; y++ {
		for x := 5; x < 25; x++ {
			m.V[y*30+x] = 2
		}
	}
	for _, h := range [][2]int{{8, 8}, {17, 9}} {
		for y := h[1]; y < h[1]+3; y++ {
			for x := h[0]; x < h[0]+3; x++ {
				m.V[y*30+x] = 0
			}
		}
	}
	ds := engine.FindDefects(m, 1, 1)
	if len(ds) != 1 {
		t.Fatalf("%d regions, want 1", len(ds))
	}
	rings := Rings(ds[0].Polygon)
	if len(rings) != 3 {
		t.Fatalf("rings %v of %v, want the outer ring and two holes", rings, ds[0].Polygon)
	}
	// No ring edge is longer than the block: bridges are gone.
	p := ds[0].Polygon
	for _, r := range rings {
		for i := r[0]; i < r[1]; i++ {
			j := i + 1
			if j == r[1] {
				j = r[0]
			}
			a, b := p[i], p[j]
			if a.X != b.X && a.Y != b.Y && math.Hypot(a.X-b.X, a.Y-b.Y) > 3 {
				t.Errorf("ring %v has a long diagonal edge %v→%v", r, a, b)
			}
		}
	}
}
