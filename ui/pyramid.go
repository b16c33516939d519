package ui

import (
	"image"
	"image/draw"
	"runtime"
	"sync"
)

// Pyramid is an image with lazily built 2× box-downsampled levels, so that any zoom is
// drawn from a level at most twice the screen resolution. Level 0 is the full image as
// tightly packed RGBA. It is safe for concurrent use; levels are immutable once built.
type Pyramid struct {
	W, H   int
	mu     sync.Mutex
	levels []*image.RGBA
}

// NewPyramid converts img to RGBA (fast paths for RGBA, NRGBA, YCbCr, Gray and 16-bit
// images, no per-pixel At calls) and returns its pyramid. Call it off the UI goroutine.
func NewPyramid(img image.Image) *Pyramid {
	base := toRGBA(img)
	return &Pyramid{W: base.Rect.Dx(), H: base.Rect.Dy(), levels: []*image.RGBA{base}}
}

// Level returns level l (size ⌈W/2^l⌉×⌈H/2^l⌉), building it and the ones above on first use.
// l is clipped to the coarsest level (1×1); the level index actually used is returned.
func (p *Pyramid) Level(l int) (*image.RGBA, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.levels) <= l {
		last := p.levels[len(p.levels)-1]
		if last.Rect.Dx() == 1 && last.Rect.Dy() == 1 {
			return last, len(p.levels) - 1
		}
		p.levels = append(p.levels, halveRGBA(last))
	}
	return p.levels[l], l
}

// Thumbnail returns the finest level that fits in max×max pixels.
func (p *Pyramid) Thumbnail(max int) *image.RGBA {
	l := 0
	for w, h := p.W, p.H; w > max || h > max; l++ {
		w, h = (w+1)/2, (h+1)/2
	}
	m, _ := p.Level(l)
	return m
}

// toRGBA returns img as a tight RGBA whose bounds start at (0,0), converting row bands
// in parallel.
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if m, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) && m.Stride == 4*w {
		return m
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) { convertRows(dst, img, y0, y1) })
	return dst
}

// parallelRows runs f on disjoint row bands [y0, y1) covering [0, h), one per CPU.
func parallelRows(h int, f func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), max(1, h/64))
	if n <= 1 {
		f(0, h)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		y0, y1 := h*k/n, h*(k+1)/n
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(y0, y1)
		}()
	}
	wg.Wait()
}

// convertRows converts rows [y0, y1) of img (relative to its bounds) into dst.
func convertRows(dst *image.RGBA, img image.Image, y0, y1 int) {
	b := img.Bounds()
	w := b.Dx()
	switch m := img.(type) {
	case *image.NRGBA:
		for y := y0; y < y1; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for i := 0; i < len(s); i += 4 {
				a := uint32(s[i+3])
				if a == 255 {
					d[i], d[i+1], d[i+2], d[i+3] = s[i], s[i+1], s[i+2], 255
					continue
				}
				d[i] = uint8(uint32(s[i]) * a / 255)
				d[i+1] = uint8(uint32(s[i+1]) * a / 255)
				d[i+2] = uint8(uint32(s[i+2]) * a / 255)
				d[i+3] = uint8(a)
			}
		}
	case *image.Gray:
		for y := y0; y < y1; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for x, v := range s {
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = v, v, v, 255
			}
		}
	case *image.RGBA64:
		for y := y0; y < y1; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for x := 0; x < w; x++ {
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = s[8*x], s[8*x+2], s[8*x+4], s[8*x+6]
			}
		}
	case *image.NRGBA64:
		for y := y0; y < y1; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for x := 0; x < w; x++ {
				a := uint32(s[8*x+6])
				d[4*x] = uint8(uint32(s[8*x]) * a / 255)
				d[4*x+1] = uint8(uint32(s[8*x+2]) * a / 255)
				d[4*x+2] = uint8(uint32(s[8*x+4]) * a / 255)
				d[4*x+3] = uint8(a)
			}
		}
	default: // YCbCr and RGBA have fast paths in image/draw
		r := image.Rect(0, y0, w, y1)
		draw.Draw(dst, r, img, b.Min.Add(image.Pt(0, y0)), draw.Src)
	}
}

// halveRGBA box-filters src by 2 in each direction (odd edges repeat the last pixel).
func halveRGBA(src *image.RGBA) *image.RGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	w, h := (sw+1)/2, (sh+1)/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, func(ya, yb int) { halveRows(dst, src, ya, yb) })
	return dst
}

// halveRows fills rows [ya, yb) of dst, the 2× box-filtered src.
func halveRows(dst, src *image.RGBA, ya, yb int) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	w := dst.Rect.Dx()
	for y := ya; y < yb; y++ {
		y0, y1 := 2*y, min(2*y+1, sh-1)
		r0 := src.Pix[y0*src.Stride:]
		r1 := src.Pix[y1*src.Stride:]
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			i0, i1 := 8*x, 4*min(2*x+1, sw-1)
			for c := 0; c < 4; c++ {
				d[4*x+c] = uint8((uint32(r0[i0+c]) + uint32(r0[i1+c]) + uint32(r1[i0+c]) + uint32(r1[i1+c]) + 2) >> 2)
			}
		}
	}
}

// Scores is a per-pixel score map (calibrated anomaly scores) with lazily built
// max-pooled levels matching a Pyramid, so that small defects stay visible when zoomed out.
type Scores struct {
	W, H   int
	mu     sync.Mutex
	levels [][]float32
}

// NewScores wraps a w×h row-major score map; data must not change afterwards.
func NewScores(w, h int, data []float32) *Scores {
	return &Scores{W: w, H: h, levels: [][]float32{data}}
}

// Level returns level l as a row-major slice of ⌈W/2^l⌉×⌈H/2^l⌉ values and its width.
func (s *Scores) Level(l int) ([]float32, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, h := s.W, s.H
	for i := 0; i < l; i++ {
		if w == 1 && h == 1 {
			l = i
			break
		}
		w, h = (w+1)/2, (h+1)/2
	}
	for len(s.levels) <= l {
		k := len(s.levels) - 1
		pw, ph := s.W, s.H
		for i := 0; i < k; i++ {
			pw, ph = (pw+1)/2, (ph+1)/2
		}
		s.levels = append(s.levels, maxPool(s.levels[k], pw, ph))
	}
	return s.levels[l], w
}

func maxPool(src []float32, sw, sh int) []float32 {
	w, h := (sw+1)/2, (sh+1)/2
	dst := make([]float32, w*h)
	for y := 0; y < h; y++ {
		r0 := src[2*y*sw:]
		r1 := src[min(2*y+1, sh-1)*sw:]
		for x := 0; x < w; x++ {
			x0, x1 := 2*x, min(2*x+1, sw-1)
			dst[y*w+x] = max(r0[x0], r0[x1], r1[x0], r1[x1])
		}
	}
	return dst
}
