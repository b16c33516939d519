package sipcba

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
	"weak"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Sample is one image handed to a Writer.
type Sample struct {
	Split   Split
	Name    string      // file stem, unique within the dataset
	Image   image.Image // written as PNG (png.BestSpeed)
	Defects []Defect    // empty → good image; only in the Test split
	Twin    image.Image // defect-free twin, required for defective Test samples unless Info.TwinsOptional
	// Mask, when set, is the pixel mask of a defective sample (non-zero = defect) instead of the
	// fill of its polygons; every mask pixel must lie inside a polygon. Importers whose source
	// has pixel masks use it.
	Mask *image.Gray
	// ImageClass, when set, marks a Test sample as anomalous with this class (a declared class
	// or Defective) although its source has no mask and no polygons: an image-level label
	// (manifest "labels": "image"). Defects and Mask must then be empty; no mask file is written.
	ImageClass Class
}

// Info describes a dataset being created.
type Info struct {
	Name       string
	Provenance string
	Classes    []Class // extra custom classes, after the five built-in ones
	// TwinsOptional allows defective Test samples without a twin (imports from sources that
	// have none); the manifest then records twins_complete = false.
	TwinsOptional bool
}

// Writer writes a dataset into a temporary folder beside its destination and moves it into
// place on Commit. Add is safe for concurrent use.
type Writer struct {
	dir, tmp string
	info     Info
	classes  []ClassInfo
	known    map[Class]bool

	mu      sync.Mutex
	names   map[string]bool
	entries []Entry
	files   map[string]string
	dirs    map[string]bool
	err     error // first I/O error: the dataset cannot be committed
	closed  bool
	twins   map[any]twinFile // weak pointer of a twin image → its first written file
}

// twinFile is a written twin that later samples with the same twin image copy instead of
// encoding it again (one normal photo is the twin of several injected copies).
type twinFile struct{ rel, sum string }

// Create starts a dataset that will appear at dir on Commit; dir must not exist.
func Create(dir string, info Info) (*Writer, error) {
	if info.Name == "" {
		info.Name = filepath.Base(dir)
	}
	w := &Writer{dir: dir, info: info, known: map[Class]bool{}, names: map[string]bool{},
		files: map[string]string{}, dirs: map[string]bool{}, twins: map[any]twinFile{}}
	for i, c := range BuiltinClasses {
		w.classes = append(w.classes, ClassInfo{ID: i + 1, Name: c})
		w.known[c] = true
	}
	for _, c := range info.Classes {
		if w.known[c] {
			continue
		}
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("create dataset %s: %w", dir, err)
		}
		w.known[c] = true
		w.classes = append(w.classes, ClassInfo{ID: len(w.classes) + 1, Name: c, Custom: true})
	}
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("create dataset %s: %w", dir, ErrExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("create dataset: %w", err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create dataset %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("create dataset %s: %w", dir, err)
	}
	w.tmp = tmp
	return w, nil
}

// Dir is the destination folder.
func (w *Writer) Dir() string { return w.dir }

// Add writes one sample. An invalid sample returns an error wrapping ErrInvalid and changes
// nothing; an I/O error also makes Commit fail.
func (w *Writer) Add(s Sample) error {
	if err := w.check(&s); err != nil {
		return fmt.Errorf("add %s/%s: %w", s.Split, s.Name, err)
	}
	var mask *image.Gray
	if len(s.Defects) > 0 {
		b := s.Image.Bounds()
		var err error
		if mask, err = defectMask(b.Dx(), b.Dy(), s.Defects, s.Mask); err != nil {
			return fmt.Errorf("add %s/%s: %w", s.Split, s.Name, err)
		}
	}
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return ErrClosed
	case w.err != nil:
		err := w.err
		w.mu.Unlock()
		return fmt.Errorf("add %s/%s: earlier write failed: %w", s.Split, s.Name, err)
	case w.names[s.Name]:
		w.mu.Unlock()
		return fmt.Errorf("add %s/%s: %w: name already used", s.Split, s.Name, ErrInvalid)
	}
	w.names[s.Name] = true
	w.mu.Unlock()

	e, sums, err := w.write(&s, mask)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return fmt.Errorf("add %s/%s: %w", s.Split, s.Name, err)
	}
	w.entries = append(w.entries, e)
	for p, h := range sums {
		w.files[p] = h
	}
	return nil
}

// check validates a sample before anything is written.
func (w *Writer) check(s *Sample) error {
	if !s.Split.valid() {
		return fmt.Errorf("%w: unknown split %q", ErrInvalid, s.Split)
	}
	if err := checkName(s.Name); err != nil {
		return err
	}
	if s.Image == nil {
		return fmt.Errorf("%w: no image", ErrInvalid)
	}
	b := s.Image.Bounds()
	if b.Empty() {
		return fmt.Errorf("%w: empty image", ErrInvalid)
	}
	if s.ImageClass != "" {
		return w.checkImageLabel(s)
	}
	if len(s.Defects) == 0 {
		if s.Mask != nil {
			return fmt.Errorf("%w: mask given for a good image", ErrInvalid)
		}
		if s.Twin != nil {
			return fmt.Errorf("%w: twin given for a good image", ErrInvalid)
		}
		return nil
	}
	if s.Split != Test {
		return fmt.Errorf("%w: defects in the %s split (only test has defects)", ErrInvalid, s.Split)
	}
	for _, d := range s.Defects {
		if !w.known[d.Class] {
			return fmt.Errorf("%w %q (declare it in Info.Classes)", ErrUnknownClass, d.Class)
		}
		if d.ID <= 0 {
			return fmt.Errorf("%w: defect id %d: want > 0", ErrInvalid, d.ID)
		}
		if len(d.Polygon) < 3 {
			return fmt.Errorf("%w: defect %d has %d polygon points, want at least 3", ErrInvalid, d.ID, len(d.Polygon))
		}
	}
	if s.Twin == nil && !w.info.TwinsOptional {
		return fmt.Errorf("%w: defective test image without a twin", ErrInvalid)
	}
	if s.Twin != nil && s.Twin.Bounds().Size() != b.Size() {
		return fmt.Errorf("%w: twin is %v, image is %v", ErrInvalid, s.Twin.Bounds().Size(), b.Size())
	}
	if s.Mask != nil && s.Mask.Bounds().Size() != b.Size() {
		return fmt.Errorf("%w: mask is %v, image is %v", ErrInvalid, s.Mask.Bounds().Size(), b.Size())
	}
	return nil
}

// checkImageLabel validates a sample with an image-level label (Sample.ImageClass).
func (w *Writer) checkImageLabel(s *Sample) error {
	switch {
	case s.Split != Test:
		return fmt.Errorf("%w: image-level label in the %s split (only test images are anomalous)", ErrInvalid, s.Split)
	case len(s.Defects) > 0:
		return fmt.Errorf("%w: image-level label with %d defects (want none)", ErrInvalid, len(s.Defects))
	case s.Mask != nil:
		return fmt.Errorf("%w: image-level label with a mask (want none)", ErrInvalid)
	case s.ImageClass != Defective && !w.known[s.ImageClass]:
		return fmt.Errorf("%w %q (declare it in Info.Classes)", ErrUnknownClass, s.ImageClass)
	case s.Twin == nil && !w.info.TwinsOptional:
		return fmt.Errorf("%w: anomalous test image without a twin", ErrInvalid)
	case s.Twin != nil && s.Twin.Bounds().Size() != s.Image.Bounds().Size():
		return fmt.Errorf("%w: twin is %v, image is %v", ErrInvalid, s.Twin.Bounds().Size(), s.Image.Bounds().Size())
	}
	return nil
}

// write writes the files of one sample and returns its entry and checksums.
func (w *Writer) write(s *Sample, mask *image.Gray) (Entry, map[string]string, error) {
	b := s.Image.Bounds()
	cat, labels := category(s.Defects), ""
	if s.ImageClass != "" {
		cat, labels = string(s.ImageClass), LabelsImage
	}
	file, maskPath, twinPath, lm := layoutOf(s.Split, s.Name, cat, labels == LabelsImage)
	if s.Twin == nil {
		twinPath = ""
	}
	e := Entry{Split: s.Split, Name: s.Name, Category: cat, File: file, Mask: maskPath,
		Twin: twinPath, LabelMe: lm, Width: b.Dx(), Height: b.Dy(), Defects: s.Defects, Labels: labels}
	sums := map[string]string{}
	put := func(rel string, fn func(io.Writer) error) error {
		h, err := w.writeFile(rel, fn)
		if err != nil {
			return err
		}
		sums[rel] = h
		return nil
	}
	if err := put(file, pngWriter(s.Image)); err != nil {
		return e, nil, err
	}
	if maskPath != "" {
		if err := put(maskPath, pngWriter(mask)); err != nil {
			return e, nil, err
		}
	}
	if twinPath != "" {
		key := weakKey(s.Twin)
		w.mu.Lock()
		prev, seen := w.twins[key]
		w.mu.Unlock()
		fn := pngWriter(s.Twin)
		if seen && key != nil {
			fn = func(wr io.Writer) error {
				f, err := os.Open(filepath.Join(w.tmp, filepath.FromSlash(prev.rel)))
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(wr, f)
				return err
			}
		}
		if err := put(twinPath, fn); err != nil {
			return e, nil, err
		}
		if !seen && key != nil {
			w.mu.Lock()
			if len(w.twins) >= 256 {
				for k := range w.twins {
					if weakDead(k) {
						delete(w.twins, k)
					}
				}
			}
			w.twins[key] = twinFile{rel: twinPath, sum: sums[twinPath]}
			w.mu.Unlock()
		}
	}
	doc := labelMeDoc(e, lm)
	if err := put(lm, jsonWriter(doc)); err != nil {
		return e, nil, err
	}
	return e, sums, nil
}

// defectMask is the 0/255 mask of a defective image: the fill of its polygons, or the given
// pixel mask, which must lie inside them.
func defectMask(width, height int, defects []Defect, given *image.Gray) (*image.Gray, error) {
	fill := make([]uint8, width*height)
	for _, d := range defects {
		geom.Fill(fill, width, height, d.Polygon, 255)
	}
	m := image.NewGray(image.Rect(0, 0, width, height))
	if given == nil {
		copy(m.Pix, fill)
	} else {
		outside := 0
		gb := given.Bounds()
		for y := 0; y < height; y++ {
			o := given.PixOffset(gb.Min.X, gb.Min.Y+y)
			row := given.Pix[o : o+width]
			for x, v := range row {
				if v != 0 {
					m.Pix[y*width+x] = 255
					if fill[y*width+x] == 0 {
						outside++
					}
				}
			}
		}
		if outside > 0 {
			return nil, fmt.Errorf("%w: %d mask pixels lie outside every defect polygon", ErrInvalid, outside)
		}
	}
	for _, v := range m.Pix {
		if v != 0 {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: the defect polygons cover no pixel centre", ErrInvalid)
}

// writeFile creates rel inside the temporary folder through fn and returns its sha256. Files are
// fsynced together by Commit: one fsync per file as it is written costs far more on busy disks.
func (w *Writer) writeFile(rel string, fn func(io.Writer) error) (string, error) {
	full := filepath.Join(w.tmp, filepath.FromSlash(rel))
	if err := w.mkdir(filepath.Dir(full)); err != nil {
		return "", err
	}
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("write %s: %w", rel, err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", rel, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (w *Writer) mkdir(d string) error {
	w.mu.Lock()
	done := w.dirs[d]
	w.mu.Unlock()
	if done {
		return nil
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	w.mu.Lock()
	w.dirs[d] = true
	w.mu.Unlock()
	return nil
}

// weakKey is a weak pointer to img usable as a map key, or nil for image types it does not know.
// Weak pointers never compare equal to one made for a later image at a reused address.
func weakKey(img image.Image) any {
	switch m := img.(type) {
	case *image.RGBA:
		return weak.Make(m)
	case *image.NRGBA:
		return weak.Make(m)
	case *image.Gray:
		return weak.Make(m)
	case *image.YCbCr:
		return weak.Make(m)
	}
	return nil
}

// weakDead reports whether the image of a weakKey has been collected.
func weakDead(k any) bool {
	switch p := k.(type) {
	case weak.Pointer[image.RGBA]:
		return p.Value() == nil
	case weak.Pointer[image.NRGBA]:
		return p.Value() == nil
	case weak.Pointer[image.Gray]:
		return p.Value() == nil
	case weak.Pointer[image.YCbCr]:
		return p.Value() == nil
	}
	return true
}

var pngEnc = png.Encoder{CompressionLevel: png.BestSpeed}

// encodable returns img itself when the PNG encoder has a fast path for its type, else an RGBA copy.
func encodable(img image.Image) image.Image {
	switch img.(type) {
	case *image.RGBA, *image.NRGBA, *image.Gray, *image.Gray16, *image.RGBA64, *image.NRGBA64, *image.Paletted:
		return img
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
	return m
}

func pngWriter(img image.Image) func(io.Writer) error {
	return func(wr io.Writer) error { return pngEnc.Encode(wr, encodable(img)) }
}

func jsonWriter(v any) func(io.Writer) error {
	return func(wr io.Writer) error {
		enc := json.NewEncoder(wr)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
}

// Commit writes the COCO files and the manifest, fsyncs them and moves the dataset into place.
// On failure nothing is left at the destination and the temporary folder is removed.
func (w *Writer) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if err := w.commit(); err != nil {
		os.RemoveAll(w.tmp)
		return fmt.Errorf("commit dataset %s: %w", w.dir, err)
	}
	return nil
}

func (w *Writer) commit() error {
	if w.err != nil {
		return fmt.Errorf("an earlier write failed: %w", w.err)
	}
	sort.Slice(w.entries, func(i, j int) bool {
		a, b := w.entries[i], w.entries[j]
		if a.Split != b.Split {
			return splitOrder(a.Split) < splitOrder(b.Split)
		}
		return a.Name < b.Name
	})
	m := Manifest{FormatVersion: FormatVersion, Name: w.info.Name, Provenance: w.info.Provenance,
		Created: time.Now().UTC().Truncate(time.Second), Classes: w.classes, TwinsComplete: true,
		Images: w.entries, Files: w.files}
	if m.Images == nil {
		m.Images = []Entry{}
	}
	m.Counts, m.ImageSizes = summarise(m.Images)
	for _, e := range m.Images {
		if e.Category != Good && e.Twin == "" {
			m.TwinsComplete = false
		}
	}
	w.mu.Unlock() // writeFile takes the lock for folders; Add is already refused (closed)
	var err error
	for _, sp := range Splits {
		rel := "annotations/coco_" + string(sp) + ".json"
		var h string
		h, err = w.writeFile(rel, jsonWriter(cocoDoc(&m, sp)))
		if err != nil {
			break
		}
		m.Files[rel] = h
	}
	if err == nil {
		_, err = w.writeFile(ManifestFile, jsonWriter(&m))
	}
	w.mu.Lock()
	if err != nil {
		return err
	}
	if err := w.syncAll(m.Files); err != nil {
		return err
	}
	for d := range w.dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	if err := syncDir(w.tmp); err != nil {
		return err
	}
	if _, err := os.Lstat(w.dir); err == nil {
		return ErrExists
	}
	if err := testHookBeforeRename(); err != nil {
		return err
	}
	if err := os.Rename(w.tmp, w.dir); err != nil {
		return fmt.Errorf("move into place: %w", err)
	}
	return syncDir(filepath.Dir(w.dir))
}

// syncAll fsyncs every written file (and the manifest), many at a time so that the file system
// can group them into few journal commits.
func (w *Writer) syncAll(files map[string]string) error {
	paths := make(chan string)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range paths {
				if err := syncFile(filepath.Join(w.tmp, filepath.FromSlash(rel))); err != nil {
					select {
					case errs <- fmt.Errorf("sync %s: %w", rel, err):
					default:
					}
				}
			}
		}()
	}
	paths <- ManifestFile
	for rel := range files {
		paths <- rel
	}
	close(paths)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// testHookBeforeRename lets tests fail a Commit at its last step.
var testHookBeforeRename = func() error { return nil }

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", d, err)
	}
	return nil
}

// Abort removes everything written so far; the destination is never created.
func (w *Writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if err := os.RemoveAll(w.tmp); err != nil {
		return fmt.Errorf("abort dataset %s: %w", w.dir, err)
	}
	return nil
}

func splitOrder(s Split) int {
	for i, x := range Splits {
		if x == s {
			return i
		}
	}
	return len(Splits)
}

// summarise counts the entries and their image sizes.
func summarise(es []Entry) (Counts, []ImageSize) {
	c := Counts{PerClass: map[Class]int{}}
	sizes := map[[2]int]int{}
	for _, e := range es {
		sizes[[2]int{e.Width, e.Height}]++
		switch {
		case e.Split == Train:
			c.Train++
		case e.Split == DefectFree:
			c.DefectFree++
		case e.Category == Good:
			c.TestGood++
		default:
			c.TestDefective++
		}
		if e.Twin != "" {
			c.Twins++
		}
		if e.Labels == LabelsImage {
			c.ImageLabels++
		}
		seen := map[int]bool{}
		for _, d := range e.Defects {
			if !seen[d.ID] {
				seen[d.ID] = true
				c.Defects++
				c.PerClass[d.Class]++
			}
		}
	}
	out := make([]ImageSize, 0, len(sizes))
	for k, n := range sizes {
		out = append(out, ImageSize{Width: k[0], Height: k[1], Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Width*out[i].Height > out[j].Width*out[j].Height
	})
	return c, out
}
