package inject

import (
	"context"
	"fmt"
	_ "image/jpeg" // normal photos
	_ "image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/sipcba"
)

// Options tune Build.
type Options struct {
	Seed     int64
	PerImage int            // defective copies per normal photo; default 5
	Defects  int            // defects per copy; default 1
	Classes  []sipcba.Class // classes to cycle through; default Classes
	Name     string         // dataset name; default the output folder's name
	// Progress, when set, is called after each normal photo (serialised).
	Progress func(done, total int, name string)
	Workers  int // photos processed at once; default GOMAXPROCS
	// Context, when set, stops the build (nothing is written) once it is done.
	Context context.Context
}

// Build writes a SIPCBA dataset at out (which must not exist) whose test split holds, for each
// normal photo, PerImage defect-injected copies named <stem>_d<k> with the photo as their twin.
// Copy k of photo i gets classes starting at index (i*PerImage+k)*Defects of the class cycle, and
// its randomness comes only from (Seed, i, k): the same inputs give byte-identical datasets.
func Build(normals []string, out string, opt Options) (*sipcba.Dataset, error) {
	if opt.PerImage <= 0 {
		opt.PerImage = 5
	}
	if opt.Defects <= 0 {
		opt.Defects = 1
	}
	if len(opt.Classes) == 0 {
		opt.Classes = Classes
	}
	for _, c := range opt.Classes {
		if !supported(c) {
			return nil, fmt.Errorf("inject: class %q cannot be injected (want one of %v)", c, Classes)
		}
	}
	if len(normals) == 0 {
		return nil, fmt.Errorf("inject: no normal photos")
	}
	names := map[string]string{}
	for _, p := range normals {
		n := stemName(p)
		if prev, dup := names[n]; dup {
			return nil, fmt.Errorf("inject: %s and %s give the same name %q", prev, p, n)
		}
		names[n] = p
	}
	w, err := sipcba.Create(out, sipcba.Info{Name: opt.Name,
		Provenance: fmt.Sprintf("hisir import --from inject: %d normal photos from %s, seed %d, %d copies each, %d defects per copy",
			len(normals), filepath.Dir(normals[0]), opt.Seed, opt.PerImage, opt.Defects)})
	if err != nil {
		return nil, fmt.Errorf("inject: %w", err)
	}
	first := sipcba.Parallel(opt.Context, len(normals), opt.Workers, func(i int) error {
		return one(w, normals[i], i, opt)
	}, func(done, i int) {
		if opt.Progress != nil {
			opt.Progress(done, len(normals), filepath.Base(normals[i]))
		}
	})
	if first != nil {
		w.Abort()
		return nil, fmt.Errorf("inject: %w", first)
	}
	if err := w.Commit(); err != nil {
		return nil, fmt.Errorf("inject: %w", err)
	}
	return sipcba.Open(out)
}

func supported(c sipcba.Class) bool {
	for _, k := range Classes {
		if c == k {
			return true
		}
	}
	return false
}

// one injects the copies of photo i.
func one(w *sipcba.Writer, path string, i int, opt Options) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read normal photo: %w", err)
	}
	img, _, err := engine.DecodeImage(f) // upright by its EXIF orientation
	f.Close()
	if err != nil {
		return fmt.Errorf("decode normal photo %s: %w", path, err)
	}
	twin := RGBA(img)
	for k := 0; k < opt.PerImage; k++ {
		start := (i*opt.PerImage + k) * opt.Defects
		classes := make([]sipcba.Class, opt.Defects)
		for j := range classes {
			classes[j] = opt.Classes[(start+j)%len(opt.Classes)]
		}
		rng := rand.New(rand.NewPCG(uint64(opt.Seed), uint64(i)<<20|uint64(k)))
		bad, defects, err := Inject(twin, classes, rng)
		if err != nil {
			return fmt.Errorf("%s copy %d: %w", path, k, err)
		}
		name := fmt.Sprintf("%s_d%d", stemName(path), k)
		if err := w.Add(sipcba.Sample{Split: sipcba.Test, Name: name, Image: bad, Twin: twin, Defects: defects}); err != nil {
			return err
		}
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func stemName(p string) string {
	s := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	s = strings.Trim(unsafeName.ReplaceAllString(s, "_"), "._-")
	if s == "" {
		s = "photo"
	}
	if len(s) > 180 {
		s = s[:180]
	}
	return s
}

// Normals lists the photos (PNG, JPEG) directly inside dir, sorted.
func Normals(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("inject: %w", err)
	}
	var out []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("inject: no .png or .jpg photos in %s", dir)
	}
	return out, nil
}
