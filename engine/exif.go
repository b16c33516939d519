package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
)

// EXIF orientation. Phone cameras store the sensor's pixels as they came and record in
// the Exif Orientation tag (IFD0 tag 0x0112, values 1–8) how to turn them upright. Every
// path that turns an image file into pixels goes through this file, so the engine, the
// viewer, thumbnails, import and export all see the same upright image with the same size.
//
// The value v means: to display, take the stored image and
//
//	1 leave it           2 mirror left↔right   3 rotate 180°          4 mirror top↔bottom
//	5 transpose          6 rotate 90° clockwise 7 transverse          8 rotate 90° anticlockwise
//
// (5 = mirror left↔right then rotate 90° anticlockwise; 7 = mirror left↔right then rotate
// 90° clockwise.) 5–8 swap width and height.

// orientMap gives, for orientation o, the source pixel (sx, sy) of the upright pixel (x, y)
// of an image stored w×h: sx = a·x + b·y + c, sy = d·x + e·y + f.
func orientMap(o, w, h int) (a, b, c, d, e, f int) {
	switch o {
	case 2:
		return -1, 0, w - 1, 0, 1, 0
	case 3:
		return -1, 0, w - 1, 0, -1, h - 1
	case 4:
		return 1, 0, 0, 0, -1, h - 1
	case 5:
		return 0, 1, 0, 1, 0, 0
	case 6:
		return 0, 1, 0, -1, 0, h - 1
	case 7:
		return 0, -1, w - 1, -1, 0, h - 1
	case 8:
		return 0, -1, w - 1, 1, 0, 0
	}
	return 1, 0, 0, 0, 1, 0
}

// orientedSize is the upright size of an image stored w×h with orientation o.
func orientedSize(o, w, h int) (int, int) {
	if o >= 5 && o <= 8 {
		return h, w
	}
	return w, h
}

// orientTile is the side of the square blocks the transform walks, so that rotations read
// the source a few cache lines at a time instead of one pixel per row.
const orientTile = 64

// orientSlice writes into dst (tightly packed, bpp elements per pixel) the upright version
// of the w×h pixels in src (row stride in elements, bpp elements per pixel) for orientation o.
func orientSlice[T any](dst, src []T, stride, w, h, bpp, o int) {
	a, b, c, d, e, f := orientMap(o, w, h)
	dw, dh := orientedSize(o, w, h)
	stepX := a*bpp + d*stride // source offset change per upright pixel to the right
	stepY := b*bpp + e*stride // … per upright row down
	off0 := c*bpp + f*stride  // source offset of upright (0, 0)
	for by := 0; by < dh; by += orientTile {
		yEnd := min(by+orientTile, dh)
		for bx := 0; bx < dw; bx += orientTile {
			xEnd := min(bx+orientTile, dw)
			for y := by; y < yEnd; y++ {
				off := off0 + y*stepY + bx*stepX
				row := dst[(y*dw+bx)*bpp : (y*dw+xEnd)*bpp]
				if bpp == 1 {
					for x := range row {
						row[x] = src[off]
						off += stepX
					}
					continue
				}
				for x := 0; x < len(row); x += bpp {
					copy(row[x:x+bpp], src[off:off+bpp])
					off += stepX
				}
			}
		}
	}
}

// Oriented returns the image turned upright for EXIF orientation o (1–8); other values,
// and 1, return im itself.
func (im *Image) Oriented(o int) *Image {
	if o < 2 || o > 8 {
		return im
	}
	w, h := orientedSize(o, im.W, im.H)
	out := NewImage(w, h)
	for c := 0; c < 3; c++ {
		orientSlice(out.Plane(c), im.Plane(c), im.W, im.W, im.H, 1, o)
	}
	return out
}

// Orient returns img turned upright for EXIF orientation o (1–8); other values, and 1,
// return img itself. Grey, 8/16-bit RGBA, paletted and CMYK images keep their type; YCbCr
// (JPEG) becomes RGBA, rarer types RGBA64. The result's bounds start at (0, 0).
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	dw, dh := orientedSize(o, w, h)
	rect := image.Rect(0, 0, dw, dh)
	turn := func(pix []byte, stride, bpp int) []byte {
		out := make([]byte, dw*dh*bpp)
		if len(out) > 0 {
			orientSlice(out, pix, stride, w, h, bpp, o)
		}
		return out
	}
	switch m := img.(type) {
	case *image.Gray:
		return &image.Gray{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 1), Stride: dw, Rect: rect}
	case *image.Gray16:
		return &image.Gray16{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 2), Stride: 2 * dw, Rect: rect}
	case *image.Alpha:
		return &image.Alpha{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 1), Stride: dw, Rect: rect}
	case *image.Alpha16:
		return &image.Alpha16{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 2), Stride: 2 * dw, Rect: rect}
	case *image.RGBA:
		return &image.RGBA{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 4), Stride: 4 * dw, Rect: rect}
	case *image.NRGBA:
		return &image.NRGBA{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 4), Stride: 4 * dw, Rect: rect}
	case *image.CMYK:
		return &image.CMYK{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 4), Stride: 4 * dw, Rect: rect}
	case *image.RGBA64:
		return &image.RGBA64{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 8), Stride: 8 * dw, Rect: rect}
	case *image.NRGBA64:
		return &image.NRGBA64{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 8), Stride: 8 * dw, Rect: rect}
	case *image.Paletted:
		return &image.Paletted{Pix: turn(m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, 1), Stride: dw, Rect: rect, Palette: m.Palette}
	case *image.YCbCr:
		// Chroma subsampling does not survive a transpose (4:2:2 would become 4:4:0, 4:1:1
		// has no transposed form): convert once (image/draw's fast YCbCr path), then turn.
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Rect, m, r.Min, draw.Src)
		return Orient(rgba, o)
	default:
		m64 := image.NewRGBA64(image.Rect(0, 0, w, h))
		draw.Draw(m64, m64.Rect, img, r.Min, draw.Src)
		return Orient(m64, o)
	}
}

// ReadOrientation returns the EXIF orientation (1–8) stored in a JPEG (APP1 Exif segment),
// TIFF (IFD0) or PNG (eXIf chunk) file read through r, or 1 when there is none or when the
// metadata is malformed or truncated: orientation never makes a readable image unreadable.
func ReadOrientation(r io.ReaderAt) int {
	var hdr [8]byte
	n, _ := r.ReadAt(hdr[:], 0)
	switch {
	case n >= 3 && hdr[0] == 0xff && hdr[1] == 0xd8 && hdr[2] == 0xff:
		return jpegOrientation(r)
	case n == 8 && string(hdr[:]) == "\x89PNG\r\n\x1a\n":
		return pngOrientation(r)
	case n >= 4 && (string(hdr[:4]) == "II*\x00" || string(hdr[:4]) == "MM\x00*"):
		return tiffOrientation(r)
	}
	return 1
}

// readFull reads exactly len(p) bytes at off, reporting whether it could.
func readFull(r io.ReaderAt, p []byte, off int64) bool {
	if off < 0 {
		return false
	}
	n, _ := r.ReadAt(p, off)
	return n == len(p)
}

// jpegOrientation walks the JPEG marker segments before the scan and reads the first Exif
// APP1 segment's orientation.
func jpegOrientation(r io.ReaderAt) int {
	off := int64(2)
	var m [4]byte
	for range 4096 { // a JPEG header has a handful of segments; bound malformed ones
		if !readFull(r, m[:2], off) || m[0] != 0xff {
			return 1
		}
		switch marker := m[1]; {
		case marker == 0xff: // fill byte
			off++
			continue
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7): // no length
			off += 2
			continue
		case marker == 0xda || marker == 0xd9: // start of scan, end of image: no Exif before
			return 1
		}
		if !readFull(r, m[2:4], off+2) {
			return 1
		}
		n := int64(binary.BigEndian.Uint16(m[2:4])) // includes its own two bytes
		if n < 2 {
			return 1
		}
		if m[1] == 0xe1 && n >= 2+6+8 {
			var id [6]byte
			if readFull(r, id[:], off+4) && string(id[:]) == "Exif\x00\x00" {
				return tiffOrientation(io.NewSectionReader(r, off+4+6, n-2-6))
			}
		}
		off += 2 + n
	}
	return 1
}

// pngOrientation reads the orientation in a PNG's eXIf chunk, if any.
func pngOrientation(r io.ReaderAt) int {
	off := int64(8)
	var c [8]byte
	for range 1 << 20 {
		if !readFull(r, c[:], off) {
			return 1
		}
		n := int64(binary.BigEndian.Uint32(c[:4]))
		switch string(c[4:8]) {
		case "eXIf":
			return tiffOrientation(io.NewSectionReader(r, off+8, n))
		case "IEND":
			return 1
		}
		off += 8 + n + 4 // length and type, data, CRC
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of the TIFF structure at the start of r (a TIFF
// file, or the body of an Exif block), in either byte order.
func tiffOrientation(r io.ReaderAt) int {
	var h [8]byte
	if !readFull(r, h[:], 0) {
		return 1
	}
	var bo binary.ByteOrder
	switch string(h[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(h[2:4]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(h[4:8]))
	var cnt [2]byte
	if !readFull(r, cnt[:], ifd) {
		return 1
	}
	n := int(bo.Uint16(cnt[:]))
	entries := make([]byte, 12*n)
	k, _ := r.ReadAt(entries, ifd+2)
	entries = entries[:k/12*12] // a truncated directory still holds the entries read in full
	for e := entries; len(e) >= 12; e = e[12:] {
		if bo.Uint16(e[0:2]) != 0x0112 {
			continue
		}
		var v uint32
		switch typ, count := bo.Uint16(e[2:4]), bo.Uint32(e[4:8]); {
		case count != 1:
			return 1
		case typ == 3: // SHORT, left-justified in the value field
			v = uint32(bo.Uint16(e[8:10]))
		case typ == 4: // LONG (off-spec, seen in the wild)
			v = bo.Uint32(e[8:12])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

// DecodeImage is image.Decode that honours the EXIF orientation: it returns the upright
// image (see Orient), the format name and image.Decode's error.
func DecodeImage(r io.Reader) (image.Image, string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("read image: %w", err)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, format, err
	}
	return Orient(img, ReadOrientation(bytes.NewReader(data))), format, nil
}

// DecodeConfig is image.DecodeConfig that reports the upright size (width and height
// swapped for EXIF orientations 5–8). It reads r from offset 0 and does not move any
// file offset (it uses ReadAt only).
func DecodeConfig(r io.ReaderAt) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(io.NewSectionReader(r, 0, math.MaxInt64))
	if err != nil {
		return cfg, format, err
	}
	cfg.Width, cfg.Height = orientedSize(ReadOrientation(r), cfg.Width, cfg.Height)
	return cfg, format, nil
}
