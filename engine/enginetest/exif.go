package enginetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// ExifJPEG encodes img as a JPEG (quality 95) whose APP1 Exif segment, right after the SOI
// marker, records the given Orientation (1–8; other values are written as given, to test
// readers) in IFD0, in big- or little-endian byte order — a phone photo in miniature.
func ExifJPEG(img image.Image, orientation int, bigEndian bool) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	tiff := []byte("Exif\x00\x00II")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("Exif\x00\x00MM")
	}
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8) // IFD0 right after the header
	tiff = bo.AppendUint16(tiff, 1) // one entry:
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3) // SHORT
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, uint16(orientation))
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	jpg := buf.Bytes()
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xff, 0xe1)
	out = binary.BigEndian.AppendUint16(out, uint16(2+len(tiff)))
	out = append(out, tiff...)
	return append(out, jpg[2:]...), nil
}

// Quadrants is a w×h test image of four flat colour quadrants (red top-left, green
// top-right, blue bottom-left, white bottom-right), easy to recognise after any turn.
// Make w and h multiples of 32 so that JPEG keeps the colours nearly exact.
func Quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	cols := [2][2]color.RGBA{{{255, 0, 0, 255}, {0, 255, 0, 255}}, {{0, 0, 255, 255}, {255, 255, 255, 255}}}
	for y := 0; y < h; y++ {
		row := m.Pix[y*m.Stride:]
		for x := 0; x < w; x++ {
			c := cols[y*2/h][x*2/w]
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
	return m
}
