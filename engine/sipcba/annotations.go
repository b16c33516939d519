package sipcba

import (
	"math"
	"strings"

	"github.com/hisirdesk/hisir/engine/geom"
)

// labelMeShape is one shape of a LabelMe file.
type labelMeShape struct {
	Label       string          `json:"label"`
	Points      [][2]float64    `json:"points"`
	GroupID     *int            `json:"group_id"`
	ShapeType   string          `json:"shape_type"`
	Flags       map[string]bool `json:"flags"`
	Description string          `json:"description"`
}

// labelMeFile is a LabelMe annotation file (version 5 layout).
type labelMeFile struct {
	Version     string          `json:"version"`
	Flags       map[string]bool `json:"flags"`
	Shapes      []labelMeShape  `json:"shapes"`
	ImagePath   string          `json:"imagePath"`
	ImageData   *string         `json:"imageData"`
	ImageHeight int             `json:"imageHeight"`
	ImageWidth  int             `json:"imageWidth"`
}

// labelMeDoc is the LabelMe file of an entry stored at rel.
func labelMeDoc(e Entry, rel string) labelMeFile {
	up := strings.Repeat("../", strings.Count(rel, "/"))
	f := labelMeFile{Version: "5.2.1", Flags: map[string]bool{}, Shapes: []labelMeShape{},
		ImagePath: up + e.File, ImageHeight: e.Height, ImageWidth: e.Width}
	for _, d := range e.Defects {
		id := d.ID
		s := labelMeShape{Label: string(d.Class), GroupID: &id, ShapeType: "polygon", Flags: map[string]bool{}}
		for _, p := range d.Polygon {
			s.Points = append(s.Points, [2]float64{p.X, p.Y})
		}
		f.Shapes = append(f.Shapes, s)
	}
	return f
}

// cocoImage, cocoAnnotation, cocoCategory and cocoFile are COCO instance segmentation.
type cocoImage struct {
	ID       int    `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type cocoAnnotation struct {
	ID           int         `json:"id"`
	ImageID      int         `json:"image_id"`
	CategoryID   int         `json:"category_id"`
	Segmentation [][]float64 `json:"segmentation"`
	Area         float64     `json:"area"`
	BBox         [4]float64  `json:"bbox"`
	IsCrowd      int         `json:"iscrowd"`
	DefectID     int         `json:"defect_id"`
}

type cocoCategory struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory"`
}

type cocoFile struct {
	Info        map[string]any   `json:"info"`
	Images      []cocoImage      `json:"images"`
	Annotations []cocoAnnotation `json:"annotations"`
	Categories  []cocoCategory   `json:"categories"`
}

// cocoDoc is the COCO file of one split: one annotation per defect id, with one segmentation
// polygon per Defect sharing that id. file_name is relative to the dataset root.
func cocoDoc(m *Manifest, split Split) cocoFile {
	f := cocoFile{Info: map[string]any{"description": m.Name + " " + string(split), "version": FormatVersion},
		Images: []cocoImage{}, Annotations: []cocoAnnotation{}}
	for _, c := range m.Classes {
		f.Categories = append(f.Categories, cocoCategory{ID: c.ID, Name: string(c.Name), Supercategory: "defect"})
	}
	for _, e := range m.Images {
		if e.Split != split {
			continue
		}
		img := cocoImage{ID: len(f.Images) + 1, FileName: e.File, Width: e.Width, Height: e.Height}
		f.Images = append(f.Images, img)
		byID := map[int]int{} // defect id → index in f.Annotations
		for _, d := range e.Defects {
			seg := make([]float64, 0, 2*len(d.Polygon))
			for _, p := range d.Polygon {
				seg = append(seg, p.X, p.Y)
			}
			i, ok := byID[d.ID]
			if !ok {
				i = len(f.Annotations)
				byID[d.ID] = i
				f.Annotations = append(f.Annotations, cocoAnnotation{ID: i + 1, ImageID: img.ID,
					CategoryID: m.ClassID(d.Class), DefectID: d.ID,
					BBox: [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}})
			}
			a := &f.Annotations[i]
			a.Segmentation = append(a.Segmentation, seg)
			a.Area += d.Polygon.Area()
			for _, p := range d.Polygon {
				a.BBox[0], a.BBox[1] = math.Min(a.BBox[0], p.X), math.Min(a.BBox[1], p.Y)
				a.BBox[2], a.BBox[3] = math.Max(a.BBox[2], p.X), math.Max(a.BBox[3], p.Y)
			}
		}
	}
	for i := range f.Annotations {
		b := &f.Annotations[i].BBox
		b[2], b[3] = b[2]-b[0], b[3]-b[1]
	}
	return f
}

// polygonFromFlat turns a COCO flat list into a polygon.
func polygonFromFlat(v []float64) geom.Polygon {
	p := make(geom.Polygon, 0, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		p = append(p, geom.Point{X: v[i], Y: v[i+1]})
	}
	return p
}
