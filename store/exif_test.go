package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
)

// TestImportRecordsUprightSize checks that the size recorded at import is the EXIF-upright
// size, the size engine.Decode and the viewer see.
func TestImportRecordsUprightSize(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "p.hisir"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := t.TempDir()
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			data, err := enginetest.ExifJPEG(enginetest.Quadrants(64+16*o, 32), o, o%2 == 0)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(src, fmt.Sprintf("phone%d.jpg", o))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if added, _, err := s.ImportImages(ctx, []string{p}, nil); err != nil || added != 1 {
				t.Fatalf("import: added %d, %v", added, err)
			}
			ims, err := s.Images(ctx, ImageFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got *Image
			for i := range ims {
				if filepath.Base(ims[i].Path) == filepath.Base(p) {
					got = &ims[i]
				}
			}
			if got == nil {
				t.Fatalf("%s not listed", p)
			}
			im, err := engine.Decode(p)
			if err != nil {
				t.Fatal(err)
			}
			w, h := 64+16*o, 32
			if o >= 5 {
				w, h = h, w
			}
			if got.Width != w || got.Height != h || im.W != w || im.H != h {
				t.Fatalf("recorded %d×%d, decoded %d×%d, want %d×%d", got.Width, got.Height, im.W, im.H, w, h)
			}
		})
	}
}
