package sipcba

import (
	"encoding/base64"
	"path/filepath"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/enginetest"
)

// TestImportHonoursExifOrientation imports phone-style JPEGs (a file and LabelMe's inline
// imageData) and checks the dataset holds them upright, as engine.Decode sees them.
func TestImportHonoursExifOrientation(t *testing.T) {
	src := t.TempDir()
	file, err := enginetest.ExifJPEG(enginetest.Quadrants(64, 32), 6, false) // rotate 90° clockwise
	if err != nil {
		t.Fatal(err)
	}
	inline, err := enginetest.ExifJPEG(enginetest.Quadrants(64, 32), 8, true) // 90° anticlockwise
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "phone.jpg"), string(file))
	writeFile(t, filepath.Join(src, "a.json"), `{"shapes": [], "imagePath": "phone.jpg"}`)
	writeFile(t, filepath.Join(src, "b.json"), `{"shapes": [], "imageData": "`+base64.StdEncoding.EncodeToString(inline)+`"}`)
	d, err := ImportLabelMe(src, filepath.Join(t.TempDir(), "ds"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The stored red top-left quadrant is seen top-right after 6, bottom-left after 8.
	redAt := map[string][2]int{"a": {32 - 5, 4}, "b": {4, 64 - 5}}
	items := d.Items(Test)
	if len(items) != 2 {
		t.Fatalf("%d items, want 2", len(items))
	}
	direct, err := engine.Decode(filepath.Join(src, "phone.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Width != 32 || it.Height != 64 {
			t.Errorf("%s: %d×%d, want the upright 32×64", it.Name, it.Width, it.Height)
		}
		im, err := engine.Decode(it.Image)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := redAt[it.Name]
		if !ok {
			t.Fatalf("unexpected item %q", it.Name)
		}
		n := im.W * im.H
		i := p[1]*im.W + p[0]
		if r, g, b := im.Pix[i], im.Pix[n+i], im.Pix[2*n+i]; r < 0.9 || g > 0.1 || b > 0.1 {
			t.Errorf("%s: pixel %v is %g,%g,%g, want red", it.Name, p, r, g, b)
		}
		if it.Name == "a" {
			// The dataset copy is the 8-bit rounding of what the engine decodes from the file.
			for k := range im.Pix {
				if d := im.Pix[k] - direct.Pix[k]; d > 0.5/255+1e-6 || d < -0.5/255-1e-6 {
					t.Fatalf("value %d: dataset %g, engine.Decode %g", k, im.Pix[k], direct.Pix[k])
				}
			}
		}
	}
}
