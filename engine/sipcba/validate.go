package sipcba

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Problem is one thing wrong with a dataset, with the file it concerns (relative to the
// dataset root, or the dataset folder itself).
type Problem struct {
	File string
	Msg  string
	Err  error // a sentinel such as ErrUnsafePath, ErrUnknownClass or ErrNotDataset; may be nil
}

func (p Problem) Error() string { return p.File + ": " + p.Msg }

// Unwrap returns the sentinel of the problem.
func (p Problem) Unwrap() error { return p.Err }

// Validate checks a dataset completely and returns every problem found, each with its file:
// a missing or broken manifest, unsafe paths, unknown classes, missing or extra files
// (images, masks, twins), checksum mismatches, size mismatches between an image and its mask
// or twin, masks that are not binary, empty or outside their polygons, and broken LabelMe or
// COCO files. A clean dataset returns nil.
func Validate(dir string) []Problem {
	d, err := Open(dir)
	if err != nil {
		var p Problem
		switch {
		case errors.As(err, &p):
			// Open stops at the first manifest problem: list all of them.
			raw, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			var m Manifest
			if decodeStrict(raw, &m) == nil {
				return checkManifest(&m)
			}
			return []Problem{p}
		case errors.Is(err, ErrNotDataset) && strings.Contains(err.Error(), "no "+ManifestFile):
			return []Problem{{File: dir, Msg: "no " + ManifestFile + ": not a sipcba dataset", Err: ErrNotDataset}}
		default:
			return []Problem{{File: ManifestFile, Msg: err.Error(), Err: ErrNotDataset}}
		}
	}
	v := validator{d: d}
	v.files()
	v.images()
	v.annotations()
	sort.SliceStable(v.out, func(i, j int) bool { return v.out[i].File < v.out[j].File })
	return v.out
}

type validator struct {
	d       *Dataset
	out     []Problem
	present map[string]bool
}

func (v *validator) add(file string, err error, format string, args ...any) {
	v.out = append(v.out, Problem{File: file, Msg: fmt.Sprintf(format, args...), Err: err})
}

// files compares the folder with the manifest's file list and checksums.
func (v *validator) files() {
	v.present = map[string]bool{}
	root := v.d.Dir
	filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			v.add(rel, nil, "cannot read: %v", err)
			return nil
		}
		if de.IsDir() || rel == ManifestFile {
			return nil
		}
		if !de.Type().IsRegular() {
			v.add(rel, ErrUnsafePath, "not a regular file (links are not allowed)")
			return nil
		}
		v.present[rel] = true
		want, ok := v.d.Manifest.Files[rel]
		if !ok {
			what := "extra file not listed in the manifest"
			if strings.HasPrefix(rel, "ground_truth/") {
				what = "extra mask not listed in the manifest"
			}
			v.add(rel, nil, "%s", what)
			return nil
		}
		got, err := sha256File(p)
		if err != nil {
			v.add(rel, nil, "%v", err)
		} else if got != want {
			v.add(rel, nil, "sha256 %s, manifest says %s", got, want)
		}
		return nil
	})
	for rel := range v.d.Manifest.Files {
		if !v.present[rel] && checkRel(rel) == nil {
			v.add(rel, nil, "missing (listed in the manifest)")
		}
	}
}

func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// images checks every image, mask and twin of the manifest.
func (v *validator) images() {
	m := &v.d.Manifest
	for _, e := range m.Images {
		if checkRel(e.File) != nil {
			continue // reported by checkManifest
		}
		for _, p := range []string{e.File, e.Mask, e.Twin, e.LabelMe} {
			if p != "" && checkRel(p) == nil {
				if _, listed := m.Files[p]; !listed {
					kind := "file"
					if p == e.Mask {
						kind = "mask"
					}
					v.add(p, nil, "missing %s: not listed in the manifest (image %s)", kind, e.Name)
				}
			}
		}
		if v.present[e.File] {
			if w, h, err := pngSize(v.d.abs(e.File)); err != nil {
				v.add(e.File, nil, "%v", err)
			} else if w != e.Width || h != e.Height {
				v.add(e.File, nil, "image is %dx%d, manifest says %dx%d", w, h, e.Width, e.Height)
			}
		}
		if e.Twin != "" && v.present[e.Twin] && checkRel(e.Twin) == nil {
			if w, h, err := pngSize(v.d.abs(e.Twin)); err != nil {
				v.add(e.Twin, nil, "%v", err)
			} else if w != e.Width || h != e.Height {
				v.add(e.Twin, nil, "twin is %dx%d, image %s is %dx%d", w, h, e.File, e.Width, e.Height)
			}
		}
		if e.Mask != "" && v.present[e.Mask] && checkRel(e.Mask) == nil {
			v.mask(e)
		}
	}
}

// mask checks one mask: size, binary values, not empty, inside the polygons.
func (v *validator) mask(e Entry) {
	img, err := decodePNG(v.d.abs(e.Mask))
	if err != nil {
		v.add(e.Mask, nil, "broken mask: %v", err)
		return
	}
	b := img.Bounds()
	if b.Dx() != e.Width || b.Dy() != e.Height {
		v.add(e.Mask, nil, "mask is %dx%d, image %s is %dx%d", b.Dx(), b.Dy(), e.File, e.Width, e.Height)
		return
	}
	g := toGray(img)
	fill := make([]uint8, e.Width*e.Height)
	for _, d := range e.Defects {
		geom.Fill(fill, e.Width, e.Height, d.Polygon, 1)
	}
	var on, other, outside int
	for y := 0; y < e.Height; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+e.Width]
		for x, val := range row {
			switch val {
			case 0:
			case 255:
				on++
				if fill[y*e.Width+x] == 0 {
					outside++
				}
			default:
				other++
			}
		}
	}
	if other > 0 {
		v.add(e.Mask, nil, "mask is not binary: %d pixels are neither 0 nor 255", other)
	}
	if on == 0 {
		v.add(e.Mask, nil, "mask of defective image %s is empty", e.File)
	}
	if outside > 0 {
		v.add(e.Mask, nil, "%d mask pixels lie outside every defect polygon", outside)
	}
}

func pngSize(p string) (int, int, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, 0, fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("broken PNG: %w", err)
	}
	return c.Width, c.Height, nil
}

// annotations checks that the LabelMe and COCO files parse and name known classes.
func (v *validator) annotations() {
	m := &v.d.Manifest
	known := map[string]bool{}
	for _, c := range m.Classes {
		known[string(c.Name)] = true
	}
	for _, e := range m.Images {
		if e.LabelMe == "" || checkRel(e.LabelMe) != nil || !v.present[e.LabelMe] {
			continue
		}
		raw, err := os.ReadFile(v.d.abs(e.LabelMe))
		if err != nil {
			v.add(e.LabelMe, nil, "%v", err)
			continue
		}
		var f labelMeFile
		if err := decodeStrict(raw, &f); err != nil {
			v.add(e.LabelMe, nil, "broken JSON: %v", err)
			continue
		}
		for i, s := range f.Shapes {
			if !known[s.Label] {
				v.add(e.LabelMe, ErrUnknownClass, "shapes[%d]: unknown class %q", i, s.Label)
			}
		}
		if len(f.Shapes) != len(e.Defects) {
			v.add(e.LabelMe, nil, "%d shapes, manifest has %d defect polygons", len(f.Shapes), len(e.Defects))
		}
	}
	for _, sp := range Splits {
		rel := "annotations/coco_" + string(sp) + ".json"
		if !v.present[rel] {
			if _, listed := m.Files[rel]; !listed {
				v.add(rel, nil, "missing COCO file")
			}
			continue
		}
		raw, err := os.ReadFile(v.d.abs(rel))
		if err != nil {
			v.add(rel, nil, "%v", err)
			continue
		}
		var f cocoFile
		if err := decodeStrict(raw, &f); err != nil {
			v.add(rel, nil, "broken JSON: %v", err)
			continue
		}
		for i, c := range f.Categories {
			if !known[c.Name] {
				v.add(rel, ErrUnknownClass, "categories[%d]: unknown class %q", i, c.Name)
			}
		}
		want := cocoDoc(m, sp)
		if len(f.Images) != len(want.Images) || len(f.Annotations) != len(want.Annotations) {
			v.add(rel, nil, "%d images and %d annotations, the manifest has %d and %d",
				len(f.Images), len(f.Annotations), len(want.Images), len(want.Annotations))
		}
	}
	counts, sizes := summarise(m.Images)
	if fmt.Sprint(counts) != fmt.Sprint(m.Counts) || fmt.Sprint(sizes) != fmt.Sprint(m.ImageSizes) {
		v.add(ManifestFile, nil, "counts or image_sizes do not match the images (want %+v, %+v)", counts, sizes)
	}
}
