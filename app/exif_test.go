package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
	"github.com/hisirdesk/hisir/store"
)

// TestDisplayAndExportDecodeUpright checks that the viewer/thumbnail decode and the export
// decode turn phone photos upright exactly as engine.Decode does, so overlays computed by
// the engine land on the right pixels.
func TestDisplayAndExportDecodeUpright(t *testing.T) {
	dir := t.TempDir()
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			data, err := enginetest.ExifJPEG(enginetest.Quadrants(64, 32), o, o > 4)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fmt.Sprintf("phone%d.jpg", o))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			want, err := engine.Decode(p)
			if err != nil {
				t.Fatal(err)
			}
			w := 64
			if o >= 5 {
				w = 32
			}
			if want.W != w {
				t.Fatalf("engine.Decode width %d, want %d", want.W, w)
			}
			shown, err := decodeDisplay(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			exported, err := loadVerified(store.Image{ID: int64(o), Path: p, Hash: hex.EncodeToString(sum[:])})
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]*engine.Image{"display": engine.FromImage(shown), "export": engine.FromImage(exported)} {
				if got.W != want.W || got.H != want.H {
					t.Fatalf("%s: %d×%d, engine.Decode %d×%d", name, got.W, got.H, want.W, want.H)
				}
				for i := range got.Pix {
					if got.Pix[i] != want.Pix[i] {
						t.Fatalf("%s: value %d is %g, engine.Decode %g", name, i, got.Pix[i], want.Pix[i])
					}
				}
			}
		})
	}
}
