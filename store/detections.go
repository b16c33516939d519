package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/mattn/go-sqlite3"
)

// Status is an inspector's decision on a detection.
type Status string

// Decisions.
const (
	Pending  Status = "pending"
	Accepted Status = "accepted"
	Rejected Status = "rejected"
)

func (st Status) valid() bool { return st == Pending || st == Accepted || st == Rejected }

// Detection is one defect candidate found by a run on an image.
type Detection struct {
	ID        int64
	RunID     int64
	ImageID   int64
	Polygon   geom.Polygon
	BBox      geom.Rect // when empty on AddDetections, the polygon's bounds
	Area      int       // pixels above the threshold
	Peak      float64   // highest anomaly score inside
	Mean      float64   // mean anomaly score inside
	Class     string
	Status    Status // Pending when empty on AddDetections
	Updated   time.Time
	UpdatedBy string
}

func validPolygon(p geom.Polygon) error {
	if len(p) < 3 {
		return fmt.Errorf("%w: polygon has %d points, need at least 3", ErrInvalid, len(p))
	}
	for _, q := range p {
		if math.IsNaN(q.X) || math.IsNaN(q.Y) || math.IsInf(q.X, 0) || math.IsInf(q.Y, 0) {
			return fmt.Errorf("%w: polygon point (%v, %v) is not finite", ErrInvalid, q.X, q.Y)
		}
	}
	return nil
}

// AddDetections stores all detections of one image found by a run, in one transaction, and
// marks the image as processed by the run (also when dets is empty: a clean image). It
// returns the new ids in the order of dets. A second call for the same run and image fails
// with ErrAlreadyProcessed, so decisions are never overwritten by a re-run.
func (s *Store) AddDetections(ctx context.Context, runID, imageID int64, dets []Detection) ([]int64, error) {
	type row struct {
		poly []byte
		d    Detection
	}
	rows := make([]row, len(dets))
	for i, d := range dets {
		if err := validPolygon(d.Polygon); err != nil {
			return nil, fmt.Errorf("add detections of run %d image %d: detection %d: %w", runID, imageID, i, err)
		}
		if d.Status == "" {
			d.Status = Pending
		}
		if !d.Status.valid() {
			return nil, fmt.Errorf("add detections of run %d image %d: detection %d: %w: status %q", runID, imageID, i, ErrInvalid, d.Status)
		}
		if d.BBox.Empty() {
			d.BBox = d.Polygon.Bounds()
		}
		p, err := json.Marshal(d.Polygon)
		if err != nil {
			return nil, err
		}
		rows[i] = row{p, d}
	}
	ids := make([]int64, len(dets))
	op := fmt.Sprintf("add %d detections of run %d image %d", len(dets), runID, imageID)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		now := s.stamp()
		res, err := tx.ExecContext(ctx, `INSERT INTO run_images (run_id, image_id, done, detections) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, runID, imageID, now, len(dets))
		if err != nil {
			if isFK(err) {
				return fmt.Errorf("%w: run %d or image %d does not exist", ErrNotFound, runID, imageID)
			}
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrAlreadyProcessed
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO detections
			(run_id, image_id, polygon, x0, y0, x1, y1, area, peak, mean, class, status, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, r := range rows {
			d := r.d
			res, err := st.ExecContext(ctx, runID, imageID, r.poly, d.BBox.X0, d.BBox.Y0, d.BBox.X1, d.BBox.Y1,
				d.Area, d.Peak, d.Mean, d.Class, string(d.Status), now)
			if err != nil {
				return err
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func isFK(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintForeignKey
}

const detectionCols = `id, run_id, image_id, polygon, x0, y0, x1, y1, area, peak, mean, class, status, updated, updated_by`

func scanDetection(sc interface{ Scan(...any) error }) (Detection, error) {
	var d Detection
	var poly []byte
	var updated string
	err := sc.Scan(&d.ID, &d.RunID, &d.ImageID, &poly, &d.BBox.X0, &d.BBox.Y0, &d.BBox.X1, &d.BBox.Y1,
		&d.Area, &d.Peak, &d.Mean, &d.Class, &d.Status, &updated, &d.UpdatedBy)
	if err != nil {
		return d, err
	}
	d.Updated = parseTime(updated)
	if err := json.Unmarshal(poly, &d.Polygon); err != nil {
		return d, fmt.Errorf("detection %d: %w: polygon: %v", d.ID, ErrCorrupt, err)
	}
	return d, nil
}

// Detections lists the detections of an image found by run runID, or by the latest run that
// processed the image when runID is 0, in id order.
func (s *Store) Detections(ctx context.Context, imageID, runID int64) ([]Detection, error) {
	q := `SELECT ` + detectionCols + ` FROM detections WHERE image_id = ? AND run_id = ? ORDER BY id`
	args := []any{imageID, runID}
	if runID == 0 {
		q = `SELECT ` + detectionCols + ` FROM detections WHERE image_id = ?1 AND run_id =
			(SELECT max(run_id) FROM run_images WHERE image_id = ?1) ORDER BY id`
		args = []any{imageID}
	}
	return s.detections(ctx, fmt.Sprintf("detections of image %d", imageID), q, args...)
}

// RunDetections lists every detection of a run with the given status ("" for all), ordered
// by image and id.
func (s *Store) RunDetections(ctx context.Context, runID int64, status Status) ([]Detection, error) {
	q := `SELECT ` + detectionCols + ` FROM detections WHERE run_id = ? AND (? = '' OR status = ?) ORDER BY image_id, id`
	return s.detections(ctx, fmt.Sprintf("detections of run %d", runID), q, runID, string(status), string(status))
}

// Detection returns one detection.
func (s *Store) Detection(ctx context.Context, id int64) (Detection, error) {
	d, err := scanDetection(s.db.QueryRowContext(ctx, `SELECT `+detectionCols+` FROM detections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Detection{}, fmt.Errorf("detection %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Detection{}, s.wrap(fmt.Sprintf("detection %d", id), err)
	}
	return d, nil
}

func (s *Store) detections(ctx context.Context, op, q string, args ...any) ([]Detection, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []Detection
	for rows.Next() {
		d, err := scanDetection(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}

// SetStatus records who's decision on detections, as one undoable operation (one
// transaction). Detections that already have the status are left alone.
func (s *Store) SetStatus(ctx context.Context, who string, status Status, ids ...int64) error {
	if !status.valid() {
		return fmt.Errorf("set status: %w: status %q", ErrInvalid, status)
	}
	_, err := s.edit(ctx, fmt.Sprintf("set status %s of %d detections", status, len(ids)), who, func(tx *sql.Tx) ([]change, error) {
		return s.modifyDetections(ctx, tx, who, ids, func(st *detectionState) { st.Status = status })
	})
	return err
}

// SetReview records who's decision and class on one detection together, as one undoable
// operation.
func (s *Store) SetReview(ctx context.Context, who string, id int64, status Status, class string) error {
	if !status.valid() {
		return fmt.Errorf("review detection %d: %w: status %q", id, ErrInvalid, status)
	}
	_, err := s.edit(ctx, fmt.Sprintf("review detection %d", id), who, func(tx *sql.Tx) ([]change, error) {
		return s.modifyDetections(ctx, tx, who, []int64{id}, func(st *detectionState) { st.Status, st.Class = status, class })
	})
	return err
}

// SetClass sets the class of detections, as one undoable operation.
func (s *Store) SetClass(ctx context.Context, who, class string, ids ...int64) error {
	_, err := s.edit(ctx, fmt.Sprintf("set class %q of %d detections", class, len(ids)), who, func(tx *sql.Tx) ([]change, error) {
		return s.modifyDetections(ctx, tx, who, ids, func(st *detectionState) { st.Class = class })
	})
	return err
}

func (s *Store) modifyDetections(ctx context.Context, tx *sql.Tx, who string, ids []int64, f func(*detectionState)) ([]change, error) {
	var out []change
	for _, id := range ids {
		c, err := s.modify(ctx, tx, who, entityDetection, id, func(b []byte) ([]byte, error) {
			var st detectionState
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, err
			}
			f(&st)
			return json.Marshal(st)
		})
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}
