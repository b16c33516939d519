package engine

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder
	"io"
	"math"
	"os"
	"sync"

	_ "golang.org/x/image/tiff" // TIFF decoder
)

// ErrImage reports a file that is not a readable image (corrupt, truncated, empty, unknown format).
var ErrImage = errors.New("not a readable image")

// MaxPixels is the largest image Decode accepts (width × height), to refuse absurd headers
// before allocating: 2^28 pixels is 16384 × 16384.
const MaxPixels = 1 << 28

// Image is planar float32 RGB in [0,1]: Pix[c*W*H + y*W + x], c = 0,1,2.
type Image struct {
	W, H int
	Pix  []float32
}

// NewImage returns a black w×h image.
func NewImage(w, h int) *Image {
	return &Image{W: w, H: h, Pix: make([]float32, 3*w*h)}
}

// Plane returns channel c (0 red, 1 green, 2 blue) as a row-major slice.
func (im *Image) Plane(c int) []float32 {
	n := im.W * im.H
	return im.Pix[c*n : (c+1)*n]
}

// valid reports whether the image's sizes agree with its pixels.
func (im *Image) valid() error {
	if im == nil {
		return errors.New("nil image")
	}
	if im.W <= 0 || im.H <= 0 {
		return fmt.Errorf("image size %d×%d is empty", im.W, im.H)
	}
	if len(im.Pix) != 3*im.W*im.H {
		return fmt.Errorf("image %d×%d holds %d values, want %d", im.W, im.H, len(im.Pix), 3*im.W*im.H)
	}
	return nil
}

// Decode reads a PNG, JPEG or TIFF file (8 or 16 bit, grey or colour) as an Image, turned
// upright by its EXIF orientation (see ReadOrientation), so W and H are the upright size.
// Errors name the file and wrap ErrImage when the content is not a readable image.
func Decode(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	return DecodeReader(f, path)
}

// DecodeReader reads an image from r like Decode; name is used in error messages.
func DecodeReader(r io.Reader, name string) (*Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", name, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("decode image %s: %w: the file is empty", name, ErrImage)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image %s: %w: %w", name, ErrImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("decode image %s: %w: size %d×%d is empty", name, ErrImage, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("decode image %s: %w: size %d×%d exceeds %d pixels", name, ErrImage, cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s image %s: %w: %w", format, name, ErrImage, err)
	}
	// Turned on the float planes: one pass, no intermediate 8-bit RGBA for JPEG's YCbCr.
	return FromImage(img).Oriented(ReadOrientation(bytes.NewReader(data))), nil
}

// FromImage converts any image.Image to planar float RGB. Alpha is ignored (premultiplied
// colours are un-premultiplied); grey images are copied to all three channels. The common
// types decoded from PNG, JPEG and TIFF are converted on their Pix slices directly.
func FromImage(img image.Image) *Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewImage(w, h)
	n := w * h
	R, G, B := out.Pix[:n], out.Pix[n:2*n], out.Pix[2*n:]
	l8, l16 := luts()
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[(y)*m.Stride : y*m.Stride+4*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+3 : 4*x+3]
				R[o+x], G[o+x], B[o+x] = l8[p[0]], l8[p[1]], l8[p[2]]
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				r, g, bb := l8[p[0]], l8[p[1]], l8[p[2]]
				if a := p[3]; a != 255 && a != 0 {
					k := 255 / float32(a)
					r, g, bb = min(r*k, 1), min(g*k, 1), min(bb*k, 1)
				}
				R[o+x], G[o+x], B[o+x] = r, g, bb
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+6 : 8*x+6]
				R[o+x] = l16[uint16(p[0])<<8|uint16(p[1])]
				G[o+x] = l16[uint16(p[2])<<8|uint16(p[3])]
				B[o+x] = l16[uint16(p[4])<<8|uint16(p[5])]
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			o := y * w
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8 : 8*x+8]
				r := l16[uint16(p[0])<<8|uint16(p[1])]
				g := l16[uint16(p[2])<<8|uint16(p[3])]
				bb := l16[uint16(p[4])<<8|uint16(p[5])]
				if a := uint16(p[6])<<8 | uint16(p[7]); a != 0xffff && a != 0 {
					k := 65535 / float32(a)
					r, g, bb = min(r*k, 1), min(g*k, 1), min(bb*k, 1)
				}
				R[o+x], G[o+x], B[o+x] = r, g, bb
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			o := y * w
			for x, v := range row {
				f := l8[v]
				R[o+x], G[o+x], B[o+x] = f, f, f
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			o := y * w
			for x := 0; x < w; x++ {
				f := l16[uint16(row[2*x])<<8|uint16(row[2*x+1])]
				R[o+x], G[o+x], B[o+x] = f, f, f
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			o := y * w
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				R[o+x], G[o+x], B[o+x] = l8[r], l8[g], l8[bb]
			}
		}
	case *image.Paletted:
		var lut [256][3]float32
		for i, c := range m.Palette {
			nc := color.NRGBA64Model.Convert(c).(color.NRGBA64)
			lut[i] = [3]float32{l16[nc.R], l16[nc.G], l16[nc.B]}
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			o := y * w
			for x, v := range row {
				R[o+x], G[o+x], B[o+x] = lut[v][0], lut[v][1], lut[v][2]
			}
		}
	default:
		// Rare types (CMYK, …): the generic colour model, once per pixel.
		for y := 0; y < h; y++ {
			o := y * w
			for x := 0; x < w; x++ {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				R[o+x], G[o+x], B[o+x] = l16[c.R], l16[c.G], l16[c.B]
			}
		}
	}
	return out
}

var (
	lutOnce sync.Once
	lut8    *[256]float32
	lut16   *[65536]float32
)

// luts returns the sample-to-float tables: v/255 and v/65535, correctly rounded float32
// divisions as the contract states (identical to numpy's x.astype(float32) / 255).
func luts() (*[256]float32, *[65536]float32) {
	lutOnce.Do(func() {
		lut8, lut16 = new([256]float32), new([65536]float32)
		for i := range lut8 {
			lut8[i] = float32(i) / 255
		}
		for i := range lut16 {
			lut16[i] = float32(i) / 65535
		}
	})
	return lut8, lut16
}

// ToNRGBA converts the image to 8-bit RGB (opaque), rounding and clamping to [0,1].
func (im *Image) ToNRGBA() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
	n := im.W * im.H
	R, G, B := im.Pix[:n], im.Pix[n:2*n], im.Pix[2*n:3*n]
	for i := 0; i < n; i++ {
		p := out.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = to8(R[i]), to8(G[i]), to8(B[i]), 255
	}
	return out
}

// to8 maps [0,1] to 0…255 with rounding; NaN maps to 0.
func to8(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
