package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "image/jpeg" // decoders for thumbnails and the viewer
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/engine/ortmodel"
	"github.com/hisirdesk/hisir/engine/render"
	"github.com/hisirdesk/hisir/store"
	"github.com/hisirdesk/hisir/ui"
)

// scoreMapKind is the store map kind of the GUI's score maps: the normalised score as a
// 16-bit grey PNG, value = score / scoreMapScale clamped to [0,1].
const (
	scoreMapKind  = "score16"
	scoreMapScale = 16.0
)

// guiMinArea is the smallest defect kept by the GUI, in pixels.
const guiMinArea = 16

// backend connects the ui interfaces to the project store and the engine. Its methods
// run on background goroutines; the store is safe for concurrent use and model runs
// are serialised by pipeMu.
type backend struct {
	st       *store.Store
	who      string
	model    *ortmodel.Model
	info     engine.ModelInfo
	modelRow store.Model
	pipe     *engine.Pipeline
	pipeMu   sync.Mutex
	raw      *engine.Map // the pipeline's raw map, reused from image to image under pipeMu
	norm     string      // normCalibrated or normMinMax
	source   string      // recorded with each run: "gui" (default) or "cli"

	mu        sync.Mutex
	threshold float64
	thumbs    map[int64]image.Image
}

var (
	_ ui.Project     = (*backend)(nil)
	_ ui.BatchRunner = (*backend)(nil)
	_ ui.Reviewer    = (*backend)(nil)
	_ ui.Exporter    = (*backend)(nil)
	_ ui.Remover     = (*backend)(nil)
)

// openBackend opens (or creates) the project and loads the model into it.
func openBackend(ctx context.Context, projectPath, modelPath string) (*backend, error) {
	st, err := store.Open(projectPath)
	if err != nil {
		return nil, fmt.Errorf("open project %s: %w", projectPath, err)
	}
	b := &backend{st: st, who: currentUser(), thumbs: map[int64]image.Image{}}
	if err := b.loadModel(ctx, modelPath); err != nil {
		st.Close()
		return nil, err
	}
	return b, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "inspector"
}

// loadModel opens a model file, registers it in the project and reads its threshold.
func (b *backend) loadModel(ctx context.Context, path string) error {
	m, err := (modelFlags{path: path}).open()
	if err != nil {
		return fmt.Errorf("load model: %w", err)
	}
	info := m.Info()
	pipe, err := engine.NewPipeline(m, calibratedOptions(info, 0))
	if err != nil {
		m.Close()
		return fmt.Errorf("model %s: %w", info.Path, err)
	}
	md, err := modelMetadata(info)
	if err != nil {
		m.Close()
		return err
	}
	row, err := b.st.AddModel(ctx, info.Path, info.Name, md)
	if err != nil {
		m.Close()
		return fmt.Errorf("register model %s: %w", info.Path, err)
	}
	norm, t := normMinMax, engine.DefaultThreshold(info)
	if info.Calibration != nil {
		norm = normCalibrated
	}
	if v, ok, err := b.st.Threshold(ctx, row.ID); err != nil {
		m.Close()
		return fmt.Errorf("read threshold: %w", err)
	} else if ok {
		t = v
	}
	if b.model != nil {
		b.model.Close()
	}
	b.model, b.info, b.pipe, b.modelRow, b.norm = m, info, pipe, row, norm
	b.mu.Lock()
	b.threshold = t
	b.mu.Unlock()
	return nil
}

// modelMetadata rebuilds the contract metadata of a loaded model for the store.
func modelMetadata(info engine.ModelInfo) (map[string]string, error) {
	md := map[string]string{
		engine.KeyContractVersion:    fmt.Sprint(info.ContractVersion),
		engine.KeyPatchSize:          fmt.Sprint(info.PatchSize),
		engine.KeyStride:             fmt.Sprint(info.Stride),
		engine.KeyTDiff:              fmt.Sprint(info.TDiff),
		engine.KeyBackbone:           info.Backbone,
		engine.KeyGate:               fmt.Sprint(info.Gate),
		engine.KeyPositionalEncoding: fmt.Sprint(info.PositionalEncoding),
		engine.KeyName:               info.Name,
	}
	if info.Card != "" {
		md[engine.KeyCard] = info.Card
	}
	return md, nil
}

func (b *backend) Close() error {
	if b.model != nil {
		b.model.Close()
	}
	return b.st.Close()
}

// Threshold is the model's global threshold.
func (b *backend) Threshold() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.threshold
}

// SaveThreshold stores the global threshold of the model.
func (b *backend) SaveThreshold(ctx context.Context, t float64) error {
	if err := b.st.SetThreshold(ctx, b.who, b.modelRow.ID, t); err != nil {
		return fmt.Errorf("save threshold %.3f: %w", t, err)
	}
	b.mu.Lock()
	b.threshold = t
	b.mu.Unlock()
	return nil
}

// Images lists the project's images with their review state.
func (b *backend) Images() ([]ui.ImageItem, error) {
	ctx := context.Background()
	ims, err := b.st.Images(ctx, store.ImageFilter{})
	if err != nil {
		return nil, err
	}
	sums, err := b.st.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]store.ImageSummary, len(sums))
	for _, s := range sums {
		byID[s.ImageID] = s
	}
	out := make([]ui.ImageItem, len(ims))
	for i, im := range ims {
		s := byID[im.ID]
		out[i] = ui.ImageItem{ID: im.ID, Name: filepath.Base(im.Path), Status: uiStatus(s.State),
			Defects: s.Pending + s.Accepted + s.Rejected}
	}
	return out, nil
}

func uiStatus(s store.ImageState) ui.ImageStatus {
	switch s {
	case store.Flagged:
		return ui.Flagged
	case store.Reviewed:
		return ui.Reviewed
	case store.Clean:
		return ui.Clean
	}
	return ui.NotRun
}

// decodeDisplay decodes an image file for display, upright by its EXIF orientation like
// engine.Decode (so overlays from the engine land in the same frame), naming the file in errors.
func decodeDisplay(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	img, _, err := engine.DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("decode image %s: %w", path, errors.Join(engine.ErrImage, err))
	}
	return img, nil
}

// Thumbnail decodes an image and returns a small version of it (cached).
func (b *backend) Thumbnail(id int64, size int) (image.Image, error) {
	b.mu.Lock()
	t, ok := b.thumbs[id]
	b.mu.Unlock()
	if ok {
		return t, nil
	}
	im, err := b.st.Image(context.Background(), id)
	if err != nil {
		return nil, err
	}
	img, err := decodeDisplay(im.Path)
	if err != nil {
		return nil, err
	}
	t = ui.NewPyramid(img).Thumbnail(size)
	b.mu.Lock()
	b.thumbs[id] = t
	b.mu.Unlock()
	return t, nil
}

// notRun lists the images no run has processed yet (labelled ones included).
func (b *backend) notRun(ctx context.Context) ([]int64, error) {
	sums, err := b.st.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, s := range sums {
		if s.RunID == 0 {
			ids = append(ids, s.ImageID)
		}
	}
	return ids, nil
}

// runParams is what a GUI run records in the store.
type runParams struct {
	Source    string  `json:"source"`
	Norm      string  `json:"norm"`
	Threshold float64 `json:"threshold"`
	MinArea   int     `json:"min_area"`
	FromRun   int64   `json:"from_run,omitempty"`
}

// RunBatch runs the model on the images, storing detections and score maps after each.
// A cancelled batch keeps the images already done.
func (b *backend) RunBatch(ctx context.Context, ids []int64, progress func(done, total int)) error {
	t := b.Threshold()
	// Store writes are not cut short by a cancel: it stops the batch between images.
	source := b.source
	if source == "" {
		source = "gui"
	}
	runID, err := b.st.StartRun(context.WithoutCancel(ctx), b.modelRow.ID, runParams{Source: source, Norm: b.norm, Threshold: t, MinArea: guiMinArea}, b.info.Provider)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	var runErr error
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			runErr = err
			break
		}
		if _, err := b.analyseImage(ctx, runID, id, t); err != nil {
			runErr = err
			break
		}
		if progress != nil {
			progress(i+1, len(ids))
		}
	}
	status, text := store.RunDone, ""
	switch {
	case errors.Is(runErr, context.Canceled):
		status = store.RunCancelled
	case runErr != nil:
		status, text = store.RunFailed, runErr.Error()
	}
	if err := b.st.FinishRun(context.Background(), runID, status, text); err != nil && runErr == nil {
		runErr = fmt.Errorf("finish run: %w", err)
	}
	return runErr
}

// analysis is one image's result: the score map and its defects at the threshold.
type analysis struct {
	scores  *engine.Map
	defects []engine.Defect
	took    time.Duration
}

// analyseImage runs the model on one stored image and saves detections and score map.
func (b *backend) analyseImage(ctx context.Context, runID, id int64, t float64) (*analysis, error) {
	im, err := b.st.Image(ctx, id)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	img, err := engine.Decode(im.Path)
	if err != nil {
		return nil, err
	}
	// The raw map is only an intermediate: one buffer, reused under the pipeline's lock,
	// spares every image of a batch the page faults of a fresh image-sized map.
	b.pipeMu.Lock()
	res, err := b.pipe.RunInto(ctx, img, b.raw, nil)
	if err != nil {
		b.pipeMu.Unlock()
		return nil, fmt.Errorf("run model on %s: %w", im.Path, err)
	}
	b.raw = res.Raw
	score, err := b.normalise(res.Raw)
	b.pipeMu.Unlock()
	if err != nil {
		return nil, err
	}
	defects := engine.FindDefects(score, float32(t), guiMinArea)
	ctx = context.WithoutCancel(ctx) // the model ran: save its result whatever happens
	if _, err := b.st.AddDetections(ctx, runID, id, storeDetections(defects, nil)); err != nil {
		return nil, fmt.Errorf("save detections of %s: %w", im.Path, err)
	}
	data, err := encodeScores(score)
	if err != nil {
		return nil, err
	}
	if err := b.st.PutMap(ctx, runID, id, scoreMapKind, data); err != nil {
		return nil, fmt.Errorf("save score map of %s: %w", im.Path, err)
	}
	return &analysis{scores: score, defects: defects, took: time.Since(start)}, nil
}

func (b *backend) normalise(raw *engine.Map) (*engine.Map, error) {
	if b.norm == normCalibrated {
		return engine.Calibrated(raw, b.info.Calibration)
	}
	return engine.MinMax(raw), nil
}

// detections converts engine defects for the store. When old detections are given, a
// new one takes the decision and class of the old one its box overlaps most, if that
// overlap covers at least half of the smaller box (a region grown or shrunk by a new
// threshold keeps its decision).
func storeDetections(ds []engine.Defect, old []store.Detection) []store.Detection {
	out := make([]store.Detection, len(ds))
	for i, d := range ds {
		out[i] = store.Detection{Polygon: d.Polygon, BBox: d.Box, Area: d.Area, Peak: float64(d.Peak), Mean: float64(d.Mean), Status: store.Pending}
		best := 0.5
		for _, o := range old {
			in := d.Box.Intersect(o.BBox).Area()
			small := min(d.Box.Area(), o.BBox.Area())
			if small == 0 {
				continue
			}
			if f := float64(in) / float64(small); f >= best {
				best, out[i].Status, out[i].Class = f, o.Status, o.Class
			}
		}
	}
	return out
}

// encodeScores writes a score map as a 16-bit PNG scaled by 1/scoreMapScale.
func encodeScores(m *engine.Map) ([]byte, error) {
	scaled := engine.NewMap(m.W, m.H)
	for i, v := range m.V {
		scaled.V[i] = v / scoreMapScale
	}
	var buf bytes.Buffer
	if err := render.EncodePNG(&buf, render.Map16(scaled)); err != nil {
		return nil, fmt.Errorf("encode score map: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeScores reads a map written by encodeScores.
func decodeScores(data []byte) (*engine.Map, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode score map: %w", err)
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		return nil, fmt.Errorf("decode score map: %T is not 16-bit grey", img)
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	m := engine.NewMap(w, h)
	for y := 0; y < h; y++ {
		row := g.Pix[y*g.Stride:]
		for x := 0; x < w; x++ {
			m.V[y*w+x] = float32(uint16(row[2*x])<<8|uint16(row[2*x+1])) / 65535 * scoreMapScale
		}
	}
	return m, nil
}

// openedImage is everything the viewer and the panels show of one image.
type openedImage struct {
	im      store.Image
	pyr     *ui.Pyramid
	scores  *engine.Map // nil when not run
	runID   int64
	dets    []store.Detection
	labels  []store.Label
	summary store.ImageSummary
}

// openImage loads an image with its latest score map, detections and labels.
func (b *backend) openImage(ctx context.Context, id int64) (*openedImage, error) {
	im, err := b.st.Image(ctx, id)
	if err != nil {
		return nil, err
	}
	img, err := decodeDisplay(im.Path)
	if err != nil {
		return nil, err
	}
	o := &openedImage{im: im, pyr: ui.NewPyramid(img)}
	if err := b.reload(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// reload reads the image's latest run, score map, detections and labels again.
func (b *backend) reload(ctx context.Context, o *openedImage) error {
	sum, err := b.st.Summary(ctx, o.im.ID)
	if err != nil {
		return err
	}
	o.summary, o.runID = sum, sum.RunID
	if sum.RunID != 0 {
		data, err := b.st.Map(ctx, sum.RunID, o.im.ID, scoreMapKind)
		switch {
		case err == nil:
			if o.scores, err = decodeScores(data); err != nil {
				return fmt.Errorf("image %s: %w", o.im.Path, err)
			}
		case errors.Is(err, store.ErrNotFound):
			o.scores = nil // run by the headless tools, which keep no GUI map
		default:
			return err
		}
		if o.dets, err = b.st.Detections(ctx, o.im.ID, sum.RunID); err != nil {
			return err
		}
	}
	if o.labels, err = b.st.Labels(ctx, o.im.ID); err != nil {
		return err
	}
	return nil
}

// rethreshold recomputes an opened image's defects at t from its score map and stores
// them as a new run (decisions of overlapping old detections carry over).
func (b *backend) rethreshold(ctx context.Context, o *openedImage, t float64) error {
	if o.scores == nil {
		return nil
	}
	defects := engine.FindDefects(o.scores, float32(t), guiMinArea)
	old, err := b.st.Detections(ctx, o.im.ID, o.runID) // with the decisions made since opening
	if err != nil {
		return err
	}
	runID, err := b.st.StartRun(ctx, b.modelRow.ID, runParams{Source: "gui-threshold", Norm: b.norm, Threshold: t, MinArea: guiMinArea, FromRun: o.runID}, b.info.Provider)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	if _, err := b.st.AddDetections(ctx, runID, o.im.ID, storeDetections(defects, old)); err != nil {
		_ = b.st.FinishRun(ctx, runID, store.RunFailed, err.Error())
		return fmt.Errorf("save detections of %s: %w", o.im.Path, err)
	}
	if data, err := b.st.Map(ctx, o.runID, o.im.ID, scoreMapKind); err == nil {
		if err := b.st.PutMap(ctx, runID, o.im.ID, scoreMapKind, data); err != nil {
			return err
		}
	}
	if err := b.st.FinishRun(ctx, runID, store.RunDone, ""); err != nil {
		return err
	}
	return b.reload(ctx, o)
}

// SetReview saves a decision and class of one detection.
func (b *backend) SetReview(id int64, d ui.Decision, class string) error {
	ctx := context.Background()
	cur, err := b.st.Detection(ctx, id)
	if err != nil {
		return err
	}
	if st := storeStatus(d); cur.Status != st {
		if err := b.st.SetStatus(ctx, b.who, st, id); err != nil {
			return err
		}
	}
	if class != cur.Class {
		if err := b.st.SetClass(ctx, b.who, class, id); err != nil {
			return err
		}
	}
	return nil
}

func storeStatus(d ui.Decision) store.Status {
	switch d {
	case ui.Accepted:
		return store.Accepted
	case ui.Rejected:
		return store.Rejected
	}
	return store.Pending
}

func uiDecision(s store.Status) ui.Decision {
	switch s {
	case store.Accepted:
		return ui.Accepted
	case store.Rejected:
		return ui.Rejected
	}
	return ui.Pending
}

// uiDefects converts stored detections for the review panel and the viewer.
func uiDefects(ds []store.Detection) []ui.Defect {
	out := make([]ui.Defect, len(ds))
	for i, d := range ds {
		out[i] = ui.Defect{ID: d.ID, Box: d.BBox, Outline: d.Polygon, Area: d.Area, Peak: d.Peak, Mean: d.Mean,
			Class: d.Class, Decision: uiDecision(d.Status)}
	}
	return out
}

// Export writes the project into a new folder dir/<project>-<format> (or -2, -3, … when
// that exists, so nothing already exported is touched).
func (b *backend) Export(ctx context.Context, format, dir string) error {
	name := strings.TrimSuffix(filepath.Base(b.st.Path()), filepath.Ext(b.st.Path()))
	out := filepath.Join(dir, name+"-"+format)
	for i := 2; ; i++ {
		if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
			break
		}
		out = filepath.Join(dir, fmt.Sprintf("%s-%s-%d", name, format, i))
	}
	if _, err := exportProject(ctx, b.st.Path(), format, out, io.Discard); err != nil {
		return err
	}
	return nil
}

// RemoveImages takes images out of the project as one undoable edit (results and labels
// are kept; RestoreImages or the store's Undo brings them back).
func (b *backend) RemoveImages(ctx context.Context, ids []int64) error {
	return b.st.RemoveImages(ctx, b.who, ids...)
}

// RestoreImages puts removed images back into the project, as one edit.
func (b *backend) RestoreImages(ctx context.Context, ids []int64) error {
	return b.st.RestoreImages(ctx, b.who, ids...)
}

// ImportFiles adds image files to the project.
func (b *backend) ImportFiles(ctx context.Context, paths []string) (int, error) {
	added, _, err := b.st.ImportImages(ctx, paths, nil)
	return added, err
}

// labelSync saves an editor's label set to the store as adds, updates and deletes,
// remembering which store label each editor label (by Key) became.
type labelSync struct {
	b       *backend
	imageID int64
	saved   map[int64]ui.Label // editor key → last saved state, with its store id
}

// newLabelSync starts from the labels an editor was opened with (already in the store).
func newLabelSync(b *backend, imageID int64, ls []ui.Label) *labelSync {
	s := &labelSync{b: b, imageID: imageID, saved: map[int64]ui.Label{}}
	for _, l := range ls {
		s.saved[l.Key] = l
	}
	return s
}

// SaveLabels makes the store hold exactly ls.
func (s *labelSync) SaveLabels(ls []ui.Label) error {
	ctx := context.Background()
	keep := map[int64]bool{}
	for _, l := range ls {
		keep[l.Key] = true
		old, ok := s.saved[l.Key]
		if !ok {
			row, err := s.b.st.AddLabel(ctx, s.b.who, s.imageID, l.Polygon, l.Class)
			if err != nil {
				return fmt.Errorf("save new label: %w", err)
			}
			l.ID = row.ID
			s.saved[l.Key] = l
			continue
		}
		if old.Class != l.Class || !samePolygon(old.Polygon, l.Polygon) {
			if err := s.b.st.UpdateLabel(ctx, s.b.who, old.ID, l.Polygon, l.Class); err != nil {
				return fmt.Errorf("save label %d: %w", old.ID, err)
			}
			l.ID = old.ID
			s.saved[l.Key] = l
		}
	}
	keys := make([]int64, 0, len(s.saved))
	for k := range s.saved {
		if !keep[k] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		if err := s.b.st.DeleteLabel(ctx, s.b.who, s.saved[k].ID); err != nil {
			return fmt.Errorf("delete label %d: %w", s.saved[k].ID, err)
		}
		delete(s.saved, k)
	}
	return nil
}

func samePolygon(a, b geom.Polygon) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i].X-b[i].X) > 1e-9 || math.Abs(a[i].Y-b[i].Y) > 1e-9 {
			return false
		}
	}
	return true
}
