package synth

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
)

func smallConfig(seed int64) Config {
	return Config{Width: 1280, Height: 720, Rows: 2, Cols: 4, Seed: seed}
}

func TestDeterminism(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		index  int
		defect bool
	}{
		{"clean", Config{Width: 800, Height: 450, Rows: 2, Cols: 4, Seed: 1}, 0, false},
		{"defective", Config{Width: 800, Height: 450, Rows: 2, Cols: 4, Seed: 1}, 3, true},
		{"odd size defective", Config{Width: 999, Height: 601, Rows: 3, Cols: 5, Seed: 7}, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Generate(tc.cfg, tc.index, tc.defect)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Generate(tc.cfg, tc.index, tc.defect)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Image.Pix, b.Image.Pix) {
				t.Fatal("same config and index gave different images")
			}
			if tc.defect && !bytes.Equal(a.Twin.Pix, b.Twin.Pix) {
				t.Fatal("same config and index gave different twins")
			}
			if fmt.Sprint(a.Defects) != fmt.Sprint(b.Defects) || fmt.Sprint(a.Boards) != fmt.Sprint(b.Boards) {
				t.Fatal("same config and index gave different defects or boards")
			}
			prev := runtime.GOMAXPROCS(1)
			one, err := Generate(tc.cfg, tc.index, tc.defect)
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Image.Pix, one.Image.Pix) {
				t.Fatal("one core and several cores gave different images")
			}
			c, err := Generate(tc.cfg, tc.index+1, tc.defect)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a.Image.Pix, c.Image.Pix) {
				t.Fatal("different indices gave identical images")
			}
			other := tc.cfg
			other.Seed++
			d, err := Generate(other, tc.index, tc.defect)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a.Image.Pix, d.Image.Pix) {
				t.Fatal("different seeds gave identical images")
			}
		})
	}
}

// TestTwinDiffersExactlyOnMasks checks that the defective image and its twin differ on
// exactly the pixels of the defect polygons, that every polygon is non-empty and inside its
// board, and that polygons do not overlap.
func TestTwinDiffersExactlyOnMasks(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		indices []int
	}{
		{"small", smallConfig(42), []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"odd grid", Config{Width: 1111, Height: 777, Rows: 3, Cols: 3, Seed: 5, MaxDefects: 5}, []int{0, 1, 2}},
		{"no noise", Config{Width: 1280, Height: 720, Rows: 2, Cols: 4, Seed: 9, Noise: -1}, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, h := tc.cfg.Width, tc.cfg.Height
			for _, idx := range tc.indices {
				p, err := Generate(tc.cfg, idx, true)
				if err != nil {
					t.Fatal(err)
				}
				if p.Twin == nil || len(p.Defects) == 0 {
					t.Fatalf("panel %d: defective panel without twin or defects", idx)
				}
				if len(p.Defects) > tc.cfg.maxDefects() {
					t.Fatalf("panel %d: %d defects, more than %d", idx, len(p.Defects), tc.cfg.maxDefects())
				}
				mask := make([]uint8, w*h)
				for k, d := range p.Defects {
					one := make([]uint8, w*h)
					geom.Fill(one, w, h, d.Polygon, 1)
					n := 0
					for i, v := range one {
						if v == 0 {
							continue
						}
						n++
						if mask[i] != 0 {
							t.Fatalf("panel %d: defect %d overlaps another", idx, k)
						}
						mask[i] = 1
					}
					if n == 0 {
						t.Fatalf("panel %d: defect %d (%s) has an empty mask", idx, k, d.Class)
					}
					br := p.Boards[d.Board]
					if pb := d.Polygon.Bounds(); pb.Intersect(br) != pb {
						t.Fatalf("panel %d: defect %d bounds %v outside board %d %v", idx, k, d.Polygon.Bounds(), d.Board, br)
					}
				}
				changed, masked, bad := 0, 0, 0
				for i := 0; i < w*h; i++ {
					a, b := p.Image.Pix[4*i:4*i+4], p.Twin.Pix[4*i:4*i+4]
					diff := !bytes.Equal(a, b)
					if diff {
						changed++
					}
					if mask[i] != 0 {
						masked++
					}
					if diff != (mask[i] != 0) {
						bad++
					}
				}
				if bad != 0 {
					t.Fatalf("panel %d: %d pixels where change and mask disagree (%d changed, %d masked)", idx, bad, changed, masked)
				}
			}
		})
	}
}

// TestDefectsAreVisible checks that defects are real changes, not the one-level nudge that
// keeps the mask exact: most of each polygon differs clearly from the twin.
func TestDefectsAreVisible(t *testing.T) {
	cfg := smallConfig(11)
	cfg.Width, cfg.Height = 2560, 1440
	for idx := 0; idx < 6; idx++ {
		p, err := Generate(cfg, idx, true)
		if err != nil {
			t.Fatal(err)
		}
		for k, d := range p.Defects {
			m := make([]uint8, cfg.Width*cfg.Height)
			geom.Fill(m, cfg.Width, cfg.Height, d.Polygon, 1)
			n, strong := 0, 0
			for i, v := range m {
				if v == 0 {
					continue
				}
				n++
				var s int
				for c := 0; c < 3; c++ {
					s += int(math.Abs(float64(p.Image.Pix[4*i+c]) - float64(p.Twin.Pix[4*i+c])))
				}
				if s >= 12 {
					strong++
				}
			}
			if frac := float64(strong) / float64(n); frac < 0.2 {
				t.Errorf("panel %d defect %d (%s): only %.0f%% of %d mask pixels change visibly", idx, k, d.Class, 100*frac, n)
			}
		}
	}
}

func TestClassFrequencies(t *testing.T) {
	cfg := smallConfig(3)
	d := designFor(cfg)
	counts := map[string]int{}
	total := 0
	for idx := 0; total < 6000; idx++ {
		L := layoutPanel(cfg, d, idx)
		plans := L.planDefects(newRand(uint64(cfg.Seed), uint64(idx)<<8|0xd5), 3)
		if len(plans) == 0 {
			t.Fatalf("panel %d: no defect planned", idx)
		}
		for _, p := range plans {
			counts[p.class]++
			total++
		}
	}
	for _, cf := range ClassFrequencies {
		got := float64(counts[cf.Class]) / float64(total)
		// three standard deviations of a binomial proportion, at least half a percent
		tol := math.Max(0.005, 3*math.Sqrt(cf.P*(1-cf.P)/float64(total)))
		if math.Abs(got-cf.P) > tol {
			t.Errorf("%s: frequency %.4f, want %.2f ± %.4f", cf.Class, got, cf.P, tol)
		}
	}
}

// TestGeneratedClassesCoverAll renders small panels until every class has appeared and checks
// each class's polygon and change on real images.
func TestGeneratedClassesCoverAll(t *testing.T) {
	cfg := Config{Width: 960, Height: 540, Rows: 2, Cols: 4, Seed: 21, MaxDefects: 3}
	seen := map[string]bool{}
	d := designFor(cfg)
	for idx := 0; idx < 2000 && len(seen) < len(ClassFrequencies); idx++ {
		// Plan first (cheap) and render only panels that bring a new class.
		L := layoutPanel(cfg, d, idx)
		plans := L.planDefects(newRand(uint64(cfg.Seed), uint64(idx)<<8|0xd5), cfg.maxDefects())
		fresh := false
		for _, pl := range plans {
			if !seen[pl.class] {
				fresh = true
			}
		}
		if !fresh {
			continue
		}
		p, err := Generate(cfg, idx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, df := range p.Defects {
			seen[df.Class] = true
			if df.Polygon.Area() < 4 {
				t.Errorf("panel %d: %s polygon area %.1f", idx, df.Class, df.Polygon.Area())
			}
		}
	}
	for _, cf := range ClassFrequencies {
		if !seen[cf.Class] {
			t.Errorf("class %s never generated", cf.Class)
		}
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"small", smallConfig(1)},
		{"4K", DefaultConfig(1)},
		{"odd", Config{Width: 1001, Height: 577, Rows: 3, Cols: 5, Seed: 2}},
		{"single board", Config{Width: 300, Height: 200, Rows: 1, Cols: 1, Seed: 3}},
		{"minimum cells", Config{Width: MinBoardPixels * 4, Height: MinBoardPixels * 2, Rows: 2, Cols: 4, Seed: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Generate(tc.cfg, 0, tc.name != "4K")
			if err != nil {
				t.Fatal(err)
			}
			b := p.Image.Bounds()
			if b.Dx() != tc.cfg.Width || b.Dy() != tc.cfg.Height || b.Min.X != 0 || b.Min.Y != 0 {
				t.Fatalf("image bounds %v, want %dx%d", b, tc.cfg.Width, tc.cfg.Height)
			}
			if p.Twin != nil && p.Twin.Bounds() != b {
				t.Fatalf("twin bounds %v, want %v", p.Twin.Bounds(), b)
			}
			if len(p.Boards) != tc.cfg.Rows*tc.cfg.Cols {
				t.Fatalf("%d boards, want %d", len(p.Boards), tc.cfg.Rows*tc.cfg.Cols)
			}
			img := geom.Rect{X1: tc.cfg.Width, Y1: tc.cfg.Height}
			for i, r := range p.Boards {
				if r.Empty() || r.Intersect(img) != r {
					t.Fatalf("board %d %v empty or outside the image", i, r)
				}
				for j := 0; j < i; j++ {
					if !r.Intersect(p.Boards[j]).Empty() {
						t.Fatalf("boards %d %v and %d %v overlap", i, r, j, p.Boards[j])
					}
				}
				// A board covers most of its cell: the image is not blank there.
				cw, ch := tc.cfg.Width/tc.cfg.Cols, tc.cfg.Height/tc.cfg.Rows
				if r.Dx() < cw*8/10 || r.Dy() < ch*8/10 {
					t.Fatalf("board %d %v is small for a %dx%d cell", i, r, cw, ch)
				}
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	good := smallConfig(1)
	tests := []struct {
		name  string
		edit  func(c *Config)
		index int
	}{
		{"zero width", func(c *Config) { c.Width = 0 }, 0},
		{"negative height", func(c *Config) { c.Height = -5 }, 0},
		{"zero rows", func(c *Config) { c.Rows = 0 }, 0},
		{"negative cols", func(c *Config) { c.Cols = -1 }, 0},
		{"boards too small", func(c *Config) { c.Cols = 1280 / (MinBoardPixels - 1) }, 0},
		{"too large", func(c *Config) { c.Width, c.Height = 20000, 20000 }, 0},
		{"negative defects", func(c *Config) { c.MaxDefects = -1 }, 0},
		{"negative index", func(c *Config) {}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := Generate(c, tc.index, true)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		p, err := LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Config.Validate(); err != nil {
			t.Fatalf("preset %s: %v", name, err)
		}
		if p.Train <= 0 || p.Defective <= 0 || p.DefectFree <= 0 {
			t.Fatalf("preset %s: empty split %+v", name, p)
		}
	}
	if _, err := LookupPreset("nope"); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown preset: got %v, want ErrConfig", err)
	}
	p, _ := LookupPreset("sipcba")
	if p.Train != 450 || p.Defective != 50 || p.DefectFree != 50 || p.Config.Width != 3840 || p.Config.Height != 2160 {
		t.Fatalf("sipcba preset %+v", p)
	}
}

func TestHull(t *testing.T) {
	tests := []struct {
		name string
		pts  []geom.Point
		area float64
		n    int
	}{
		{"square with inner point", pts(0, 0, 4, 0, 4, 4, 0, 4, 2, 2), 16, 4},
		{"triangle with collinear", pts(0, 0, 2, 0, 4, 0, 0, 4), 8, 3},
		{"too few", pts(0, 0, 1, 1), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := hull(tc.pts)
			if len(h) != tc.n || h.Area() != tc.area {
				t.Fatalf("hull %v: %d points area %v, want %d points area %v", h, len(h), h.Area(), tc.n, tc.area)
			}
		})
	}
}

func pts(v ...float64) []geom.Point {
	out := make([]geom.Point, len(v)/2)
	for i := range out {
		out[i] = geom.Point{X: v[2*i], Y: v[2*i+1]}
	}
	return out
}
