package render

import (
	"bufio"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"github.com/hisirdesk/hisir/engine"
)

// SavePNG writes img as a PNG at path with EncodePNG (fastest compression, parallel). The file appears complete or not at all: it is written beside path
// and renamed, so a full disk never leaves a truncated PNG or clobbers an older one.
func SavePNG(path string, img image.Image) error {
	return writeAtomic(path, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := EncodePNG(bw, img); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// Map16 converts a map of values in [0,1] (clamped; NaN is 0) to a 16-bit grey image,
// value·65535 rounded.
func Map16(m *engine.Map) *image.Gray16 {
	g := image.NewGray16(image.Rect(0, 0, m.W, m.H))
	parallelRows(m.H, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			src := m.V[y*m.W : (y+1)*m.W]
			dst := g.Pix[y*g.Stride : y*g.Stride+2*m.W]
			for x, v := range src {
				var u uint16
				switch {
				case v >= 1:
					u = math.MaxUint16
				case v > 0:
					u = uint16(float64(v)*65535 + 0.5)
				}
				dst[2*x] = uint8(u >> 8)
				dst[2*x+1] = uint8(u)
			}
		}
	})
	return g
}

// SaveMap16 writes a [0,1] map as a 16-bit grey PNG (see Map16), atomically like SavePNG.
func SaveMap16(path string, m *engine.Map) error {
	return SavePNG(path, Map16(m))
}

// writeAtomic writes through a temporary file in path's folder and renames it to path.
func writeAtomic(path string, write func(f *os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp := f.Name()
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}
