package ui

import (
	"context"
	"hash/fnv"
	"image"
	"image/color"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Decision is an inspector's verdict on a detected defect.
type Decision int

// Decisions. Accepted means a real defect, Rejected a false alarm.
const (
	Pending Decision = iota
	Accepted
	Rejected
)

func (d Decision) String() string {
	switch d {
	case Accepted:
		return "accepted"
	case Rejected:
		return "rejected"
	}
	return "pending"
}

// Defect is one thresholded detection as the UI shows it.
type Defect struct {
	ID       int64
	Box      geom.Rect
	Outline  geom.Polygon
	Area     int
	Peak     float64 // highest calibrated score inside
	Mean     float64
	Class    string // "" until classified
	Decision Decision
}

// Label is a human annotation: a polygon with a class.
type Label struct {
	ID      int64 // store id; 0 until saved
	Key     int64 // the editor's identity of this label, kept through undo and redo
	Class   string
	Polygon geom.Polygon
}

// Classes are the five SIPCBA defect classes; projects may add custom ones.
var Classes = []string{"missing_component", "solder_bridge", "foreign_object_debris", "extra_component", "misalignment"}

var classColors = map[string]color.RGBA{
	"missing_component":     {0, 200, 255, 255},
	"solder_bridge":         {255, 120, 0, 255},
	"foreign_object_debris": {190, 90, 255, 255},
	"extra_component":       {60, 230, 90, 255},
	"misalignment":          {255, 80, 200, 255},
}

// ClassColor is the outline colour of a class; custom classes get a stable hashed colour.
func ClassColor(class string) color.RGBA {
	if c, ok := classColors[class]; ok {
		return c
	}
	h := fnv.New32a()
	h.Write([]byte(class))
	s := h.Sum32()
	return color.RGBA{uint8(96 + s%160), uint8(96 + (s>>8)%160), uint8(96 + (s>>16)%160), 255}
}

// Reviewer records review decisions; every call is saved at once.
type Reviewer interface {
	// SetReview stores the decision and class of a defect.
	SetReview(defectID int64, d Decision, class string) error
}

// LabelSaver stores the labels of the image being edited: the whole set, replacing the
// old one. Labels are identified by Key (a label undone back into existence keeps its Key).
type LabelSaver interface {
	SaveLabels(labels []Label) error
}

// ImageStatus is where an image of a project stands.
type ImageStatus int

// Image statuses.
const (
	NotRun ImageStatus = iota
	Flagged
	Reviewed
	Clean
)

// Statuses lists the status names in ImageStatus order.
var Statuses = []string{"not run", "flagged", "reviewed", "clean"}

func (s ImageStatus) String() string {
	if s >= 0 && int(s) < len(Statuses) {
		return Statuses[s]
	}
	return "unknown"
}

// ImageItem is one image of a project as the project screen lists it.
type ImageItem struct {
	ID      int64
	Name    string
	Status  ImageStatus
	Defects int
}

// Project lists a project's images and their thumbnails.
type Project interface {
	Images() ([]ImageItem, error)
	// Thumbnail returns a small version of the image (longest side about size pixels).
	Thumbnail(id int64, size int) (image.Image, error)
}

// BatchRunner runs the detector on images, reporting progress after each one.
type BatchRunner interface {
	RunBatch(ctx context.Context, ids []int64, progress func(done, total int)) error
}

// ExportFormats are the dataset layouts the export dialog offers.
var ExportFormats = []string{"sipcba", "mvtec", "coco", "labelme"}

// Exporter writes a project's images and labels to a folder in a dataset format.
type Exporter interface {
	Export(ctx context.Context, format, dir string) error
}
