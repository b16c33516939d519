// Package synth renders deterministic synthetic PCBA panels in the SIPCBA style: a carrier
// holding Rows×Cols copies of one assembled board design, photographed by an AOI camera
// (lighting, colour temperature and sensor noise vary per panel), with optional defects of the
// five SIPCBA classes. A defective panel comes with its defect-free twin: the two images are
// identical except on the pixels of the defect polygons, and every pixel of a polygon differs.
//
// Everything is a pure function of (Config, index): the same seed gives the same bytes.
// Rendering works on Pix slices: every drawn thing is an anti-aliased rounded box evaluated
// by its signed distance, in row bands processed by goroutines.
package synth

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Defect classes of SIPCBA, with the frequencies at which Generate draws them.
const (
	ClassMissing      = "missing_component"
	ClassBridge       = "solder_bridge"
	ClassDebris       = "foreign_object_debris"
	ClassExtra        = "extra_component"
	ClassMisalignment = "misalignment"
)

// ClassFrequencies are the relative frequencies of the defect classes (the paper's).
var ClassFrequencies = []struct {
	Class string
	P     float64
}{
	{ClassMissing, 0.57},
	{ClassBridge, 0.28},
	{ClassDebris, 0.11},
	{ClassExtra, 0.03},
	{ClassMisalignment, 0.01},
}

// ErrConfig reports an unusable generator configuration.
var ErrConfig = errors.New("invalid synth config")

// Config describes the panels to generate. Zero values of the optional fields take defaults.
type Config struct {
	Width, Height int   // panel image size in pixels
	Rows, Cols    int   // boards per panel
	Seed          int64 // design, lighting, noise and defects all derive from it

	// MaxDefects is the most defects on a defective panel (at least one); 0 means 3.
	MaxDefects int
	// Noise scales the sensor noise; 0 means 1 (negative turns it off).
	Noise float64
}

// DefaultConfig is the SIPCBA-like 4K panel: 2×4 boards on 3840×2160.
func DefaultConfig(seed int64) Config {
	return Config{Width: 3840, Height: 2160, Rows: 2, Cols: 4, Seed: seed}
}

// MinBoardPixels is the smallest board cell (width and height) Generate accepts.
const MinBoardPixels = 48

// MaxPixels bounds the panel size (16K×9K).
const MaxPixels = 15360 * 8640

// Validate reports why c cannot be rendered, wrapping ErrConfig.
func (c Config) Validate() error {
	switch {
	case c.Width <= 0 || c.Height <= 0:
		return fmt.Errorf("%w: size %dx%d must be positive", ErrConfig, c.Width, c.Height)
	case c.Rows <= 0 || c.Cols <= 0:
		return fmt.Errorf("%w: grid %dx%d must be positive", ErrConfig, c.Rows, c.Cols)
	case c.Width*c.Height > MaxPixels || c.Width > 65535 || c.Height > 65535:
		return fmt.Errorf("%w: size %dx%d is larger than 16K", ErrConfig, c.Width, c.Height)
	case c.Width/c.Cols < MinBoardPixels || c.Height/c.Rows < MinBoardPixels:
		return fmt.Errorf("%w: boards of %dx%d pixels (%dx%d on %dx%d) are smaller than %d pixels",
			ErrConfig, c.Width/c.Cols, c.Height/c.Rows, c.Cols, c.Rows, c.Width, c.Height, MinBoardPixels)
	case c.MaxDefects < 0:
		return fmt.Errorf("%w: max defects %d is negative", ErrConfig, c.MaxDefects)
	}
	return nil
}

func (c Config) maxDefects() int {
	if c.MaxDefects == 0 {
		return 3
	}
	return c.MaxDefects
}

// Defect is one injected defect: its class and the exact outline of the changed pixels.
type Defect struct {
	Class   string       `json:"class"`
	Board   int          `json:"board"`
	Polygon geom.Polygon `json:"polygon"`
}

// Panel is one generated panel image.
type Panel struct {
	Image   *image.NRGBA // what the camera sees (defective when Defects is not empty)
	Twin    *image.NRGBA // the defect-free twin; nil when the panel has no defects
	Defects []Defect
	Boards  []geom.Rect // bounding box of each board, row-major
}

// Generate renders panel number index of the dataset described by cfg. All panels of one
// Config share the board design; lighting, board placement, noise and defects vary with
// index. With withDefects the panel carries 1..MaxDefects defects and a twin.
func Generate(cfg Config, index int, withDefects bool) (*Panel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if index < 0 {
		return nil, fmt.Errorf("%w: panel index %d is negative", ErrConfig, index)
	}
	d := designFor(cfg)
	pl := layoutPanel(cfg, d, index)
	sc := pl.scene(nil)
	twin := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	sc.render(twin, geom.Rect{X1: cfg.Width, Y1: cfg.Height})
	p := &Panel{Image: twin, Boards: pl.boardRects()}
	if !withDefects {
		return p, nil
	}
	plans := pl.planDefects(newRand(uint64(cfg.Seed), uint64(index)<<8|0xd5), cfg.maxDefects())
	if len(plans) == 0 {
		return nil, fmt.Errorf("synth: no room for a defect on panel %d (%dx%d)", index, cfg.Width, cfg.Height)
	}
	img := image.NewNRGBA(twin.Rect)
	copy(img.Pix, twin.Pix)
	dsc := pl.scene(plans)
	mask := make([]uint8, cfg.Width*cfg.Height)
	for _, pd := range plans {
		b := pd.poly.Bounds().Intersect(geom.Rect{X1: cfg.Width, Y1: cfg.Height})
		tmp := image.NewNRGBA(image.Rect(b.X0, b.Y0, b.X1, b.Y1))
		dsc.render(tmp, b)
		geom.Fill(mask, cfg.Width, cfg.Height, pd.poly, 1)
		for y := b.Y0; y < b.Y1; y++ {
			for x := b.X0; x < b.X1; x++ {
				if mask[y*cfg.Width+x] == 0 {
					continue
				}
				so := tmp.PixOffset(x, y)
				do := img.PixOffset(x, y)
				px := img.Pix[do : do+3 : do+3]
				copy(px, tmp.Pix[so:so+3])
				if px[0] == twin.Pix[do] && px[1] == twin.Pix[do+1] && px[2] == twin.Pix[do+2] {
					// Keep "mask = changed pixels" exact: an unchanged pixel inside the
					// outline gets the smallest possible change.
					if px[1] < 128 {
						px[1]++
					} else {
						px[1]--
					}
				}
			}
		}
		p.Defects = append(p.Defects, Defect{Class: pd.class, Board: pd.board, Polygon: pd.poly})
	}
	p.Image, p.Twin = img, twin
	return p, nil
}

// newRand is the package's deterministic random source.
func newRand(a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(a^0x5851f42d4c957f2d, b^0x14057b7ef767814f))
}
