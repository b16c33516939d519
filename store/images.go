package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	_ "image/jpeg" // decoders for ImportImages
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"

	"github.com/hisirdesk/hisir/engine"
)

// Image is one board photo of the project.
type Image struct {
	ID     int64
	Path   string // absolute path at import time
	Hash   string // sha256 of the file bytes, hex
	Width  int
	Height int
	Layout json.RawMessage // panel/board layout JSON, "{}" when none
	Split  string          // "", "train", "val", "test", ...
	Added  time.Time
	// Removed is when the image was removed from the project (RemoveImages); zero while it
	// is in the project. Only Image, ImageByHash and Images with ImageFilter.Removed return
	// removed images.
	Removed time.Time
}

// ImageFilter selects images; zero fields match everything.
type ImageFilter struct {
	Split        string // exact split
	PathContains string // substring of the path
	Limit        int    // at most this many (0: all)
	Offset       int
	Removed      bool // list the images removed from the project instead of those in it
}

// ImportImages adds image files to the project, each in its own transaction, identified by
// the sha256 of their content: a file already in the project (under any path) is skipped.
// A file whose image was removed from the project (RemoveImages) brings that image back,
// with its results and labels, and counts as added; the audit log records the restore as
// an edit by "import" (it is on nobody's undo stack).
// Files that cannot be read or are not PNG/JPEG/BMP/TIFF images are reported in err, each
// named, while the others are still imported. progress, when not nil, is called after
// every file.
func (s *Store) ImportImages(ctx context.Context, paths []string, progress func(done, total int)) (added, skipped int, err error) {
	var errs []error
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("import stopped after %d of %d files: %w", i, len(paths), err))
			break
		}
		ok, err := s.importImage(ctx, p)
		switch {
		case err != nil:
			errs = append(errs, err)
			if errors.Is(err, ErrDiskFull) || errors.Is(err, ErrReadOnly) {
				return added, skipped, errors.Join(errs...)
			}
		case ok:
			added++
		default:
			skipped++
		}
		if progress != nil {
			progress(i+1, len(paths))
		}
	}
	return added, skipped, errors.Join(errs...)
}

func (s *Store) importImage(ctx context.Context, path string) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, fmt.Errorf("import %s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return false, fmt.Errorf("import %s: %w", abs, err)
	}
	defer f.Close()
	cfg, format, err := engine.DecodeConfig(f) // the upright size (EXIF orientation applied)
	if err != nil {
		return false, fmt.Errorf("import %s: %w: not a readable PNG, JPEG, BMP or TIFF image: %v", abs, ErrInvalid, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return false, fmt.Errorf("import %s: %w: %s image of size %d×%d", abs, ErrInvalid, format, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("import %s: %w", abs, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("import %s: %w", abs, err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	var added bool
	err = s.write(ctx, "import "+abs, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO images (path, hash, width, height, added) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (hash) DO NOTHING`, abs, hash, cfg.Width, cfg.Height, s.stamp())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			added = n == 1
			return err
		}
		added, err = s.restoreByHash(ctx, tx, hash)
		return err
	})
	return added, err
}

const imageCols = `id, path, hash, width, height, layout, split, added, removed`

func scanImage(sc interface{ Scan(...any) error }) (Image, error) {
	var im Image
	var layout, added string
	var removed sql.NullString
	err := sc.Scan(&im.ID, &im.Path, &im.Hash, &im.Width, &im.Height, &layout, &im.Split, &added, &removed)
	im.Layout = json.RawMessage(layout)
	im.Added = parseTime(added)
	im.Removed = parseNullTime(removed)
	return im, err
}

// Images lists the project's images in import order (not those removed from it, unless
// f.Removed asks for those instead).
func (s *Store) Images(ctx context.Context, f ImageFilter) ([]Image, error) {
	q := `SELECT ` + imageCols + ` FROM images WHERE removed IS NULL`
	if f.Removed {
		q = `SELECT ` + imageCols + ` FROM images WHERE removed IS NOT NULL`
	}
	var args []any
	if f.Split != "" {
		q += ` AND split = ?`
		args = append(args, f.Split)
	}
	if f.PathContains != "" {
		q += ` AND instr(path, ?) > 0`
		args = append(args, f.PathContains)
	}
	q += ` ORDER BY id`
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = -1
		}
		q += ` LIMIT ? OFFSET ?`
		args = append(args, limit, f.Offset)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("list images", err)
	}
	defer rows.Close()
	var out []Image
	for rows.Next() {
		im, err := scanImage(rows)
		if err != nil {
			return nil, s.wrap("list images", err)
		}
		out = append(out, im)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list images", err)
	}
	return out, nil
}

// Image returns one image by id, also when it was removed from the project (see Image.Removed).
func (s *Store) Image(ctx context.Context, id int64) (Image, error) {
	im, err := scanImage(s.db.QueryRowContext(ctx, `SELECT `+imageCols+` FROM images WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Image{}, fmt.Errorf("image %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Image{}, s.wrap(fmt.Sprintf("image %d", id), err)
	}
	return im, nil
}

// ImageByHash returns the image whose file content has the given sha256 (hex), also when it
// was removed from the project (see Image.Removed; importing the file again restores it).
func (s *Store) ImageByHash(ctx context.Context, hash string) (Image, error) {
	im, err := scanImage(s.db.QueryRowContext(ctx, `SELECT `+imageCols+` FROM images WHERE hash = ?`, strings.ToLower(hash)))
	if errors.Is(err, sql.ErrNoRows) {
		return Image{}, fmt.Errorf("image with sha256 %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return Image{}, s.wrap("image by hash", err)
	}
	return im, nil
}

// SetSplit puts images into a dataset split ("train", "val", "test" or "" for none).
func (s *Store) SetSplit(ctx context.Context, split string, ids ...int64) error {
	return s.write(ctx, "set split "+split, func(tx *sql.Tx) error {
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE images SET split = ? WHERE id = ?`, split, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("image %d: %w", id, ErrNotFound)
			}
		}
		return nil
	})
}

// SetLayout stores the panel/board layout JSON of an image.
func (s *Store) SetLayout(ctx context.Context, id int64, layout json.RawMessage) error {
	if !json.Valid(layout) {
		return fmt.Errorf("set layout of image %d: %w: layout is not valid JSON", id, ErrInvalid)
	}
	return s.write(ctx, fmt.Sprintf("set layout of image %d", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE images SET layout = ? WHERE id = ?`, string(layout), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("image %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// ImageState is the review state of an image.
type ImageState string

// Review states, from the image's latest run and its labels.
const (
	NotRun   ImageState = "not run"  // no run has processed the image
	Flagged  ImageState = "flagged"  // at least one detection awaits a decision
	Reviewed ImageState = "reviewed" // every detection decided, or labels drawn
	Clean    ImageState = "clean"    // processed, no detection, no label
)

// ImageSummary counts an image's detections (of its latest run) and labels.
type ImageSummary struct {
	ImageID  int64
	RunID    int64 // latest run that processed the image; 0 when none
	State    ImageState
	Pending  int
	Accepted int
	Rejected int
	Labels   int
}

// Summaries returns the review summary of every image in the project (not of removed ones),
// in image id order.
func (s *Store) Summaries(ctx context.Context) ([]ImageSummary, error) {
	return s.summaries(ctx, 0)
}

// Summary returns the review summary of one image, also of a removed one.
func (s *Store) Summary(ctx context.Context, imageID int64) (ImageSummary, error) {
	out, err := s.summaries(ctx, imageID)
	if err != nil {
		return ImageSummary{}, err
	}
	if len(out) == 0 {
		return ImageSummary{}, fmt.Errorf("image %d: %w", imageID, ErrNotFound)
	}
	return out[0], nil
}

// StateCounts counts the project's images (not removed ones) per review state.
func (s *Store) StateCounts(ctx context.Context) (map[ImageState]int, error) {
	sums, err := s.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	out := map[ImageState]int{NotRun: 0, Flagged: 0, Reviewed: 0, Clean: 0}
	for _, s := range sums {
		out[s.State]++
	}
	return out, nil
}

func (s *Store) summaries(ctx context.Context, imageID int64) ([]ImageSummary, error) {
	q := `WITH latest AS (SELECT image_id, max(run_id) AS run_id FROM run_images GROUP BY image_id)
		SELECT i.id, coalesce(l.run_id, 0),
			coalesce(sum(d.status = 'pending'), 0), coalesce(sum(d.status = 'accepted'), 0),
			coalesce(sum(d.status = 'rejected'), 0),
			(SELECT count(*) FROM labels lb WHERE lb.image_id = i.id AND lb.deleted = 0)
		FROM images i
		LEFT JOIN latest l ON l.image_id = i.id
		LEFT JOIN detections d ON d.image_id = i.id AND d.run_id = l.run_id`
	var args []any
	if imageID != 0 {
		q += ` WHERE i.id = ?`
		args = append(args, imageID)
	} else {
		q += ` WHERE i.removed IS NULL`
	}
	q += ` GROUP BY i.id ORDER BY i.id`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("image summaries", err)
	}
	defer rows.Close()
	var out []ImageSummary
	for rows.Next() {
		var m ImageSummary
		if err := rows.Scan(&m.ImageID, &m.RunID, &m.Pending, &m.Accepted, &m.Rejected, &m.Labels); err != nil {
			return nil, s.wrap("image summaries", err)
		}
		switch {
		case m.Pending > 0:
			m.State = Flagged
		case m.Accepted+m.Rejected > 0 || m.Labels > 0:
			m.State = Reviewed
		case m.RunID == 0:
			m.State = NotRun
		default:
			m.State = Clean
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("image summaries", err)
	}
	return out, nil
}
