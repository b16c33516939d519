package enginetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hisirdesk/hisir/engine"
)

func TestExifJPEG(t *testing.T) {
	for _, big := range []bool{false, true} {
		for o := 1; o <= 8; o++ {
			t.Run(fmt.Sprint(big, o), func(t *testing.T) {
				data, err := ExifJPEG(Quadrants(64, 32), o, big)
				if err != nil {
					t.Fatal(err)
				}
				if got := engine.ReadOrientation(bytes.NewReader(data)); got != o {
					t.Fatalf("orientation %d, want %d", got, o)
				}
				im, err := engine.DecodeReader(bytes.NewReader(data), "q.jpg")
				if err != nil {
					t.Fatal(err)
				}
				// The stored top-left quadrant is red; where it lands upright:
				x, y := 4, 4
				if o == 2 || o == 3 || o == 6 || o == 7 {
					x = im.W - 5
				}
				if o == 3 || o == 4 || o == 7 || o == 8 {
					y = im.H - 5
				}
				n := im.W * im.H
				if r, g, b := im.Pix[y*im.W+x], im.Pix[n+y*im.W+x], im.Pix[2*n+y*im.W+x]; r < 0.9 || g > 0.1 || b > 0.1 {
					t.Fatalf("pixel (%d,%d) is %g,%g,%g, want red", x, y, r, g, b)
				}
			})
		}
	}
}
