package engine_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/hisirdesk/hisir/engine"
)

// The reference transforms are built from the EXIF definitions (mirror, then rotate), by
// plain index arithmetic, independently of the engine's single coefficient table.

func flipH(im *engine.Image) *engine.Image {
	out := engine.NewImage(im.W, im.H)
	for c := 0; c < 3; c++ {
		for y := 0; y < im.H; y++ {
			for x := 0; x < im.W; x++ {
				out.Plane(c)[y*im.W+x] = im.Plane(c)[y*im.W+im.W-1-x]
			}
		}
	}
	return out
}

// rotCW rotates 90° clockwise: the top row becomes the right column.
func rotCW(im *engine.Image) *engine.Image {
	out := engine.NewImage(im.H, im.W)
	for c := 0; c < 3; c++ {
		for y := 0; y < im.H; y++ {
			for x := 0; x < im.W; x++ {
				out.Plane(c)[x*out.W+(im.H-1-y)] = im.Plane(c)[y*im.W+x]
			}
		}
	}
	return out
}

func rot180(im *engine.Image) *engine.Image { return rotCW(rotCW(im)) }
func rotCCW(im *engine.Image) *engine.Image { return rotCW(rotCW(rotCW(im))) }

// upright is the displayed image for EXIF orientation o of the stored image im.
func upright(im *engine.Image, o int) *engine.Image {
	switch o {
	case 2:
		return flipH(im)
	case 3:
		return rot180(im)
	case 4:
		return rot180(flipH(im)) // mirror top↔bottom
	case 5:
		return rotCCW(flipH(im))
	case 6:
		return rotCW(im)
	case 7:
		return rotCW(flipH(im))
	case 8:
		return rotCCW(im)
	}
	return im
}

func sameImage(t *testing.T, got, want *engine.Image, tol float32) {
	t.Helper()
	if got.W != want.W || got.H != want.H || len(got.Pix) != len(want.Pix) {
		t.Fatalf("size %d×%d, want %d×%d", got.W, got.H, want.W, want.H)
	}
	for i := range got.Pix {
		if d := got.Pix[i] - want.Pix[i]; d > tol || d < -tol {
			n := got.W * got.H
			t.Fatalf("channel %d pixel (%d,%d): %g, want %g", i/n, i%n%got.W, i%n/got.W, got.Pix[i], want.Pix[i])
		}
	}
}

// byteOrder reads and appends in one TIFF byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffIFD0 is a TIFF structure (header + IFD0 + value area) holding the given IFD0 entries,
// each 12 bytes already in the byte order bo; extra is appended after the directory.
func tiffIFD0(bo byteOrder, entries [][]byte, extra []byte) []byte {
	var b []byte
	if bo == binary.LittleEndian {
		b = append(b, 'I', 'I')
	} else {
		b = append(b, 'M', 'M')
	}
	b = bo.AppendUint16(b, 42)
	b = bo.AppendUint32(b, 8)
	b = bo.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = append(b, e...)
	}
	b = bo.AppendUint32(b, 0) // no next IFD
	return append(b, extra...)
}

// entry is one IFD entry: tag, type, count and a SHORT (type 3) or LONG value.
func entry(bo byteOrder, tag, typ uint16, count, value uint32) []byte {
	e := bo.AppendUint16(nil, tag)
	e = bo.AppendUint16(e, typ)
	e = bo.AppendUint32(e, count)
	if typ == 3 {
		e = bo.AppendUint16(e, uint16(value))
		return bo.AppendUint16(e, 0)
	}
	return bo.AppendUint32(e, value)
}

// exifTIFF is an Exif TIFF block whose IFD0 holds a few usual tags and Orientation = o.
func exifTIFF(bo byteOrder, o uint16) []byte {
	return tiffIFD0(bo, [][]byte{
		entry(bo, 0x010f, 2, 4, 0x00414243), // Make "ABC\0" (inline ASCII)
		entry(bo, 0x0112, 3, 1, uint32(o)),
		entry(bo, 0x011a, 5, 1, 0), // XResolution (offset, unused here)
	}, nil)
}

// withAPP1 splices an APP1 segment holding payload right after the JPEG's SOI marker.
func withAPP1(jpg, payload []byte) []byte {
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(payload)))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func exifAPP1(tiffBlock []byte) []byte { return append([]byte("Exif\x00\x00"), tiffBlock...) }

// blocks is a 48×32 test image of six flat 16×16 colour blocks (3 across, 2 down), each
// block aligned to JPEG's chroma MCU so that colours come back nearly exact.
var blockColours = [2][3]color.RGBA{
	{{220, 30, 30, 255}, {30, 200, 40, 255}, {40, 40, 210, 255}},
	{{230, 220, 40, 255}, {30, 200, 200, 255}, {200, 40, 200, 255}},
}

func blocks() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 48; x++ {
			m.SetRGBA(x, y, blockColours[y/16][x/16])
		}
	}
	return m
}

func plainJPEG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, blocks(), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// colourAt is the pixel at (x, y) as 8-bit RGB.
func colourAt(im *engine.Image, x, y int) [3]int {
	n := im.W * im.H
	var c [3]int
	for k := range c {
		c[k] = int(im.Pix[k*n+y*im.W+x]*255 + 0.5)
	}
	return c
}

func near(a [3]int, b color.RGBA, tol int) bool {
	d := func(x int, y uint8) bool { return x-int(y) <= tol && int(y)-x <= tol }
	return d(a[0], b.R) && d(a[1], b.G) && d(a[2], b.B)
}

func TestDecodeJPEGOrientation(t *testing.T) {
	plain := plainJPEG(t)
	stored, err := engine.DecodeReader(bytes.NewReader(plain), "plain.jpg")
	if err != nil {
		t.Fatal(err)
	}
	topLeft, topRight := blockColours[0][0], blockColours[0][2]
	// Where the stored top-left, top-right and bottom-right blocks are seen upright, per the
	// EXIF definition of each value ("0th row / 0th column" of the stored image).
	type corner int
	const (
		tl corner = iota
		tr
		bl
		br
	)
	cases := []struct {
		o              uint16
		w, h           int
		topLeft, topRt corner
	}{
		{1, 48, 32, tl, tr},
		{2, 48, 32, tr, tl},
		{3, 48, 32, br, bl},
		{4, 48, 32, bl, br},
		{5, 32, 48, tl, bl},
		{6, 32, 48, tr, br},
		{7, 32, 48, br, tr},
		{8, 32, 48, bl, tl},
	}
	for _, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, c := range cases {
			t.Run(bo.String()+"/"+string(rune('0'+c.o)), func(t *testing.T) {
				data := withAPP1(plain, exifAPP1(exifTIFF(bo, c.o)))
				im, err := engine.DecodeReader(bytes.NewReader(data), "exif.jpg")
				if err != nil {
					t.Fatal(err)
				}
				if im.W != c.w || im.H != c.h {
					t.Fatalf("size %d×%d, want %d×%d", im.W, im.H, c.w, c.h)
				}
				// The APP1 segment does not touch the scan: pixels are exactly the
				// reference transform of the file decoded without it.
				sameImage(t, im, upright(stored, int(c.o)), 0)
				at := func(k corner) [3]int {
					x, y := 4, 4
					if k == tr || k == br {
						x = im.W - 5
					}
					if k == bl || k == br {
						y = im.H - 5
					}
					return colourAt(im, x, y)
				}
				if got := at(c.topLeft); !near(got, topLeft, 6) {
					t.Errorf("stored top-left block seen as %v at corner %d, want %v", got, c.topLeft, topLeft)
				}
				if got := at(c.topRt); !near(got, topRight, 6) {
					t.Errorf("stored top-right block seen as %v at corner %d, want %v", got, c.topRt, topRight)
				}
				cfg, format, err := engine.DecodeConfig(bytes.NewReader(data))
				if err != nil || format != "jpeg" || cfg.Width != c.w || cfg.Height != c.h {
					t.Fatalf("DecodeConfig: %d×%d %q %v, want %d×%d jpeg", cfg.Width, cfg.Height, format, err, c.w, c.h)
				}
				img, format, err := engine.DecodeImage(bytes.NewReader(data))
				if err != nil || format != "jpeg" {
					t.Fatalf("DecodeImage: %q %v", format, err)
				}
				// The display/import path agrees with the engine's to the last bit.
				sameImage(t, engine.FromImage(img), im, 0)
			})
		}
	}
}

func TestMalformedExifDecodesAsIs(t *testing.T) {
	plain := plainJPEG(t)
	stored, err := engine.DecodeReader(bytes.NewReader(plain), "plain.jpg")
	if err != nil {
		t.Fatal(err)
	}
	le, be := binary.LittleEndian, binary.BigEndian
	good := exifTIFF(le, 6)
	bad := func(edit func(b []byte) []byte) []byte { return edit(append([]byte{}, good...)) }
	cases := []struct {
		name    string
		payload []byte // APP1 payload
	}{
		{"empty exif", []byte("Exif\x00\x00")},
		{"exif id only partly", []byte("Exif")},
		{"truncated tiff header", exifAPP1(good[:5])},
		{"unknown byte order", exifAPP1(bad(func(b []byte) []byte { b[0], b[1] = 'X', 'X'; return b }))},
		{"mixed byte order", exifAPP1(bad(func(b []byte) []byte { b[1] = 'M'; return b }))},
		{"bad magic", exifAPP1(bad(func(b []byte) []byte { b[2] = 43; return b }))},
		{"ifd offset past the end", exifAPP1(bad(func(b []byte) []byte { le.PutUint32(b[4:], 1<<31); return b }))},
		{"ifd offset at the end", exifAPP1(bad(func(b []byte) []byte { le.PutUint32(b[4:], uint32(len(b))); return b }))},
		{"directory cut before the tag", exifAPP1(good[:8+2+12+5])},
		{"no orientation tag", exifAPP1(tiffIFD0(be, [][]byte{entry(be, 0x010f, 2, 4, 0x41424300)}, nil))},
		{"empty directory", exifAPP1(tiffIFD0(be, nil, nil))},
		{"orientation 0", exifAPP1(exifTIFF(le, 0))},
		{"orientation 9", exifAPP1(exifTIFF(be, 9))},
		{"orientation 0xffff", exifAPP1(exifTIFF(le, 0xffff))},
		{"orientation as ascii", exifAPP1(tiffIFD0(le, [][]byte{entry(le, 0x0112, 2, 2, 0x36)}, nil))},
		{"orientation count 2", exifAPP1(tiffIFD0(le, [][]byte{entry(le, 0x0112, 3, 2, 6)}, nil))},
		{"orientation long out of range", exifAPP1(tiffIFD0(le, [][]byte{entry(le, 0x0112, 4, 1, 6<<16)}, nil))},
		{"garbage after exif id", exifAPP1(bytes.Repeat([]byte{0xa5, 0x5a, 0xff}, 40))},
		{"exif id in lower case", append([]byte("exif\x00\x00"), good...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := withAPP1(plain, c.payload)
			if o := engine.ReadOrientation(bytes.NewReader(data)); o != 1 {
				t.Fatalf("orientation %d, want 1", o)
			}
			im, err := engine.DecodeReader(bytes.NewReader(data), "bad-exif.jpg")
			if err != nil {
				t.Fatalf("malformed Exif failed the decode: %v", err)
			}
			sameImage(t, im, stored, 0)
			cfg, _, err := engine.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width != 48 || cfg.Height != 32 {
				t.Fatalf("DecodeConfig: %d×%d %v, want 48×32", cfg.Width, cfg.Height, err)
			}
			if _, _, err := engine.DecodeImage(bytes.NewReader(data)); err != nil {
				t.Fatalf("DecodeImage: %v", err)
			}
		})
	}
}

func TestReadOrientationVariants(t *testing.T) {
	plain := plainJPEG(t)
	le, be := binary.LittleEndian, binary.BigEndian
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), []byte("<x:xmpmeta/>")...)
	cases := []struct {
		name string
		data []byte
		want int
	}{
		{"no exif", plain, 1},
		{"long value", withAPP1(plain, exifAPP1(tiffIFD0(le, [][]byte{entry(le, 0x0112, 4, 1, 8)}, nil))), 8},
		{"xmp segment first", withAPP1(withAPP1(plain, exifAPP1(exifTIFF(be, 3))), xmp), 3},
		{"first exif segment wins", withAPP1(withAPP1(plain, exifAPP1(exifTIFF(be, 3))), exifAPP1(exifTIFF(le, 7))), 7},
		{"fill bytes before a marker", append([]byte{0xff, 0xd8, 0xff}, withAPP1(plain, exifAPP1(exifTIFF(le, 5)))[2:]...), 5},
		{"ifd after a value area", withAPP1(plain, exifAPP1(func() []byte {
			// header pointing to an IFD placed after 20 bytes of other data
			b := be.AppendUint16([]byte("MM"), 42)
			b = be.AppendUint32(b, 28)
			b = append(b, make([]byte, 20)...)
			b = be.AppendUint16(b, 1)
			b = append(b, entry(be, 0x0112, 3, 1, 6)...)
			return be.AppendUint32(b, 0)
		}())), 6},
		{"exif after the scan is ignored", append(plain, withAPP1([]byte{0xff, 0xd8}, exifAPP1(exifTIFF(le, 6)))...), 1},
		{"not an image", []byte("hello, world"), 1},
		{"empty", nil, 1},
		{"bare exif tiff block", exifTIFF(be, 6), 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := engine.ReadOrientation(bytes.NewReader(c.data)); got != c.want {
				t.Fatalf("orientation %d, want %d", got, c.want)
			}
		})
	}
	// Every truncation of a file with Exif reads without panicking, as 1 or the full value.
	full := withAPP1(plain, exifAPP1(exifTIFF(be, 6)))
	for n := 0; n <= len(full); n++ {
		if o := engine.ReadOrientation(bytes.NewReader(full[:n])); o != 1 && o != 6 {
			t.Fatalf("truncated to %d bytes: orientation %d", n, o)
		}
	}
}

// tiffWithOrientation re-links a TIFF written by x/image/tiff (little endian) to a copy of
// its IFD0 that also holds Orientation = o, appended at the end of the file.
func tiffWithOrientation(t *testing.T, data []byte, o uint16) []byte {
	t.Helper()
	le := binary.LittleEndian
	if string(data[:4]) != "II*\x00" {
		t.Fatalf("unexpected TIFF header % x", data[:4])
	}
	ifd := le.Uint32(data[4:8])
	n := int(le.Uint16(data[ifd:]))
	var entries [][]byte
	inserted := false
	for i := 0; i < n; i++ {
		e := data[int(ifd)+2+12*i : int(ifd)+2+12*i+12]
		if tag := le.Uint16(e); tag > 0x0112 && !inserted {
			entries, inserted = append(entries, entry(le, 0x0112, 3, 1, uint32(o))), true
		}
		entries = append(entries, e)
	}
	if !inserted {
		entries = append(entries, entry(le, 0x0112, 3, 1, uint32(o)))
	}
	out := append([]byte{}, data...)
	if len(out)%2 == 1 {
		out = append(out, 0) // IFDs start on a word boundary
	}
	le.PutUint32(out[4:8], uint32(len(out)))
	out = le.AppendUint16(out, uint16(len(entries)))
	for _, e := range entries {
		out = append(out, e...)
	}
	return le.AppendUint32(out, 0)
}

// pngWithExif inserts an eXIf chunk holding tiffBlock right after the PNG's IHDR chunk.
func pngWithExif(data, tiffBlock []byte) []byte {
	const afterIHDR = 8 + 8 + 13 + 4
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiffBlock)))
	chunk = append(chunk, "eXIf"...)
	chunk = append(chunk, tiffBlock...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, data[:afterIHDR]...)
	out = append(out, chunk...)
	return append(out, data[afterIHDR:]...)
}

func TestDecodeTIFFAndPNGOrientation(t *testing.T) {
	dir := t.TempDir()
	for _, f := range fixtures() {
		src := engine.FromImage(f.img)
		var tb, pb bytes.Buffer
		if err := tiff.Encode(&tb, f.img, nil); err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(&pb, f.img); err != nil {
			t.Fatal(err)
		}
		for o := 1; o <= 8; o++ {
			files := map[string][]byte{
				"tiff": tiffWithOrientation(t, tb.Bytes(), uint16(o)),
				"png":  pngWithExif(pb.Bytes(), exifTIFF(binary.BigEndian, uint16(o))),
			}
			for ext, data := range files {
				t.Run(f.name+"."+ext+"/"+string(rune('0'+o)), func(t *testing.T) {
					path := filepath.Join(dir, f.name+"."+ext)
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					im, err := engine.Decode(path)
					if err != nil {
						t.Fatal(err)
					}
					want := upright(src, o)
					sameImage(t, im, want, 0)
					file, err := os.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer file.Close()
					cfg, format, err := engine.DecodeConfig(file)
					if err != nil || format != ext || cfg.Width != want.W || cfg.Height != want.H {
						t.Fatalf("DecodeConfig: %d×%d %q %v, want %d×%d %s", cfg.Width, cfg.Height, format, err, want.W, want.H, ext)
					}
					if pos, _ := file.Seek(0, 1); pos != 0 {
						t.Fatalf("DecodeConfig moved the file offset to %d", pos)
					}
					img, _, err := engine.DecodeImage(file)
					if err != nil {
						t.Fatal(err)
					}
					sameImage(t, engine.FromImage(img), want, 0)
				})
			}
		}
	}
}

// TestOrientKeepsPixels checks Orient on every pixel layout against the reference, for
// images whose bounds do not start at the origin too.
func TestOrientKeepsPixels(t *testing.T) {
	ycc := image.NewYCbCr(image.Rect(0, 0, 9, 6), image.YCbCrSubsampleRatio422)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 7)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(100+i*3), uint8(200-i*5)
	}
	cmyk := image.NewCMYK(image.Rect(0, 0, 5, 3))
	for i := range cmyk.Pix {
		cmyk.Pix[i] = uint8(i * 13)
	}
	nycca := image.NewNYCbCrA(image.Rect(0, 0, 4, 3), image.YCbCrSubsampleRatio420)
	for i := range nycca.Y {
		nycca.Y[i], nycca.A[i] = uint8(i*20), 255
	}
	imgs := map[string]image.Image{"ycbcr422": ycc, "cmyk": cmyk, "nycbcra": nycca}
	for _, f := range fixtures() {
		imgs[f.name] = f.img
		if s, ok := f.img.(interface {
			SubImage(image.Rectangle) image.Image
		}); ok {
			imgs[f.name+"-sub"] = s.SubImage(image.Rect(2, 1, 6, 4))
		}
	}
	for name, img := range imgs {
		src := engine.FromImage(img)
		for o := 0; o <= 9; o++ {
			t.Run(name+"/"+string(rune('0'+o)), func(t *testing.T) {
				got := engine.Orient(img, o)
				if b := got.Bounds(); (o < 2 || o > 8) && got != img {
					t.Fatalf("orientation %d changed the image (bounds %v)", o, b)
				} else if o >= 2 && o <= 8 && b.Min != (image.Point{}) {
					t.Fatalf("bounds %v do not start at the origin", b)
				}
				want := upright(src, o)
				sameImage(t, engine.FromImage(got), want, 0)
				sameImage(t, src.Oriented(o), want, 0)
			})
		}
	}
}
