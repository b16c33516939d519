package sipcba

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hisirdesk/hisir/engine/geom"
)

// DeepPCBClasses are the custom classes of DeepPCB defect types 1..6.
var DeepPCBClasses = []Class{"deeppcb_open", "deeppcb_short", "deeppcb_mousebite", "deeppcb_spur",
	"deeppcb_spurious_copper", "deeppcb_pin_hole"}

// ImportDeepPCB imports DeepPCB pairs (src is the folder holding PCBData, or PCBData itself).
// Pairs in the upstream trainval.txt give their template to the train split; other pairs give
// the tested image to the test split with the template as its twin; a template without a tested
// image goes to the defect-free split. Each box becomes one defect whose mask is the pixels of
// the box where the binarised tested image and template differ.
func ImportDeepPCB(src, out string, opt ImportOptions) (*Dataset, error) {
	root := src
	if st, err := os.Stat(filepath.Join(src, "PCBData")); err == nil && st.IsDir() {
		root = filepath.Join(src, "PCBData")
	}
	trainval, err := deepPCBList(filepath.Join(root, "trainval.txt"))
	if err != nil {
		return nil, fmt.Errorf("import deeppcb %s: %w", src, err)
	}
	temps, err := filepath.Glob(filepath.Join(root, "group*", "*", "*_temp.jpg"))
	if err != nil || len(temps) == 0 {
		return nil, fmt.Errorf("import deeppcb %s: %w: no group*/*/*_temp.jpg", src, ErrSource)
	}
	sort.Strings(temps)
	var jobs []job
	for _, tp := range temps {
		id := strings.TrimSuffix(filepath.Base(tp), "_temp.jpg")
		dir := filepath.Dir(tp)
		test := filepath.Join(dir, id+"_test.jpg")
		ann := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"_not", id+".txt")
		name := sanitizeName(id)
		_, terr := os.Stat(test)
		switch {
		case terr != nil:
			jobs = append(jobs, goodSample(DefectFree, name, tp))
		case trainval[id]:
			jobs = append(jobs, goodSample(Train, name, tp))
		default:
			jobs = append(jobs, job{name: name, load: func() (Sample, error) { return deepPCBPair(name, tp, test, ann) }})
		}
	}
	d, err := build(out, Info{Provenance: "imported from DeepPCB " + root + " (MIT, github.com/tangsanli5201/DeepPCB)",
		Classes: DeepPCBClasses}, jobs, opt)
	if err != nil {
		return nil, fmt.Errorf("import deeppcb %s: %w", src, err)
	}
	return d, nil
}

// deepPCBList reads the pair ids of an upstream list ("group/x/ID.jpg group/x_not/ID.txt").
func deepPCBList(path string) (map[string]bool, error) {
	ids := map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return ids, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 0 {
			ids[stem(fs[0])] = true
		}
	}
	return ids, sc.Err()
}

// deepPCBPair builds the test sample of one pair.
func deepPCBPair(name, tempPath, testPath, annPath string) (Sample, error) {
	temp, err := loadImage(tempPath)
	if err != nil {
		return Sample{}, err
	}
	test, err := loadImage(testPath)
	if err != nil {
		return Sample{}, err
	}
	tg, sg := toGray(temp), toGray(test)
	w, h := sg.Rect.Dx(), sg.Rect.Dy()
	if tg.Rect.Size() != sg.Rect.Size() {
		return Sample{}, fmt.Errorf("template %s is %v, tested image %s is %v", tempPath, tg.Rect.Size(), testPath, sg.Rect.Size())
	}
	raw, err := os.ReadFile(annPath)
	if err != nil {
		return Sample{}, fmt.Errorf("annotation of %s: %w", testPath, err)
	}
	diff := make([]uint8, w*h)
	for i := range diff {
		if (tg.Pix[i] >= 128) != (sg.Pix[i] >= 128) {
			diff[i] = 255
		}
	}
	mask := image.NewGray(image.Rect(0, 0, w, h))
	var defects []Defect
	for ln, line := range strings.Split(string(raw), "\n") {
		fs := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\r' })
		if len(fs) == 0 {
			continue
		}
		v := make([]int, 5)
		if len(fs) != 5 {
			return Sample{}, fmt.Errorf("%w: %s line %d: want x1 y1 x2 y2 type", ErrSource, annPath, ln+1)
		}
		for i, f := range fs {
			if v[i], err = strconv.Atoi(f); err != nil {
				return Sample{}, fmt.Errorf("%w: %s line %d: %v", ErrSource, annPath, ln+1, err)
			}
		}
		if v[4] < 1 || v[4] > len(DeepPCBClasses) {
			return Sample{}, fmt.Errorf("%w: %s line %d: defect type %d, want 1..6", ErrSource, annPath, ln+1, v[4])
		}
		box := geom.Rect{X0: min(v[0], v[2]), Y0: min(v[1], v[3]), X1: max(v[0], v[2]), Y1: max(v[1], v[3])}.Intersect(geom.Rect{X1: w, Y1: h})
		if box.Empty() {
			return Sample{}, fmt.Errorf("%w: %s line %d: empty box", ErrSource, annPath, ln+1)
		}
		poly := MaskPolygon(diff, w, h, box)
		if poly == nil { // no visible change: the whole box
			poly = geom.Polygon{{X: float64(box.X0), Y: float64(box.Y0)}, {X: float64(box.X1), Y: float64(box.Y0)},
				{X: float64(box.X1), Y: float64(box.Y1)}, {X: float64(box.X0), Y: float64(box.Y1)}}
		}
		geom.Fill(mask.Pix, w, h, poly, 255)
		defects = append(defects, Defect{ID: len(defects) + 1, Class: DeepPCBClasses[v[4]-1], Polygon: poly})
	}
	if len(defects) == 0 {
		return Sample{}, fmt.Errorf("%w: %s has no defect", ErrSource, annPath)
	}
	return Sample{Split: Test, Name: name, Image: sg, Twin: tg, Defects: defects, Mask: mask}, nil
}
