package inject

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// fixture is a small synthetic board photo: a green mat, a blue board with dark components,
// bright pads and sensor noise, all from the seed.
func fixture(seed uint64) *image.RGBA {
	const w, h = 320, 224
	rng := rand.New(rand.NewPCG(seed, 7))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	set := func(x, y int, r, g, b float64) {
		o := m.PixOffset(x, y)
		n := rng.Float64()*10 - 5
		m.Pix[o], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = clamp8(r+n), clamp8(g+n), clamp8(b+n), 255
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			set(x, y, 30, 120, 50)
			if x >= 50 && x < 270 && y >= 40 && y < 184 {
				set(x, y, 30, 70, 170)
			}
		}
	}
	for k := 0; k < 9; k++ {
		cx, cy := 70+k%3*70+rng.IntN(10), 60+k/3*40+rng.IntN(6)
		for y := cy; y < cy+16; y++ {
			for x := cx; x < cx+30; x++ {
				set(x, y, 25, 25, 30)
				if x < cx+5 || x >= cx+25 {
					set(x, y, 215, 215, 210) // pads
				}
			}
		}
	}
	return m
}

// checkExact asserts that bad equals twin outside the polygons and differs inside.
func checkExact(t *testing.T, twin, bad *image.RGBA, defects []sipcba.Defect) {
	t.Helper()
	w, h := twin.Rect.Dx(), twin.Rect.Dy()
	for _, d := range defects {
		mask := make([]uint8, w*h)
		geom.Fill(mask, w, h, d.Polygon, 1)
		in, changed := 0, 0
		for i, v := range mask {
			if v != 0 {
				in++
				if !bytes.Equal(bad.Pix[4*i:4*i+4], twin.Pix[4*i:4*i+4]) {
					changed++
				}
			}
		}
		if in == 0 || changed*5 < in {
			t.Errorf("%s: %d of %d polygon pixels changed", d.Class, changed, in)
		}
	}
	all := make([]uint8, w*h)
	for _, d := range defects {
		geom.Fill(all, w, h, d.Polygon, 1)
	}
	for i, v := range all {
		if v == 0 && !bytes.Equal(bad.Pix[4*i:4*i+4], twin.Pix[4*i:4*i+4]) {
			t.Fatalf("pixel (%d,%d) outside every polygon changed", i%w, i/w)
		}
	}
}

func TestInjectEachClass(t *testing.T) {
	for _, c := range Classes {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", c, seed), func(t *testing.T) {
				twin := fixture(seed)
				keep := RGBA(twin)
				bad, ds, err := Inject(twin, []sipcba.Class{c}, rand.New(rand.NewPCG(seed, 0)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(keep.Pix, twin.Pix) {
					t.Fatal("Inject changed its input")
				}
				if len(ds) != 1 || ds[0].Class != c || ds[0].ID != 1 {
					t.Fatalf("defects %+v", ds)
				}
				checkExact(t, twin, bad, ds)
			})
		}
	}
}

func TestInjectAllClassesWithoutOverlap(t *testing.T) {
	twin := fixture(3)
	bad, ds, err := Inject(twin, Classes, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(Classes) {
		t.Fatalf("%d defects", len(ds))
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if !ds[i].Polygon.Bounds().Intersect(ds[j].Polygon.Bounds()).Empty() {
				t.Errorf("%s and %s overlap", ds[i].Class, ds[j].Class)
			}
		}
	}
	checkExact(t, twin, bad, ds)
}

func TestInjectDeterministic(t *testing.T) {
	twin := fixture(5)
	run := func(seed uint64) (*image.RGBA, []sipcba.Defect) {
		bad, ds, err := Inject(twin, Classes, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return bad, ds
	}
	a, da := run(42)
	b, db := run(42)
	c, _ := run(43)
	if !bytes.Equal(a.Pix, b.Pix) || fmt.Sprint(da) != fmt.Sprint(db) {
		t.Error("same seed, different result")
	}
	if bytes.Equal(a.Pix, c.Pix) {
		t.Error("different seeds, same image")
	}
}

func TestInjectErrors(t *testing.T) {
	tests := []struct {
		name string
		img  *image.RGBA
		cls  []sipcba.Class
	}{
		{"too small", image.NewRGBA(image.Rect(0, 0, 40, 40)), Classes[:1]},
		{"unknown class", fixture(1), []sipcba.Class{"scratch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Inject(tc.img, tc.cls, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrPlace) {
				t.Fatalf("err %v, want ErrPlace", err)
			}
		})
	}
}

func writeNormals(t *testing.T, n int) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("normal %d.png", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, fixture(uint64(10+i))); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out = append(out, p)
	}
	return out
}

func TestBuild(t *testing.T) {
	normals := writeNormals(t, 2)
	build := func(seed int64) *sipcba.Dataset {
		out := filepath.Join(t.TempDir(), "inj")
		calls := 0
		d, err := Build(normals, out, Options{Seed: seed, PerImage: 5, Progress: func(done, total int, _ string) { calls++ }})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("progress called %d times", calls)
		}
		return d
	}
	d := build(42)
	if probs := sipcba.Validate(d.Dir); len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	c := d.Manifest.Counts
	if c.TestDefective != 10 || c.Twins != 10 || c.Defects != 10 || !d.Manifest.TwinsComplete {
		t.Errorf("counts %+v", c)
	}
	for _, cl := range Classes {
		if c.PerClass[cl] != 2 {
			t.Errorf("class %s: %d defects, want 2", cl, c.PerClass[cl])
		}
	}
	if it := d.Items(sipcba.Test)[0]; it.Name != "normal_0_d0" {
		t.Errorf("first item %q", it.Name)
	}
	// Masks are exactly the changed pixels' polygons: image and twin agree outside the mask.
	for _, it := range d.Items(sipcba.Test) {
		img, twin := readRGBA(t, it.Image), readRGBA(t, it.Twin)
		m, err := d.LoadMask(it)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range m.Pix {
			if v == 0 && !bytes.Equal(img.Pix[4*i:4*i+4], twin.Pix[4*i:4*i+4]) {
				t.Fatalf("%s: pixel %d differs outside the mask", it.Name, i)
			}
		}
	}
	same, other := build(42), build(7)
	if fmt.Sprint(same.Manifest.Files) != fmt.Sprint(d.Manifest.Files) {
		t.Error("same seed gave different files")
	}
	if fmt.Sprint(other.Manifest.Files) == fmt.Sprint(d.Manifest.Files) {
		t.Error("another seed gave the same files")
	}
}

func readRGBA(t *testing.T, p string) *image.RGBA {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return RGBA(img)
}

// repoRoot walks up from the test's folder to go.mod.
func TestInjectRealPhoto(t *testing.T) {
	p := filepath.Join(enginetest.RepoRoot(t), "..", "shared", "data", "lookout-circuitboard", "mini_data", "train", "normal", "train-normal_1.jpg")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	twin := RGBA(img)
	bad, ds, err := Inject(twin, Classes, rand.New(rand.NewPCG(42, 0)))
	if err != nil {
		t.Fatal(err)
	}
	checkExact(t, twin, bad, ds)
	// Every defect lies on the board (the middle of this photo), not on the mat.
	board := geom.Rect{X0: 400, Y0: 400, X1: 1700, Y1: 900}
	for _, d := range ds {
		b := d.Polygon.Bounds()
		if b.Intersect(board) != b {
			t.Errorf("%s at %v, off the board %v", d.Class, b, board)
		}
	}
}
