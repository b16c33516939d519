// Package sipcba reads, writes, validates and imports datasets in the SIPCBA format
// (docs/sipcba-format.md): normal-only training images, a test split whose defective images
// each have a defect-free twin, an independent defect-free split for counting false positives,
// pixel-precise polygons per defect, binary masks, LabelMe and COCO annotations and a
// dataset.json manifest with the sha256 of every file. The folder layout is MVTec-AD style so
// anomaly-detection toolkits read it unchanged.
package sipcba

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/hisirdesk/hisir/engine/geom"
)

// FormatVersion is the version of docs/sipcba-format.md this package writes and reads.
const FormatVersion = 1

// ManifestFile is the name of the manifest at the dataset root.
const ManifestFile = "dataset.json"

// Class names a kind of defect.
type Class string

// The five built-in classes, always present in every manifest with ids 1..5.
const (
	MissingComponent Class = "missing_component"
	SolderBridge     Class = "solder_bridge"
	ForeignObject    Class = "foreign_object_debris"
	ExtraComponent   Class = "extra_component"
	Misalignment     Class = "misalignment"
)

// Defective is the folder (and Item.Class) of a test image whose defects have more than one
// class; it is not a defect class.
const Defective Class = "defective"

// Good is the folder of defect-free images; it is not a defect class.
const Good = "good"

// BuiltinClasses lists the built-in classes in id order (id = index + 1).
var BuiltinClasses = []Class{MissingComponent, SolderBridge, ForeignObject, ExtraComponent, Misalignment}

var classRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Check reports whether c is a well-formed class name that is not reserved.
func (c Class) Check() error {
	if !classRE.MatchString(string(c)) {
		return fmt.Errorf("class %q: want lowercase letters, digits and '_', starting with a letter, at most 64", c)
	}
	if c == Defective || c == Good {
		return fmt.Errorf("class %q is reserved for folder names", c)
	}
	return nil
}

// Builtin reports whether c is one of the five built-in classes.
func (c Class) Builtin() bool {
	for _, b := range BuiltinClasses {
		if c == b {
			return true
		}
	}
	return false
}

// Defect is one defect of an image. Several polygons with the same ID form one defect.
type Defect struct {
	ID      int          `json:"id"`
	Class   Class        `json:"class"`
	Polygon geom.Polygon `json:"polygon"`
}

// Split is a part of a dataset.
type Split string

// The three splits.
const (
	Train      Split = "train"
	Test       Split = "test"
	DefectFree Split = "defect_free"
)

// Splits lists the splits in manifest order.
var Splits = []Split{Train, Test, DefectFree}

func (s Split) valid() bool { return s == Train || s == Test || s == DefectFree }

// ClassInfo is one class of a manifest.
type ClassInfo struct {
	ID     int   `json:"id"`
	Name   Class `json:"name"`
	Custom bool  `json:"custom"`
}

// Counts summarises a dataset.
type Counts struct {
	Train         int           `json:"train"`
	TestGood      int           `json:"test_good"`
	TestDefective int           `json:"test_defective"`
	DefectFree    int           `json:"defect_free"`
	Twins         int           `json:"twins"`
	Defects       int           `json:"defects"`
	PerClass      map[Class]int `json:"per_class"`
	ImageLabels   int           `json:"image_labels,omitempty"` // defective test images labelled only at image level
}

// ImageSize counts the images of one size.
type ImageSize struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	Count  int `json:"count"`
}

// Entry is one image of a manifest. Paths are relative to the dataset root, with '/'.
type Entry struct {
	Split    Split    `json:"split"`
	Name     string   `json:"name"`
	Category string   `json:"category"` // "good", a class name or "defective"
	File     string   `json:"file"`
	Mask     string   `json:"mask,omitempty"`
	Twin     string   `json:"twin,omitempty"`
	LabelMe  string   `json:"labelme"`
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Defects  []Defect `json:"defects,omitempty"`
	// Labels is LabelsImage for an anomalous test image labelled only at image level (its
	// Category is its class; it has no mask and no defects); "" (omitted) otherwise.
	Labels string `json:"labels,omitempty"`
}

// LabelsImage is Entry.Labels of an anomalous test image without a mask or polygons: the source
// only says that the image is anomalous (and of which class).
const LabelsImage = "image"

// Manifest is the content of dataset.json.
type Manifest struct {
	FormatVersion int               `json:"format_version"`
	Name          string            `json:"name"`
	Provenance    string            `json:"provenance"`
	Created       time.Time         `json:"created"`
	Classes       []ClassInfo       `json:"classes"`
	TwinsComplete bool              `json:"twins_complete"`
	Counts        Counts            `json:"counts"`
	ImageSizes    []ImageSize       `json:"image_sizes"`
	Images        []Entry           `json:"images"`
	Files         map[string]string `json:"files"` // path → lowercase hex sha256, every file but dataset.json
}

// ClassID returns the id of c in m, or 0.
func (m *Manifest) ClassID(c Class) int {
	for _, ci := range m.Classes {
		if ci.Name == c {
			return ci.ID
		}
	}
	return 0
}

// Sentinel errors, checked with errors.Is.
var (
	ErrExists       = errors.New("dataset folder already exists")
	ErrNotDataset   = errors.New("not a sipcba dataset")
	ErrVersion      = errors.New("unsupported sipcba format version")
	ErrInvalid      = errors.New("invalid sample")
	ErrUnsafePath   = errors.New("path escapes its root")
	ErrUnknownClass = errors.New("unknown class")
	ErrClosed       = errors.New("dataset writer already committed or aborted")
	ErrNoMask       = errors.New("image is labelled only at image level: it has no mask")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// checkName reports whether a file stem is acceptable.
func checkName(n string) error {
	if !nameRE.MatchString(n) || strings.HasSuffix(n, "_mask") {
		return fmt.Errorf("%w: name %q: want letters, digits, '.', '_', '-', at most 200, not ending in _mask", ErrInvalid, n)
	}
	return nil
}

// checkRel reports whether p is a clean relative slash path that stays below its root.
func checkRel(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p ||
		p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") ||
		(len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("%w: %q", ErrUnsafePath, p)
	}
	return nil
}

// category is the folder of a test image holding defects.
func category(defects []Defect) string {
	if len(defects) == 0 {
		return Good
	}
	c := defects[0].Class
	for _, d := range defects[1:] {
		if d.Class != c {
			return string(Defective)
		}
	}
	return string(c)
}

// layout returns the relative image, mask and twin paths of a sample.
func layout(split Split, name string, defects []Defect) (file, mask, twin, labelme string) {
	return layoutOf(split, name, category(defects), false)
}

// layoutOf returns the relative image, mask and twin paths of an image of category cat (the
// folder of a test image); an image-level label (imageLabel) has no mask.
func layoutOf(split Split, name, cat string, imageLabel bool) (file, mask, twin, labelme string) {
	labelme = "annotations/labelme/" + string(split) + "/" + name + ".json"
	switch split {
	case DefectFree:
		return "defect_free/" + name + ".png", "", "", labelme
	case Train:
		return "train/good/" + name + ".png", "", "", labelme
	}
	if cat == Good {
		return "test/good/" + name + ".png", "", "", labelme
	}
	if imageLabel {
		return "test/" + cat + "/" + name + ".png", "", "twins/" + name + ".png", labelme
	}
	return "test/" + cat + "/" + name + ".png", "ground_truth/" + cat + "/" + name + "_mask.png", "twins/" + name + ".png", labelme
}
