package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hisirdesk/hisir/engine/geom"
)

// Audited entity kinds.
const (
	entityDetection = "detection"
	entityLabel     = "label"
	entityThreshold = "threshold"
	entityImage     = "image"
)

// Audit actions.
const (
	ActionEdit = "edit"
	ActionUndo = "undo"
	ActionRedo = "redo"
)

// detectionState is what an edit of a detection changes (audit JSON).
type detectionState struct {
	Status Status `json:"status"`
	Class  string `json:"class"`
}

// labelState is what an edit of a label changes; adding a label goes from Deleted to not.
type labelState struct {
	Polygon geom.Polygon `json:"polygon"`
	Class   string       `json:"class"`
	Deleted bool         `json:"deleted"`
}

// thresholdState is a model's threshold; Value nil means none set.
type thresholdState struct {
	Value *float64 `json:"value"`
}

// change is one entity's state before and after an edit.
type change struct {
	entity        string
	id            int64
	before, after []byte
}

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	ID       int64
	Op       int64 // rows of one operation share Op
	At       time.Time
	Who      string
	Action   string // ActionEdit, ActionUndo or ActionRedo
	Entity   string // "detection", "label", "threshold" (id: model id) or "image" (removal)
	EntityID int64
	Before   json.RawMessage
	After    json.RawMessage
	Ref      int64 // for undo and redo: the edit operation reverted or re-applied
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Who      string
	Entity   string
	EntityID int64
	Limit    int // newest first, at most this many (0: all)
}

// Audit lists audit entries, newest first.
func (s *Store) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := `SELECT id, op, at, who, action, entity, entity_id, before, after, ref FROM audit WHERE 1=1`
	var args []any
	if f.Who != "" {
		q += ` AND who = ?`
		args = append(args, f.Who)
	}
	if f.Entity != "" {
		q += ` AND entity = ?`
		args = append(args, f.Entity)
	}
	if f.EntityID != 0 {
		q += ` AND entity_id = ?`
		args = append(args, f.EntityID)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("read audit log", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at, before, after string
		if err := rows.Scan(&e.ID, &e.Op, &at, &e.Who, &e.Action, &e.Entity, &e.EntityID, &before, &after, &e.Ref); err != nil {
			return nil, s.wrap("read audit log", err)
		}
		e.At, e.Before, e.After = parseTime(at), json.RawMessage(before), json.RawMessage(after)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read audit log", err)
	}
	return out, nil
}

// readState returns the current audit JSON of an entity.
func readState(ctx context.Context, tx *sql.Tx, entity string, id int64) ([]byte, error) {
	var v any
	var err error
	switch entity {
	case entityDetection:
		var st detectionState
		err = tx.QueryRowContext(ctx, `SELECT status, class FROM detections WHERE id = ?`, id).Scan(&st.Status, &st.Class)
		v = st
	case entityLabel:
		var st labelState
		var poly []byte
		err = tx.QueryRowContext(ctx, `SELECT polygon, class, deleted FROM labels WHERE id = ?`, id).Scan(&poly, &st.Class, &st.Deleted)
		if err == nil {
			if err = json.Unmarshal(poly, &st.Polygon); err != nil {
				return nil, fmt.Errorf("label %d: %w: polygon: %v", id, ErrCorrupt, err)
			}
		}
		v = st
	case entityThreshold:
		var st thresholdState
		var val float64
		err = mustExist(ctx, tx, "models", id)
		if err != nil {
			return nil, err
		}
		err = tx.QueryRowContext(ctx, `SELECT value FROM thresholds WHERE model_id = ?`, id).Scan(&val)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		} else if err == nil {
			st.Value = &val
		}
		v = st
	case entityImage:
		var st imageState
		err = tx.QueryRowContext(ctx, `SELECT removed IS NOT NULL FROM images WHERE id = ?`, id).Scan(&st.Removed)
		v = st
	default:
		return nil, fmt.Errorf("%w: unknown audit entity %q", ErrCorrupt, entity)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %d: %w", entity, id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// applyState sets an entity to an audit JSON state.
func (s *Store) applyState(ctx context.Context, tx *sql.Tx, who, entity string, id int64, state []byte) error {
	now := s.stamp()
	switch entity {
	case entityDetection:
		var st detectionState
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("%w: detection state: %v", ErrCorrupt, err)
		}
		if !st.Status.valid() {
			return fmt.Errorf("%w: status %q", ErrInvalid, st.Status)
		}
		_, err := tx.ExecContext(ctx, `UPDATE detections SET status = ?, class = ?, updated = ?, updated_by = ? WHERE id = ?`,
			string(st.Status), st.Class, now, who, id)
		return err
	case entityLabel:
		var st labelState
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("%w: label state: %v", ErrCorrupt, err)
		}
		poly, err := json.Marshal(st.Polygon)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE labels SET polygon = ?, class = ?, deleted = ?, updated = ? WHERE id = ?`,
			poly, st.Class, st.Deleted, now, id)
		return err
	case entityThreshold:
		var st thresholdState
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("%w: threshold state: %v", ErrCorrupt, err)
		}
		if st.Value == nil {
			_, err := tx.ExecContext(ctx, `DELETE FROM thresholds WHERE model_id = ?`, id)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO thresholds (model_id, value, updated, updated_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (model_id) DO UPDATE SET value = excluded.value, updated = excluded.updated, updated_by = excluded.updated_by`,
			id, *st.Value, now, who)
		return err
	case entityImage:
		var st imageState
		if err := json.Unmarshal(state, &st); err != nil {
			return fmt.Errorf("%w: image state: %v", ErrCorrupt, err)
		}
		removed := sql.NullString{String: now, Valid: st.Removed}
		_, err := tx.ExecContext(ctx, `UPDATE images SET removed = ? WHERE id = ?`, removed, id)
		return err
	}
	return fmt.Errorf("%w: unknown audit entity %q", ErrCorrupt, entity)
}

// modify reads an entity's state, lets f compute the new one and applies it. It returns nil
// when nothing changes.
func (s *Store) modify(ctx context.Context, tx *sql.Tx, who, entity string, id int64, f func([]byte) ([]byte, error)) (*change, error) {
	before, err := readState(ctx, tx, entity, id)
	if err != nil {
		return nil, err
	}
	after, err := f(before)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(before, after) {
		return nil, nil
	}
	if err := s.applyState(ctx, tx, who, entity, id, after); err != nil {
		return nil, err
	}
	return &change{entity, id, before, after}, nil
}

// edit runs fn in one transaction and logs the changes it made as one undoable operation of
// who: pushed on who's undo stack, clearing who's redo stack.
func (s *Store) edit(ctx context.Context, op, who string, fn func(tx *sql.Tx) ([]change, error)) ([]AuditEntry, error) {
	if who == "" {
		return nil, fmt.Errorf("%s: %w: empty user name", op, ErrInvalid)
	}
	var logged []AuditEntry
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		changes, err := fn(tx)
		if err != nil || len(changes) == 0 {
			return err
		}
		if logged, err = s.log(ctx, tx, who, ActionEdit, 0, changes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM undo_stack WHERE who = ? AND stack = 'redo'`, who); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO undo_stack (who, stack, op) VALUES (?, 'undo', ?)`, who, logged[0].Op)
		return err
	})
	return logged, err
}

// log appends the changes as one new operation.
func (s *Store) log(ctx context.Context, tx *sql.Tx, who, action string, ref int64, changes []change) ([]AuditEntry, error) {
	var op int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(op), 0) + 1 FROM audit`).Scan(&op); err != nil {
		return nil, err
	}
	at := s.now().UTC()
	stamp := at.Format(timeFormat)
	out := make([]AuditEntry, len(changes))
	for i, c := range changes {
		e := AuditEntry{Op: op, At: parseTime(stamp), Who: who, Action: action, Entity: c.entity, EntityID: c.id,
			Before: c.before, After: c.after, Ref: ref}
		err := tx.QueryRowContext(ctx, `INSERT INTO audit (op, at, who, action, entity, entity_id, before, after, ref)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			op, stamp, who, action, c.entity, c.id, string(c.before), string(c.after), ref).Scan(&e.ID)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// Undo reverts who's latest edit that is not yet undone (all entities of that operation, in
// one transaction), logs the reversal and moves the edit to who's redo stack. It returns
// the new audit entries. If someone changed one of the entities since, nothing is changed,
// the edit is dropped from the stack and the error wraps ErrUndoConflict.
func (s *Store) Undo(ctx context.Context, who string) ([]AuditEntry, error) {
	return s.undoRedo(ctx, who, true)
}

// Redo re-applies who's latest undone edit; see Undo.
func (s *Store) Redo(ctx context.Context, who string) ([]AuditEntry, error) {
	return s.undoRedo(ctx, who, false)
}

// UndoDepth returns how many edits who can undo and redo.
func (s *Store) UndoDepth(ctx context.Context, who string) (undo, redo int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT coalesce(sum(stack = 'undo'), 0), coalesce(sum(stack = 'redo'), 0)
		FROM undo_stack WHERE who = ?`, who).Scan(&undo, &redo)
	if err != nil {
		return 0, 0, s.wrap("undo depth of "+who, err)
	}
	return undo, redo, nil
}

func (s *Store) undoRedo(ctx context.Context, who string, undo bool) ([]AuditEntry, error) {
	from, to, action, empty, past := "undo", "redo", ActionUndo, ErrNothingToUndo, "undone"
	if !undo {
		from, to, action, empty, past = "redo", "undo", ActionRedo, ErrNothingToRedo, "redone"
	}
	var logged []AuditEntry
	var conflict error
	err := s.write(ctx, action+" of "+who, func(tx *sql.Tx) error {
		var seq, op int64
		err := tx.QueryRowContext(ctx, `SELECT seq, op FROM undo_stack WHERE who = ? AND stack = ? ORDER BY seq DESC LIMIT 1`,
			who, from).Scan(&seq, &op)
		if errors.Is(err, sql.ErrNoRows) {
			return empty
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT entity, entity_id, before, after FROM audit WHERE op = ? ORDER BY id`, op)
		if err != nil {
			return err
		}
		var changes []change
		for rows.Next() {
			var c change
			if err := rows.Scan(&c.entity, &c.id, &c.before, &c.after); err != nil {
				rows.Close()
				return err
			}
			if undo {
				c.before, c.after = c.after, c.before
			}
			changes = append(changes, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if undo { // revert in reverse order
			for i, j := 0, len(changes)-1; i < j; i, j = i+1, j-1 {
				changes[i], changes[j] = changes[j], changes[i]
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM undo_stack WHERE seq = ?`, seq); err != nil {
			return err
		}
		for _, c := range changes {
			cur, err := readState(ctx, tx, c.entity, c.id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err != nil { // only PurgeRemoved deletes audited rows
				conflict = fmt.Errorf("%s of %s: %w: %w: %s %d no longer exists, so edit %d cannot be %s; it is dropped from the %s history",
					action, who, ErrUndoConflict, ErrPurged, c.entity, c.id, op, past, from)
				return nil
			}
			if !bytes.Equal(cur, c.before) {
				conflict = fmt.Errorf("%s of %s: %w: %s %d was changed after edit %d; the edit is dropped from the %s history",
					action, who, ErrUndoConflict, c.entity, c.id, op, from)
				return nil // commit only the removal from the stack
			}
		}
		for _, c := range changes {
			if err := s.applyState(ctx, tx, who, c.entity, c.id, c.after); err != nil {
				return err
			}
		}
		if logged, err = s.log(ctx, tx, who, action, op, changes); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO undo_stack (who, stack, op) VALUES (?, ?, ?)`, who, to, op)
		return err
	})
	if err != nil {
		return nil, err
	}
	return logged, conflict
}

// SetThreshold sets the global anomaly threshold of a model, as one undoable operation.
func (s *Store) SetThreshold(ctx context.Context, who string, modelID int64, value float64) error {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return fmt.Errorf("set threshold of model %d: %w: %v is not a finite number", modelID, ErrInvalid, value)
	}
	_, err := s.edit(ctx, fmt.Sprintf("set threshold of model %d", modelID), who, func(tx *sql.Tx) ([]change, error) {
		c, err := s.modify(ctx, tx, who, entityThreshold, modelID, func([]byte) ([]byte, error) {
			return json.Marshal(thresholdState{Value: &value})
		})
		if c == nil || err != nil {
			return nil, err
		}
		return []change{*c}, nil
	})
	return err
}
