package render

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"github.com/fogleman/gg"
	"github.com/hisirdesk/hisir/engine"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// DefectRed is the default outline colour.
var DefectRed = color.NRGBA{R: 255, G: 40, B: 40, A: 255}

// OutlineWidth is a line width that reads well on a w×h image: 2 px up to 800 px, growing
// with the short side (about 5 px on 4K).
func OutlineWidth(w, h int) float64 { return math.Max(2, float64(min(w, h))/400) }

// LabelSize is a label font size in pixels for a w×h image (about 36 px on 4K).
func LabelSize(w, h int) float64 { return math.Max(12, float64(min(w, h))/60) }

// Outlines strokes every defect's outline polygon (its box when the polygon is empty) on
// dst with colour c and the given line width (≤ 0: OutlineWidth). Each outline is its own
// path: the rasteriser's cost grows with the cells of one path, so small paths stay fast.
func Outlines(dst *image.NRGBA, defects []engine.Defect, c color.Color, width float64) {
	if len(defects) == 0 {
		return
	}
	if width <= 0 {
		width = OutlineWidth(dst.Rect.Dx(), dst.Rect.Dy())
	}
	onContext(dst, func(dc *gg.Context, origin image.Point) {
		ox, oy := float64(origin.X), float64(origin.Y)
		dc.SetColor(c)
		dc.SetLineWidth(width)
		dc.SetLineJoinRound()
		for _, d := range defects {
			if len(d.Polygon) >= 2 {
				dc.MoveTo(d.Polygon[0].X-ox, d.Polygon[0].Y-oy)
				for _, p := range d.Polygon[1:] {
					dc.LineTo(p.X-ox, p.Y-oy)
				}
				dc.ClosePath()
			} else {
				b := d.Box
				dc.DrawRectangle(float64(b.X0)-ox, float64(b.Y0)-oy, float64(b.Dx()), float64(b.Dy()))
			}
			dc.Stroke()
		}
	})
}

// Labels writes each defect's peak score ("0.87") above the top-left corner of its box
// (inside when there is no room), in colour c on a dark shadow, at the given font size in
// pixels (≤ 0: LabelSize).
func Labels(dst *image.NRGBA, defects []engine.Defect, c color.Color, size float64) {
	if len(defects) == 0 {
		return
	}
	if size <= 0 {
		size = LabelSize(dst.Rect.Dx(), dst.Rect.Dy())
	}
	face, err := labelFace(size)
	if err != nil {
		return // the embedded font always parses; nothing sensible to draw otherwise
	}
	onContext(dst, func(dc *gg.Context, origin image.Point) {
		// font.Drawer on the RGBA image takes image/draw's fast glyph-mask path.
		fd := font.Drawer{Dst: dc.Image().(*image.RGBA), Face: face}
		shadow := math.Max(1, size/18)
		fg, bg := image.NewUniform(c), image.NewUniform(color.NRGBA{0, 0, 0, 200})
		for _, d := range defects {
			text := fmt.Sprintf("%.2f", d.Peak)
			x := float64(d.Box.X0 - origin.X)
			y := float64(d.Box.Y0-origin.Y) - size*0.3
			if y-size < 0 {
				y = float64(d.Box.Y0-origin.Y) + size
			}
			fd.Src, fd.Dot = bg, fixed.P(int(math.Round(x+shadow)), int(math.Round(y+shadow)))
			fd.DrawString(text)
			fd.Src, fd.Dot = fg, fixed.P(int(math.Round(x)), int(math.Round(y)))
			fd.DrawString(text)
		}
	})
}

// onContext gives f a gg context drawing on dst. An opaque dst is drawn on in place (its
// bytes are the same premultiplied or not); otherwise through a premultiplied copy.
func onContext(dst *image.NRGBA, f func(dc *gg.Context, origin image.Point)) {
	if opaque(dst) {
		rgba := &image.RGBA{Pix: dst.Pix, Stride: dst.Stride, Rect: image.Rect(0, 0, dst.Rect.Dx(), dst.Rect.Dy())}
		f(gg.NewContextForRGBA(rgba), dst.Rect.Min)
		return
	}
	rgba := image.NewRGBA(image.Rect(0, 0, dst.Rect.Dx(), dst.Rect.Dy()))
	draw.Draw(rgba, rgba.Rect, dst, dst.Rect.Min, draw.Src)
	f(gg.NewContextForRGBA(rgba), dst.Rect.Min)
	draw.Draw(dst, dst.Rect, rgba, image.Point{}, draw.Src)
}

func opaque(img *image.NRGBA) bool {
	w := 4 * img.Rect.Dx()
	for y := 0; y < img.Rect.Dy(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		for i := 3; i < len(row); i += 4 {
			if row[i] != 255 {
				return false
			}
		}
	}
	return true
}

var (
	fontOnce sync.Once
	fontErr  error
	labelTTF *opentype.Font
)

func labelFace(size float64) (font.Face, error) {
	fontOnce.Do(func() { labelTTF, fontErr = opentype.Parse(gobold.TTF) })
	if fontErr != nil {
		return nil, fontErr
	}
	return opentype.NewFace(labelTTF, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}
