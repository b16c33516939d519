package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Label is a defect outline drawn by an inspector.
type Label struct {
	ID      int64
	ImageID int64
	Polygon geom.Polygon
	Class   string
	Author  string
	Created time.Time
	Updated time.Time
}

// AddLabel stores a label drawn by who on an image, as one undoable operation.
func (s *Store) AddLabel(ctx context.Context, who string, imageID int64, poly geom.Polygon, class string) (Label, error) {
	if err := validPolygon(poly); err != nil {
		return Label{}, fmt.Errorf("add label to image %d: %w", imageID, err)
	}
	p, err := json.Marshal(poly)
	if err != nil {
		return Label{}, err
	}
	l := Label{ImageID: imageID, Polygon: poly, Class: class, Author: who}
	_, err = s.edit(ctx, fmt.Sprintf("add label to image %d", imageID), who, func(tx *sql.Tx) ([]change, error) {
		now := s.stamp()
		err := tx.QueryRowContext(ctx, `INSERT INTO labels (image_id, polygon, class, author, created, updated)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, imageID, p, class, who, now, now).Scan(&l.ID)
		if isFK(err) {
			return nil, fmt.Errorf("image %d: %w", imageID, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		l.Created, l.Updated = parseTime(now), parseTime(now)
		after, err := readState(ctx, tx, entityLabel, l.ID)
		if err != nil {
			return nil, err
		}
		before, err := json.Marshal(labelState{Polygon: poly, Class: class, Deleted: true})
		if err != nil {
			return nil, err
		}
		return []change{{entityLabel, l.ID, before, after}}, nil
	})
	if err != nil {
		return Label{}, err
	}
	return l, nil
}

// UpdateLabel changes a label's outline and class, as one undoable operation.
func (s *Store) UpdateLabel(ctx context.Context, who string, id int64, poly geom.Polygon, class string) error {
	if err := validPolygon(poly); err != nil {
		return fmt.Errorf("update label %d: %w", id, err)
	}
	return s.editLabel(ctx, fmt.Sprintf("update label %d", id), who, id, func(st *labelState) error {
		if st.Deleted {
			return fmt.Errorf("label %d: %w (deleted)", id, ErrNotFound)
		}
		st.Polygon, st.Class = poly, class
		return nil
	})
}

// DeleteLabel marks a label deleted (it stays in the database for undo and audit), as one
// undoable operation.
func (s *Store) DeleteLabel(ctx context.Context, who string, id int64) error {
	return s.editLabel(ctx, fmt.Sprintf("delete label %d", id), who, id, func(st *labelState) error {
		if st.Deleted {
			return fmt.Errorf("label %d: %w (already deleted)", id, ErrNotFound)
		}
		st.Deleted = true
		return nil
	})
}

func (s *Store) editLabel(ctx context.Context, op, who string, id int64, f func(*labelState) error) error {
	_, err := s.edit(ctx, op, who, func(tx *sql.Tx) ([]change, error) {
		c, err := s.modify(ctx, tx, who, entityLabel, id, func(b []byte) ([]byte, error) {
			var st labelState
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, err
			}
			if err := f(&st); err != nil {
				return nil, err
			}
			return json.Marshal(st)
		})
		if c == nil || err != nil {
			return nil, err
		}
		return []change{*c}, nil
	})
	return err
}

// Labels lists the labels of an image that are not deleted, oldest first.
func (s *Store) Labels(ctx context.Context, imageID int64) ([]Label, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, image_id, polygon, class, author, created, updated
		FROM labels WHERE image_id = ? AND deleted = 0 ORDER BY id`, imageID)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("labels of image %d", imageID), err)
	}
	defer rows.Close()
	var out []Label
	for rows.Next() {
		var l Label
		var poly []byte
		var created, updated string
		if err := rows.Scan(&l.ID, &l.ImageID, &poly, &l.Class, &l.Author, &created, &updated); err != nil {
			return nil, s.wrap("labels", err)
		}
		if err := json.Unmarshal(poly, &l.Polygon); err != nil {
			return nil, fmt.Errorf("label %d in %s: %w: polygon: %v", l.ID, s.path, ErrCorrupt, err)
		}
		l.Created, l.Updated = parseTime(created), parseTime(updated)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("labels", err)
	}
	return out, nil
}

// Label returns one label, deleted or not.
func (s *Store) Label(ctx context.Context, id int64) (Label, bool, error) {
	var l Label
	var poly []byte
	var created, updated string
	var deleted bool
	err := s.db.QueryRowContext(ctx, `SELECT id, image_id, polygon, class, author, created, updated, deleted
		FROM labels WHERE id = ?`, id).Scan(&l.ID, &l.ImageID, &poly, &l.Class, &l.Author, &created, &updated, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return Label{}, false, fmt.Errorf("label %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Label{}, false, s.wrap(fmt.Sprintf("label %d", id), err)
	}
	if err := json.Unmarshal(poly, &l.Polygon); err != nil {
		return Label{}, false, fmt.Errorf("label %d in %s: %w: polygon: %v", id, s.path, ErrCorrupt, err)
	}
	l.Created, l.Updated = parseTime(created), parseTime(updated)
	return l, deleted, nil
}

// LabelEdit is one label of the full set given to ReplaceLabels.
type LabelEdit struct {
	ID      int64 // 0: a new label; otherwise a label of the image, live or deleted (restored)
	Polygon geom.Polygon
	Class   string
}

// ReplaceLabels makes labels the complete set of live labels of an image, as one undoable
// operation: entries with ID 0 are added, the others updated (a deleted one comes back), and
// live labels of the image not in the set are deleted. It returns the label ids in the order
// of labels.
func (s *Store) ReplaceLabels(ctx context.Context, who string, imageID int64, labels []LabelEdit) ([]int64, error) {
	for i, l := range labels {
		if err := validPolygon(l.Polygon); err != nil {
			return nil, fmt.Errorf("replace labels of image %d: label %d: %w", imageID, i, err)
		}
	}
	ids := make([]int64, len(labels))
	_, err := s.edit(ctx, fmt.Sprintf("replace labels of image %d", imageID), who, func(tx *sql.Tx) ([]change, error) {
		if err := mustExist(ctx, tx, "images", imageID); err != nil {
			return nil, err
		}
		var changes []change
		keep := map[int64]bool{}
		now := s.stamp()
		for i, l := range labels {
			after, err := json.Marshal(labelState{Polygon: l.Polygon, Class: l.Class})
			if err != nil {
				return nil, err
			}
			if l.ID == 0 {
				if err := tx.QueryRowContext(ctx, `INSERT INTO labels (image_id, polygon, class, author, created, updated, deleted)
					VALUES (?, ?, ?, ?, ?, ?, 1) RETURNING id`, imageID, "[]", l.Class, who, now, now).Scan(&ids[i]); err != nil {
					return nil, err
				}
			} else {
				var img int64
				err := tx.QueryRowContext(ctx, `SELECT image_id FROM labels WHERE id = ?`, l.ID).Scan(&img)
				if errors.Is(err, sql.ErrNoRows) || (err == nil && img != imageID) {
					return nil, fmt.Errorf("label %d of image %d: %w", l.ID, imageID, ErrNotFound)
				}
				if err != nil {
					return nil, err
				}
				ids[i] = l.ID
			}
			if keep[ids[i]] {
				return nil, fmt.Errorf("%w: label %d listed twice", ErrInvalid, ids[i])
			}
			keep[ids[i]] = true
			before, err := readState(ctx, tx, entityLabel, ids[i])
			if err != nil {
				return nil, err
			}
			if l.ID == 0 { // a new label goes from "deleted" to live, like AddLabel
				before, _ = json.Marshal(labelState{Polygon: l.Polygon, Class: l.Class, Deleted: true})
			}
			if string(before) == string(after) {
				continue
			}
			if err := s.applyState(ctx, tx, who, entityLabel, ids[i], after); err != nil {
				return nil, err
			}
			changes = append(changes, change{entityLabel, ids[i], before, after})
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM labels WHERE image_id = ? AND deleted = 0`, imageID)
		if err != nil {
			return nil, err
		}
		var gone []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			if !keep[id] {
				gone = append(gone, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, id := range gone {
			c, err := s.modify(ctx, tx, who, entityLabel, id, func(b []byte) ([]byte, error) {
				var st labelState
				if err := json.Unmarshal(b, &st); err != nil {
					return nil, err
				}
				st.Deleted = true
				return json.Marshal(st)
			})
			if err != nil {
				return nil, err
			}
			if c != nil {
				changes = append(changes, *c)
			}
		}
		return changes, nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
