package sipcba

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // source images
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	_ "golang.org/x/image/bmp" // source images
	_ "golang.org/x/image/tiff"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// ImportOptions tune an import.
type ImportOptions struct {
	Name       string // dataset name; default: the output folder's name
	Provenance string // added to the manifest's provenance
	// Select, when set, keeps only the samples whose dataset name it accepts.
	Select func(name string) bool
	// Limit, when > 0, keeps only the first Limit samples (after Select), in source order.
	Limit int
	// Progress, when set, is called after each sample (from several goroutines, serialised).
	Progress func(done, total int, name string)
	// Context, when set, stops the import (nothing is written) once it is done.
	Context context.Context
	// Workers is the number of images decoded and encoded at once; default GOMAXPROCS.
	Workers int
	// ImageLabels lets MVTec and VisA imports keep an anomalous test image whose source has no
	// mask as an image-level label (Sample.ImageClass); without it a missing mask is an error.
	ImageLabels bool
}

// job produces one sample.
type job struct {
	name string
	load func() (Sample, error)
}

// ErrSource reports a source folder or file that cannot be imported.
var ErrSource = errors.New("cannot import source")

// build writes the samples of jobs into a new dataset at out, all or nothing.
func build(out string, info Info, jobs []job, opt ImportOptions) (*Dataset, error) {
	if opt.Select != nil {
		kept := jobs[:0]
		for _, j := range jobs {
			if opt.Select(j.name) {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	if opt.Limit > 0 && len(jobs) > opt.Limit {
		jobs = jobs[:opt.Limit]
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%w: no images found", ErrSource)
	}
	if opt.Name != "" {
		info.Name = opt.Name
	}
	if opt.Provenance != "" {
		info.Provenance += "; " + opt.Provenance
	}
	w, err := Create(out, info)
	if err != nil {
		return nil, err
	}
	first := Parallel(opt.Context, len(jobs), opt.Workers, func(i int) error {
		s, err := jobs[i].load()
		if err == nil {
			err = w.Add(s)
		}
		return err
	}, func(done, i int) {
		if opt.Progress != nil {
			opt.Progress(done, len(jobs), jobs[i].name)
		}
	})
	if first != nil {
		w.Abort()
		return nil, first
	}
	if err := w.Commit(); err != nil {
		return nil, err
	}
	return Open(out)
}

// loadImage decodes a PNG, JPEG, BMP or TIFF file, upright by its EXIF orientation.
func loadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	defer f.Close()
	img, _, err := engine.DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("decode image %s: %w", path, err)
	}
	return img, nil
}

// binary returns the non-zero pixels of img as a 0/255 byte slice.
func binary(img image.Image) *image.Gray {
	g := toGray(img)
	out := image.NewGray(g.Rect)
	for i, v := range g.Pix {
		if v != 0 {
			out.Pix[i] = 255
		}
	}
	return out
}

// safeJoin resolves rel (from an annotation file) against base and refuses results outside root.
func safeJoin(root, base, rel string) (string, error) {
	r := strings.ReplaceAll(rel, "\\", "/")
	if r == "" || strings.HasPrefix(r, "/") || (len(r) > 1 && r[1] == ':') || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: absolute or empty path %q", ErrUnsafePath, rel)
	}
	full := filepath.Join(base, filepath.FromSlash(r))
	back, err := filepath.Rel(root, full)
	if err != nil || back == ".." || strings.HasPrefix(back, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %q leaves %s", ErrUnsafePath, rel, root)
	}
	return full, nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// sanitizeClass turns a source label into a class name.
func sanitizeClass(s string) Class {
	c := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), "_"), "_")
	if c == "" || c[0] < 'a' || c[0] > 'z' {
		c = "c_" + c
	}
	if len(c) > 64 {
		c = c[:64]
	}
	if c == Good || c == string(Defective) {
		c = "c_" + c
	}
	return Class(c)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitizeName turns parts of a source path into a sample name.
func sanitizeName(parts ...string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(strings.Join(parts, "_"), "_"), "._-")
	if n == "" {
		n = "x"
	}
	if len(n) > 190 {
		n = n[:190]
	}
	if strings.HasSuffix(n, "_mask") {
		n += "_"
	}
	return n
}

func stem(p string) string { return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)) }

var imageExt = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".bmp": true, ".tif": true, ".tiff": true}

// listImages returns the image files directly inside dir, sorted.
func listImages(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && imageExt[strings.ToLower(filepath.Ext(e.Name()))] {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// classesOf lists the custom classes of a set, sorted.
func classesOf(set map[Class]bool) []Class {
	var out []Class
	for c := range set {
		if !c.Builtin() {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// maskDefects turns a 0/255 mask into one defect per 8-connected region.
func maskDefects(mask *image.Gray, class Class) []Defect {
	b := mask.Bounds()
	polys, _ := Components(mask.Pix, b.Dx(), b.Dy(), 1)
	out := make([]Defect, len(polys))
	for i, p := range polys {
		out[i] = Defect{ID: i + 1, Class: class, Polygon: p}
	}
	return out
}

// maskedSample is a defective test sample whose defects come from a mask file.
func maskedSample(name, imgPath, maskPath string, class Class) (Sample, error) {
	img, err := loadImage(imgPath)
	if err != nil {
		return Sample{}, err
	}
	m, err := loadImage(maskPath)
	if err != nil {
		return Sample{}, fmt.Errorf("mask: %w", err)
	}
	if m.Bounds().Size() != img.Bounds().Size() {
		return Sample{}, fmt.Errorf("mask %s is %v, image %s is %v", maskPath, m.Bounds().Size(), imgPath, img.Bounds().Size())
	}
	mask := binary(m)
	defects := maskDefects(mask, class)
	if len(defects) == 0 {
		return Sample{}, fmt.Errorf("mask %s of anomalous image %s is empty", maskPath, imgPath)
	}
	return Sample{Split: Test, Name: name, Image: img, Defects: defects, Mask: mask}, nil
}

// imageLabelSample is an anomalous test image without a mask: an image-level label.
func imageLabelSample(name, path string, class Class) job {
	return job{name: name, load: func() (Sample, error) {
		img, err := loadImage(path)
		return Sample{Split: Test, Name: name, Image: img, ImageClass: class}, err
	}}
}

func goodSample(split Split, name, path string) job {
	return job{name: name, load: func() (Sample, error) {
		img, err := loadImage(path)
		return Sample{Split: split, Name: name, Image: img}, err
	}}
}

// ImportMVTec imports an MVTec-AD category folder (train/good, test/<type>, ground_truth/<type>).
func ImportMVTec(src, out string, opt ImportOptions) (*Dataset, error) {
	var jobs []job
	classes := map[Class]bool{}
	train, err := listImages(filepath.Join(src, "train", "good"))
	if err != nil {
		return nil, fmt.Errorf("import mvtec %s: %w (want one MVTec-AD category folder, e.g. bottle/, holding train/good and test)", src, err)
	}
	for _, p := range train {
		jobs = append(jobs, goodSample(Train, sanitizeName("train", stem(p)), p))
	}
	types, err := os.ReadDir(filepath.Join(src, "test"))
	if err != nil {
		return nil, fmt.Errorf("import mvtec %s: %w: %v", src, ErrSource, err)
	}
	for _, t := range types {
		if !t.IsDir() {
			continue
		}
		imgs, err := listImages(filepath.Join(src, "test", t.Name()))
		if err != nil {
			return nil, fmt.Errorf("import mvtec %s: %w", src, err)
		}
		for _, p := range imgs {
			name := sanitizeName(t.Name(), stem(p))
			if t.Name() == Good {
				jobs = append(jobs, goodSample(Test, name, p))
				continue
			}
			class := sanitizeClass(t.Name())
			classes[class] = true
			maskPath := filepath.Join(src, "ground_truth", t.Name(), stem(p)+"_mask.png")
			if _, err := os.Stat(maskPath); err != nil {
				if opt.ImageLabels && errors.Is(err, os.ErrNotExist) {
					jobs = append(jobs, imageLabelSample(name, p, class))
					continue
				}
				return nil, fmt.Errorf("import mvtec %s: %w: no mask %s for %s (with image labels only, import with --image-labels)", src, ErrSource, maskPath, p)
			}
			jobs = append(jobs, job{name: name, load: func() (Sample, error) {
				return maskedSample(name, p, maskPath, class)
			}})
		}
	}
	d, err := build(out, Info{Provenance: "imported from MVTec-AD folder " + src, Classes: classesOf(classes), TwinsOptional: true}, jobs, opt)
	if err != nil {
		return nil, fmt.Errorf("import mvtec %s: %w", src, err)
	}
	return d, nil
}

// ImportVisA imports VisA through its split CSV (object,split,label,image,mask; paths relative
// to src). src is the VisA root (holding split_csv/1cls.csv or a single *.csv) or the CSV file.
func ImportVisA(src, out string, opt ImportOptions) (*Dataset, error) {
	csvPath, root := src, filepath.Dir(src)
	if st, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("import visa %s: %w: %v", src, ErrSource, err)
	} else if st.IsDir() {
		root = src
		csvPath = filepath.Join(src, "split_csv", "1cls.csv")
		if _, err := os.Stat(csvPath); err != nil {
			found, _ := filepath.Glob(filepath.Join(src, "*.csv"))
			if len(found) != 1 {
				return nil, fmt.Errorf("import visa %s: %w: no split_csv/1cls.csv and %d *.csv files", src, ErrSource, len(found))
			}
			csvPath = found[0]
		}
	}
	f, err := os.Open(csvPath)
	if err != nil {
		return nil, fmt.Errorf("import visa: %w: %v", ErrSource, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("import visa: %w: %s: bad CSV: %v", ErrSource, csvPath, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, h := range []string{"object", "split", "label", "image", "mask"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("import visa: %w: %s: no %q column (want object,split,label,image,mask)", ErrSource, csvPath, h)
		}
	}
	const anomaly Class = "anomaly"
	var jobs []job
	for i, r := range rows[1:] {
		line := i + 2
		get := func(h string) string {
			if col[h] < len(r) {
				return strings.TrimSpace(r[col[h]])
			}
			return ""
		}
		imgPath, err := safeJoin(root, root, get("image"))
		if err != nil {
			return nil, fmt.Errorf("import visa: %s line %d: image: %w", csvPath, line, err)
		}
		name := sanitizeName(get("object"), strings.ToLower(get("label")), stem(imgPath))
		label := strings.ToLower(get("label"))
		split := Train
		switch strings.ToLower(get("split")) {
		case "train":
		case "test":
			split = Test
		default:
			return nil, fmt.Errorf("import visa: %w: %s line %d: split %q, want train or test", ErrSource, csvPath, line, get("split"))
		}
		switch label {
		case "normal":
			jobs = append(jobs, goodSample(split, name, imgPath))
		case "anomaly":
			if get("mask") == "" {
				if !opt.ImageLabels {
					return nil, fmt.Errorf("import visa: %w: %s line %d: anomaly without a mask (with image labels only, import with --image-labels)", ErrSource, csvPath, line)
				}
				jobs = append(jobs, imageLabelSample(name, imgPath, anomaly))
				continue
			}
			maskPath, err := safeJoin(root, root, get("mask"))
			if err != nil {
				return nil, fmt.Errorf("import visa: %s line %d: mask: %w", csvPath, line, err)
			}
			jobs = append(jobs, job{name: name, load: func() (Sample, error) {
				return maskedSample(name, imgPath, maskPath, anomaly)
			}})
		default:
			return nil, fmt.Errorf("import visa: %w: %s line %d: label %q, want normal or anomaly", ErrSource, csvPath, line, label)
		}
	}
	d, err := build(out, Info{Provenance: "imported from VisA " + csvPath, Classes: []Class{anomaly}, TwinsOptional: true}, jobs, opt)
	if err != nil {
		return nil, fmt.Errorf("import visa %s: %w", src, err)
	}
	return d, nil
}

// labelMeIn is a LabelMe file as read (points of any shape).
type labelMeIn struct {
	Shapes []struct {
		Label     string      `json:"label"`
		Points    [][]float64 `json:"points"`
		GroupID   *int        `json:"group_id"`
		ShapeType string      `json:"shape_type"`
	} `json:"shapes"`
	ImagePath string  `json:"imagePath"`
	ImageData *string `json:"imageData"`
}

// ImportLabelMe imports every LabelMe *.json under src: polygons and rectangles become defects
// (shapes sharing a group_id form one defect); images without shapes are good test images.
func ImportLabelMe(src, out string, opt ImportOptions) (*Dataset, error) {
	var files []string
	err := filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.Type().IsRegular() && strings.EqualFold(filepath.Ext(p), ".json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import labelme %s: %w: %v", src, ErrSource, err)
	}
	classes := map[Class]bool{}
	var jobs []job
	for _, jf := range files {
		raw, err := os.ReadFile(jf)
		if err != nil {
			return nil, fmt.Errorf("import labelme: %w", err)
		}
		var lm labelMeIn
		if err := decodeStrict(raw, &lm); err != nil {
			return nil, fmt.Errorf("import labelme: %w: %s: broken JSON: %v", ErrSource, jf, err)
		}
		var keys map[string]json.RawMessage
		if json.Unmarshal(raw, &keys) == nil && keys["shapes"] == nil && keys["imagePath"] == nil {
			continue // another JSON file (a manifest, a COCO file): not LabelMe
		}
		defects, err := labelMeDefects(&lm)
		if err != nil {
			return nil, fmt.Errorf("import labelme: %w: %s: %v", ErrSource, jf, err)
		}
		for _, d := range defects {
			classes[d.Class] = true
		}
		var load func() (image.Image, error)
		switch {
		case lm.ImagePath != "":
			p, err := safeJoin(src, filepath.Dir(jf), lm.ImagePath)
			if err != nil {
				return nil, fmt.Errorf("import labelme: %s: imagePath: %w", jf, err)
			}
			load = func() (image.Image, error) { return loadImage(p) }
		case lm.ImageData != nil:
			data := *lm.ImageData
			load = func() (image.Image, error) {
				raw, err := base64.StdEncoding.DecodeString(data)
				if err != nil {
					return nil, fmt.Errorf("%s: imageData: %w", jf, err)
				}
				img, _, err := engine.DecodeImage(bytes.NewReader(raw))
				if err != nil {
					return nil, fmt.Errorf("%s: imageData: %w", jf, err)
				}
				return img, nil
			}
		default:
			return nil, fmt.Errorf("import labelme: %w: %s: neither imagePath nor imageData", ErrSource, jf)
		}
		rel, _ := filepath.Rel(src, jf)
		name := sanitizeName(strings.TrimSuffix(filepath.ToSlash(rel), filepath.Ext(rel)))
		// Good images in a folder named train or defect_free (as in a SIPCBA dataset's
		// annotations/labelme/<split>/) keep that split.
		split := Test
		if len(defects) == 0 {
			switch Split(filepath.Base(filepath.Dir(jf))) {
			case Train:
				split, name = Train, sanitizeName(stem(jf))
			case DefectFree:
				split, name = DefectFree, sanitizeName(stem(jf))
			}
		}
		if split == Test && filepath.Base(filepath.Dir(jf)) == string(Test) {
			name = sanitizeName(stem(jf))
		}
		jobs = append(jobs, job{name: name, load: func() (Sample, error) {
			img, err := load()
			if err != nil {
				return Sample{}, err
			}
			return Sample{Split: split, Name: name, Image: img, Defects: defects}, nil
		}})
	}
	d, err := build(out, Info{Provenance: "imported from LabelMe folder " + src, Classes: classesOf(classes), TwinsOptional: true}, jobs, opt)
	if err != nil {
		return nil, fmt.Errorf("import labelme %s: %w", src, err)
	}
	return d, nil
}

func labelMeDefects(lm *labelMeIn) ([]Defect, error) {
	var out []Defect
	ids := map[int]int{} // group_id → defect id
	nextID := 0
	idClass := map[int]Class{}
	for i, s := range lm.Shapes {
		var poly geom.Polygon
		switch s.ShapeType {
		case "polygon", "":
			for _, p := range s.Points {
				if len(p) != 2 {
					return nil, fmt.Errorf("shapes[%d]: point with %d coordinates", i, len(p))
				}
				poly = append(poly, geom.Point{X: p[0], Y: p[1]})
			}
		case "rectangle":
			if len(s.Points) != 2 || len(s.Points[0]) != 2 || len(s.Points[1]) != 2 {
				return nil, fmt.Errorf("shapes[%d]: rectangle needs 2 points", i)
			}
			a, b := s.Points[0], s.Points[1]
			poly = geom.Polygon{{X: a[0], Y: a[1]}, {X: b[0], Y: a[1]}, {X: b[0], Y: b[1]}, {X: a[0], Y: b[1]}}
		default:
			return nil, fmt.Errorf("shapes[%d]: shape_type %q not supported (polygon, rectangle)", i, s.ShapeType)
		}
		if len(poly) < 3 {
			return nil, fmt.Errorf("shapes[%d]: polygon with %d points", i, len(poly))
		}
		class := sanitizeClass(s.Label)
		id, grouped := 0, false
		if s.GroupID != nil {
			id, grouped = ids[*s.GroupID]
		}
		if !grouped {
			nextID++
			id = nextID
			if s.GroupID != nil {
				ids[*s.GroupID] = id
			}
		}
		if c, ok := idClass[id]; ok && c != class {
			return nil, fmt.Errorf("shapes[%d]: group_id %d mixes labels %q and %q", i, *s.GroupID, c, class)
		}
		idClass[id] = class
		out = append(out, Defect{ID: id, Class: class, Polygon: poly})
	}
	return out, nil
}

// cocoIn is a COCO file as read.
type cocoIn struct {
	Images []struct {
		ID       int    `json:"id"`
		FileName string `json:"file_name"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
	} `json:"images"`
	Annotations []struct {
		ID           int             `json:"id"`
		ImageID      int             `json:"image_id"`
		CategoryID   int             `json:"category_id"`
		Segmentation json.RawMessage `json:"segmentation"`
	} `json:"annotations"`
	Categories []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"categories"`
}

// ImportCOCO imports a COCO instance-segmentation JSON file; image file names are relative to
// its folder (or its images/ subfolder). Each annotation is one defect; images without
// annotations are good test images.
func ImportCOCO(src, out string, opt ImportOptions) (*Dataset, error) {
	raw, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("import coco: %w: %v", ErrSource, err)
	}
	var c cocoIn
	if err := decodeStrict(raw, &c); err != nil {
		return nil, fmt.Errorf("import coco: %w: %s: broken JSON: %v", ErrSource, src, err)
	}
	root := filepath.Dir(src)
	cats := map[int]Class{}
	classes := map[Class]bool{}
	for _, k := range c.Categories {
		cats[k.ID] = sanitizeClass(k.Name)
		classes[cats[k.ID]] = true
	}
	defects := map[int][]Defect{}
	for i, a := range c.Annotations {
		class, ok := cats[a.CategoryID]
		if !ok {
			return nil, fmt.Errorf("import coco: %w: %s: annotations[%d]: unknown category_id %d", ErrSource, src, i, a.CategoryID)
		}
		var polys [][]float64
		if err := json.Unmarshal(a.Segmentation, &polys); err != nil {
			return nil, fmt.Errorf("import coco: %w: %s: annotations[%d]: segmentation is not a polygon list (RLE is not supported)", ErrSource, src, i)
		}
		id := len(dedupeIDs(defects[a.ImageID])) + 1
		for _, p := range polys {
			if len(p) < 6 || len(p)%2 != 0 {
				return nil, fmt.Errorf("import coco: %w: %s: annotations[%d]: polygon with %d coordinates", ErrSource, src, i, len(p))
			}
			defects[a.ImageID] = append(defects[a.ImageID], Defect{ID: id, Class: class, Polygon: polygonFromFlat(p)})
		}
	}
	var jobs []job
	for i, im := range c.Images {
		p, err := safeJoin(root, root, im.FileName)
		if err != nil {
			return nil, fmt.Errorf("import coco: %s: images[%d]: %w", src, i, err)
		}
		if _, err := os.Stat(p); err != nil {
			if alt, err2 := safeJoin(root, filepath.Join(root, "images"), im.FileName); err2 == nil {
				if _, err3 := os.Stat(alt); err3 == nil {
					p = alt
				}
			}
		}
		name := sanitizeName(stem(im.FileName))
		ds := defects[im.ID]
		want := image.Pt(im.Width, im.Height)
		jobs = append(jobs, job{name: name, load: func() (Sample, error) {
			img, err := loadImage(p)
			if err != nil {
				return Sample{}, err
			}
			if (want != image.Point{}) && img.Bounds().Size() != want {
				return Sample{}, fmt.Errorf("%s: image %s is %v, the COCO file says %v", src, p, img.Bounds().Size(), want)
			}
			return Sample{Split: Test, Name: name, Image: img, Defects: ds}, nil
		}})
	}
	d, err := build(out, Info{Provenance: "imported from COCO file " + src, Classes: classesOf(classes), TwinsOptional: true}, jobs, opt)
	if err != nil {
		return nil, fmt.Errorf("import coco %s: %w", src, err)
	}
	return d, nil
}

func dedupeIDs(ds []Defect) map[int]bool {
	m := map[int]bool{}
	for _, d := range ds {
		m[d.ID] = true
	}
	return m
}
