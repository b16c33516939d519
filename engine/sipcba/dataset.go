package sipcba

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
)

// Dataset is an opened dataset.
type Dataset struct {
	Dir      string
	Manifest Manifest
}

// Item is one image of a dataset; its paths are joined to Dataset.Dir.
type Item struct {
	Split Split
	Name  string
	Image string // path of the image
	Mask  string // path of the 0/255 mask, "" for a good image
	Twin  string // path of the defect-free twin, "" when there is none
	Class Class  // "" for a good image, the class of its defects, or Defective when mixed
	// ImageLabel is true for an anomalous image labelled only at image level (Entry.Labels
	// "image"): Class is set, Mask is "" and Defects is empty.
	ImageLabel bool
	Defects    []Defect
	Width      int
	Height     int
}

// Open reads and checks the manifest of the dataset at dir: format version, classes, names and
// paths. It does not read the images; Validate checks everything.
func Open(dir string) (*Dataset, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open dataset %s: %w: no %s", dir, ErrNotDataset, ManifestFile)
		}
		return nil, fmt.Errorf("open dataset %s: %w", dir, err)
	}
	d := &Dataset{Dir: dir}
	if err := decodeStrict(raw, &d.Manifest); err != nil {
		return nil, fmt.Errorf("open dataset %s: %w: %s: %v", dir, ErrNotDataset, ManifestFile, err)
	}
	if probs := checkManifest(&d.Manifest); len(probs) > 0 {
		return nil, fmt.Errorf("open dataset %s: %w", dir, probs[0])
	}
	return d, nil
}

// decodeStrict decodes JSON, refusing trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// checkManifest checks what can be checked without touching files.
func checkManifest(m *Manifest) []Problem {
	var out []Problem
	add := func(file, format string, args ...any) {
		out = append(out, Problem{File: file, Msg: fmt.Sprintf(format, args...)})
	}
	if m.FormatVersion != FormatVersion {
		out = append(out, Problem{File: ManifestFile, Msg: fmt.Sprintf("format_version %d, this program reads %d", m.FormatVersion, FormatVersion), Err: ErrVersion})
		return out
	}
	known := map[Class]bool{}
	for i, c := range m.Classes {
		if err := c.Name.Check(); err != nil {
			add(ManifestFile, "classes[%d]: %v", i, err)
		}
		if known[c.Name] {
			add(ManifestFile, "classes[%d]: duplicate class %q", i, c.Name)
		}
		if c.ID != i+1 {
			add(ManifestFile, "classes[%d]: id %d, want %d", i, c.ID, i+1)
		}
		known[c.Name] = true
	}
	names := map[string]bool{}
	for i, e := range m.Images {
		where := fmt.Sprintf("%s (images[%d] %s)", ManifestFile, i, e.Name)
		if !e.Split.valid() {
			add(where, "unknown split %q", e.Split)
			continue
		}
		if err := checkName(e.Name); err != nil {
			add(where, "%v", err)
			continue
		}
		if names[e.Name] {
			add(where, "duplicate name %q", e.Name)
		}
		names[e.Name] = true
		for _, p := range []string{e.File, e.Mask, e.Twin, e.LabelMe} {
			if p == "" {
				continue
			}
			if err := checkRel(p); err != nil {
				out = append(out, Problem{File: where, Msg: err.Error(), Err: ErrUnsafePath})
			}
		}
		imageLabel := e.Labels == LabelsImage
		if e.Labels != "" && !imageLabel {
			add(where, "labels %q, want %q or none", e.Labels, LabelsImage)
			continue
		}
		if imageLabel {
			switch {
			case e.Split != Test:
				add(where, "image-level label in the %s split (only test images are anomalous)", e.Split)
			case len(e.Defects) > 0:
				add(where, "image-level label with %d defect polygons (want none)", len(e.Defects))
			case e.Mask != "":
				add(where, "image-level label with a mask %q (want none)", e.Mask)
			case e.Category == Good:
				add(where, "image-level label on a good image (want its class as category)")
			case e.Category != string(Defective) && !known[Class(e.Category)]:
				out = append(out, Problem{File: where, Msg: fmt.Sprintf("unknown class %q", e.Category), Err: ErrUnknownClass})
			}
		}
		for _, d := range e.Defects {
			if !known[d.Class] {
				out = append(out, Problem{File: where, Msg: fmt.Sprintf("defect %d: unknown class %q", d.ID, d.Class), Err: ErrUnknownClass})
			}
			if len(d.Polygon) < 3 {
				add(where, "defect %d: polygon has %d points, want at least 3", d.ID, len(d.Polygon))
			}
		}
		if len(e.Defects) > 0 && e.Split != Test {
			add(where, "defects in the %s split", e.Split)
		}
		cat := category(e.Defects)
		if imageLabel && e.Split == Test && len(e.Defects) == 0 {
			cat = e.Category
		}
		file, mask, twin, lm := layoutOf(e.Split, e.Name, cat, imageLabel)
		if e.File != file || e.Mask != mask || e.LabelMe != lm || (e.Twin != "" && e.Twin != twin) ||
			e.Category != cat {
			add(where, "paths or category do not follow the layout (want %s, mask %q, twin %q)", file, mask, twin)
		}
		if m.TwinsComplete && (mask != "" || imageLabel) && e.Twin == "" {
			add(where, "defective test image without a twin while twins_complete is true")
		}
	}
	for p := range m.Files {
		if err := checkRel(p); err != nil {
			out = append(out, Problem{File: ManifestFile + " (files)", Msg: err.Error(), Err: ErrUnsafePath})
		}
	}
	return out
}

// Items lists the images of a split in manifest order.
func (d *Dataset) Items(split Split) []Item {
	var out []Item
	for _, e := range d.Manifest.Images {
		if e.Split != split {
			continue
		}
		it := Item{Split: e.Split, Name: e.Name, Image: d.abs(e.File), Mask: d.abs(e.Mask), Twin: d.abs(e.Twin),
			Defects: e.Defects, Width: e.Width, Height: e.Height, ImageLabel: e.Labels == LabelsImage}
		if e.Category != Good {
			it.Class = Class(e.Category)
		}
		out = append(out, it)
	}
	return out
}

func (d *Dataset) abs(rel string) string {
	if rel == "" {
		return ""
	}
	return filepath.Join(d.Dir, filepath.FromSlash(rel))
}

// LoadMask reads the mask of an item: 255 on defect pixels, 0 elsewhere. A good item gets an
// all-zero mask of its size; an image-level label has none (ErrNoMask).
func (d *Dataset) LoadMask(it Item) (*image.Gray, error) {
	if it.ImageLabel {
		return nil, fmt.Errorf("mask of %s: %w", it.Name, ErrNoMask)
	}
	if it.Mask == "" {
		return image.NewGray(image.Rect(0, 0, it.Width, it.Height)), nil
	}
	img, err := decodePNG(it.Mask)
	if err != nil {
		return nil, err
	}
	g := toGray(img)
	if g.Bounds().Dx() != it.Width || g.Bounds().Dy() != it.Height {
		return nil, fmt.Errorf("mask %s is %dx%d, image is %dx%d", it.Mask, g.Bounds().Dx(), g.Bounds().Dy(), it.Width, it.Height)
	}
	return g, nil
}

// decodePNG reads a PNG file.
func decodePNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// toGray returns img as a *image.Gray with bounds at the origin.
func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
	return g
}
