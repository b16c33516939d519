package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
)

func TestReflect(t *testing.T) {
	cases := []struct {
		n    int
		in   []int
		want []int
	}{
		{1, []int{-5, -1, 0, 1, 7}, []int{0, 0, 0, 0, 0}},
		{2, []int{-3, -2, -1, 0, 1, 2, 3, 4}, []int{1, 0, 1, 0, 1, 0, 1, 0}},
		// reflect-101: … c b | a b c d e | d c …
		{5, []int{-2, -1, 0, 4, 5, 6, 8, 9, 12, -8}, []int{2, 1, 0, 4, 3, 2, 0, 1, 4, 0}},
	}
	for _, c := range cases {
		for k, i := range c.in {
			if got := engine.Reflect(i, c.n); got != c.want[k] {
				t.Errorf("Reflect(%d, %d) = %d, want %d", i, c.n, got, c.want[k])
			}
		}
	}
}

func TestGridLayout(t *testing.T) {
	cases := []struct {
		w, h, p        int
		wp, hp         int
		cols, rows     int
		cellsX, cellsY int
	}{
		{1, 1, 8, 12, 12, 2, 2, 1, 1},
		{1, 9, 8, 12, 20, 2, 4, 1, 3},
		{8, 8, 8, 16, 16, 3, 3, 2, 2},
		{9, 4, 8, 20, 12, 4, 2, 3, 1},
		{37, 23, 8, 48, 32, 11, 7, 10, 6},
		{128, 128, 128, 256, 256, 3, 3, 2, 2},
		{3840, 2160, 128, 3968, 2304, 61, 35, 60, 34},
		{7680, 4320, 128, 7808, 4480, 121, 69, 120, 68},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dx%d_p%d", c.w, c.h, c.p), func(t *testing.T) {
			g := engine.NewGrid(c.w, c.h, c.p)
			if g.Wp != c.wp || g.Hp != c.hp || g.Cols != c.cols || g.Rows != c.rows {
				t.Fatalf("padded %d×%d, %d×%d patches; want %d×%d, %d×%d", g.Wp, g.Hp, g.Cols, g.Rows, c.wp, c.hp, c.cols, c.rows)
			}
			cx, cy := g.ImageCells()
			if cx != c.cellsX || cy != c.cellsY {
				t.Fatalf("image cells %d×%d, want %d×%d", cx, cy, c.cellsX, c.cellsY)
			}
			// Contract step 1: right/bottom padding is the smallest amount ≥ S giving a multiple of S.
			for _, d := range []struct{ n, np int }{{c.w, g.Wp}, {c.h, g.Hp}} {
				pad := d.np - d.n - g.S
				if pad < g.S || pad >= 2*g.S || d.np%g.S != 0 {
					t.Fatalf("padding %d of %d to %d breaks the contract", pad, d.n, d.np)
				}
			}
			// Every image cell is covered by exactly 4 patches, every patch lies inside the padded image.
			cover := make([]int, (g.Wp/g.S)*(g.Hp/g.S))
			for i := 0; i < g.Rows; i++ {
				for j := 0; j < g.Cols; j++ {
					x, y := g.Origin(i, j)
					if x+g.P > g.Wp || y+g.P > g.Hp {
						t.Fatalf("patch (%d,%d) leaves the padded image", i, j)
					}
					for dy := 0; dy < 2; dy++ {
						for dx := 0; dx < 2; dx++ {
							cover[(i+dy)*(g.Wp/g.S)+j+dx]++
						}
					}
				}
			}
			for ccy := 1; ccy <= cy; ccy++ {
				for ccx := 1; ccx <= cx; ccx++ {
					if n := cover[ccy*(g.Wp/g.S)+ccx]; n != 4 {
						t.Fatalf("cell (%d,%d) covered %d times", ccx, ccy, n)
					}
				}
			}
			// Position of patch (i,j) is its centre in unpadded coordinates over the size.
			px, py := g.Position(g.Rows-1, g.Cols-1)
			wantX := float32(float64((g.Cols-1)*g.S+g.P/2-g.S) / float64(c.w))
			wantY := float32(float64((g.Rows-1)*g.S+g.P/2-g.S) / float64(c.h))
			if px != wantX || py != wantY {
				t.Fatalf("last position (%g,%g), want (%g,%g)", px, py, wantX, wantY)
			}
			if x, y := g.Position(1, 1); x != float32(float64(g.S)/float64(c.w)) || y != float32(float64(g.S)/float64(c.h)) {
				t.Fatalf("position (1,1) = (%g,%g)", x, y)
			}
		})
	}
}

// TestPipelineSendsContractPatches checks the patches and positions the model receives.
func TestPipelineSendsContractPatches(t *testing.T) {
	for _, merge := range []string{"rops", "none"} {
		for _, sz := range [][2]int{{1, 1}, {1, 13}, {11, 7}, {64, 40}} {
			t.Run(fmt.Sprintf("%s_%dx%d", merge, sz[0], sz[1]), func(t *testing.T) {
				const P = 16
				img := randomImage(sz[0], sz[1], 9)
				g := engine.NewGrid(sz[0], sz[1], P)
				var got [][2]float32
				m := enginetest.Func(P, func(out, in []float32, pos [2]float32) {
					got = append(got, pos)
					// The patch is the reflect-padded image: check one pixel per channel row.
					j := int(pos[0]*float32(sz[0])+0.5) / (P / 2)
					i := int(pos[1]*float32(sz[1])+0.5) / (P / 2)
					for c := 0; c < 3; c++ {
						for y := 0; y < P; y++ {
							for x := 0; x < P; x += 5 {
								want := img.Pix[c*sz[0]*sz[1]+engine.Reflect(i*P/2+y-P/2, sz[1])*sz[0]+engine.Reflect(j*P/2+x-P/2, sz[0])]
								if in[(c*P+y)*P+x] != want {
									t.Fatalf("patch (%d,%d) pixel (%d,%d,%d) = %g, want %g", i, j, c, x, y, in[(c*P+y)*P+x], want)
								}
							}
						}
					}
					copy(out, in)
				})
				pl, err := engine.NewPipeline(m, engine.Options{Merge: merge, BatchSize: 3})
				if err != nil {
					t.Fatal(err)
				}
				res, err := pl.Run(context.Background(), img, nil)
				if err != nil {
					t.Fatal(err)
				}
				var want [][2]float32
				for i := 0; i < g.Rows; i++ {
					for j := 0; j < g.Cols; j++ {
						if merge == "none" && (i%2 == 0 || j%2 == 0) {
							continue
						}
						x, y := g.Position(i, j)
						want = append(want, [2]float32{x, y})
					}
				}
				if len(got) != len(want) || res.Patches != len(want) {
					t.Fatalf("model saw %d patches (result says %d), want %d", len(got), res.Patches, len(want))
				}
				for k := range want {
					if got[k] != want[k] {
						t.Fatalf("patch %d at %v, want %v (row-major order)", k, got[k], want[k])
					}
				}
			})
		}
	}
}

func TestPipeline4KPatchCount(t *testing.T) {
	img := engine.NewImage(3840, 2160)
	m := enginetest.Func(128, func(out, in []float32, _ [2]float32) {})
	pl, _ := engine.NewPipeline(m, engine.Options{BlurSigma: 0})
	last := 0
	res, err := pl.Run(context.Background(), img, func(done, total int) {
		if total != 61*35 || done <= last || done > total {
			t.Fatalf("progress %d/%d after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Patches != 2135 || m.Patches() != 2135 || last != 2135 {
		t.Fatalf("patches: result %d, model %d, progress %d; want 2135", res.Patches, m.Patches(), last)
	}
}
