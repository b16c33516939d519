package render

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"runtime"
	"sync"
)

// EncodePNG writes img as a PNG quickly: 8-bit RGB/RGBA (*image.NRGBA, opaque
// *image.RGBA), 8-bit grey (*image.Gray) and 16-bit grey (*image.Gray16) are filtered
// with the Up filter straight from Pix and deflated at the fastest level in parallel row
// bands (like pigz), which a 4K image needs; any other image type goes through image/png
// at BestSpeed. The output is a standard PNG that any decoder reads.
func EncodePNG(w io.Writer, img image.Image) error {
	raw, ok := rawRows(img)
	if !ok {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return enc.Encode(w, img)
	}
	return raw.encode(w)
}

// pngRows describes an image whose rows can be copied byte for byte into PNG scanlines.
type pngRows struct {
	w, h      int
	colorType byte // 0 grey, 2 RGB, 6 RGBA
	depth     byte // bits per sample
	row       func(y int, dst []byte)
	rowBytes  int
}

func rawRows(img image.Image) (pngRows, bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return pngRows{}, false // image/png reports the error
	}
	switch m := img.(type) {
	case *image.NRGBA:
		if opaqueBytes(m.Pix, m.Stride, w, h) {
			return pngRows{w: w, h: h, colorType: 2, depth: 8, rowBytes: 3 * w, row: func(y int, dst []byte) {
				packRGB(dst, m.Pix[y*m.Stride:y*m.Stride+4*w])
			}}, true
		}
		return pngRows{w: w, h: h, colorType: 6, depth: 8, rowBytes: 4 * w, row: func(y int, dst []byte) {
			copy(dst, m.Pix[y*m.Stride:y*m.Stride+4*w])
		}}, true
	case *image.RGBA:
		if !opaqueBytes(m.Pix, m.Stride, w, h) {
			return pngRows{}, false // premultiplied translucency: let image/png convert
		}
		return pngRows{w: w, h: h, colorType: 2, depth: 8, rowBytes: 3 * w, row: func(y int, dst []byte) {
			packRGB(dst, m.Pix[y*m.Stride:y*m.Stride+4*w])
		}}, true
	case *image.Gray:
		return pngRows{w: w, h: h, colorType: 0, depth: 8, rowBytes: w, row: func(y int, dst []byte) {
			copy(dst, m.Pix[y*m.Stride:y*m.Stride+w])
		}}, true
	case *image.Gray16:
		return pngRows{w: w, h: h, colorType: 0, depth: 16, rowBytes: 2 * w, row: func(y int, dst []byte) {
			copy(dst, m.Pix[y*m.Stride:y*m.Stride+2*w]) // already big-endian, as PNG wants
		}}, true
	}
	return pngRows{}, false
}

func packRGB(dst, src []byte) {
	for i, j := 0, 0; j+3 < len(src); i, j = i+3, j+4 {
		dst[i], dst[i+1], dst[i+2] = src[j], src[j+1], src[j+2]
	}
}

func opaqueBytes(pix []byte, stride, w, h int) bool {
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+4*w]
		for i := 3; i < len(row); i += 4 {
			if row[i] != 255 {
				return false
			}
		}
	}
	return true
}

// band is one group of rows deflated on its own.
type band struct {
	data   []byte // deflate blocks, ending byte-aligned (sync flush) or final
	adler  uint32 // Adler-32 of the band's filtered bytes
	length int    // filtered bytes
}

func (r pngRows) encode(w io.Writer) error {
	// About 1 MiB of filtered bytes per band.
	rowsPer := max(1, (1<<20)/(r.rowBytes+1))
	nb := (r.h + rowsPer - 1) / rowsPer
	bands := make([]band, nb)
	errs := make([]error, nb)
	workers := min(runtime.GOMAXPROCS(0), nb)
	next := make(chan int)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur := make([]byte, r.rowBytes)
			prev := make([]byte, r.rowBytes)
			line := make([]byte, 1+r.rowBytes)
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
			for i := range next {
				y0, y1 := i*rowsPer, min((i+1)*rowsPer, r.h)
				buf.Reset()
				fw.Reset(&buf)
				ad := adler32.New()
				if y0 > 0 {
					r.row(y0-1, prev)
				} else {
					clear(prev)
				}
				for y := y0; y < y1; y++ {
					r.row(y, cur)
					line[0] = 2 // Up
					for x, v := range cur {
						line[1+x] = v - prev[x]
					}
					ad.Write(line)
					if _, err := fw.Write(line); err != nil {
						errs[i] = err
						break
					}
					prev, cur = cur, prev
				}
				var err error
				if i == nb-1 {
					err = fw.Close()
				} else {
					err = fw.Flush()
				}
				if err != nil && errs[i] == nil {
					errs[i] = err
				}
				bands[i] = band{data: bytes.Clone(buf.Bytes()), adler: ad.Sum32(), length: (y1 - y0) * (1 + r.rowBytes)}
			}
		}()
	}
	for i := 0; i < nb; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	pw := &pngWriter{w: w}
	pw.write([]byte("\x89PNG\r\n\x1a\n"))
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(r.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(r.h))
	ihdr[8], ihdr[9] = r.depth, r.colorType // compression, filter, interlace methods stay 0
	pw.chunk("IHDR", ihdr[:])
	sum := uint32(1)
	for i, b := range bands {
		data := b.data
		if i == 0 {
			data = append([]byte{0x78, 0x01}, data...) // zlib header: deflate, 32K window, fastest
		}
		sum = adler32Combine(sum, b.adler, b.length)
		if i == nb-1 {
			data = binary.BigEndian.AppendUint32(data, sum)
		}
		pw.chunk("IDAT", data)
	}
	pw.chunk("IEND", nil)
	return pw.err
}

// adler32Combine is zlib's adler32_combine: the checksum of A‖B from those of A and B.
func adler32Combine(a1, a2 uint32, len2 int) uint32 {
	const base = 65521
	rem := uint32(len2 % base)
	s1 := a1 & 0xffff
	s2 := uint32((uint64(rem) * uint64(s1)) % base)
	s1 += (a2 & 0xffff) + base - 1
	s2 += (a1 >> 16) + (a2 >> 16) + base - rem
	if s1 >= base {
		s1 -= base
	}
	if s1 >= base {
		s1 -= base
	}
	if s2 >= base<<1 {
		s2 -= base << 1
	}
	if s2 >= base {
		s2 -= base
	}
	return s1 | s2<<16
}

// pngWriter writes PNG chunks, keeping the first error.
type pngWriter struct {
	w   io.Writer
	err error
}

func (p *pngWriter) write(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

func (p *pngWriter) chunk(typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	p.write(hdr[:])
	p.write(data)
	p.write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}
