package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// imageState is what removing an image changes (audit JSON).
type imageState struct {
	Removed bool `json:"removed"`
}

// RemoveImages takes images out of the project, as one undoable operation of who: they
// disappear from Images, Summaries, StateCounts, export and tuning, but nothing is deleted —
// their runs' detections, score maps and labels stay, and Undo (or RestoreImages) brings
// them back as they were. All ids must exist: an unknown id fails the whole call (wrapping
// ErrNotFound) and changes nothing. Ids already removed are left as they are.
func (s *Store) RemoveImages(ctx context.Context, who string, ids ...int64) error {
	return s.setRemoved(ctx, who, true, ids)
}

// RestoreImages puts removed images back into the project, as one undoable operation of
// who (the counterpart of RemoveImages for callers that keep their own undo history).
// An unknown id fails the whole call (wrapping ErrNotFound) and changes nothing.
func (s *Store) RestoreImages(ctx context.Context, who string, ids ...int64) error {
	return s.setRemoved(ctx, who, false, ids)
}

func (s *Store) setRemoved(ctx context.Context, who string, removed bool, ids []int64) error {
	verb := "restore"
	if removed {
		verb = "remove"
	}
	op := fmt.Sprintf("%s %d images", verb, len(ids))
	if len(ids) == 1 {
		op = fmt.Sprintf("%s image %d", verb, ids[0])
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	_, err := s.edit(ctx, op, who, func(tx *sql.Tx) ([]change, error) {
		var out []change
		for _, id := range ids {
			c, err := s.modify(ctx, tx, who, entityImage, id, func([]byte) ([]byte, error) {
				return json.Marshal(imageState{Removed: removed})
			})
			if err != nil {
				return nil, err
			}
			if c != nil {
				out = append(out, *c)
			}
		}
		return out, nil
	})
	return err
}

// restoreByHash brings back the removed image with this hash (ImportImages of its file
// again), logged as an edit by "import"; false when no removed image has the hash.
func (s *Store) restoreByHash(ctx context.Context, tx *sql.Tx, hash string) (bool, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM images WHERE hash = ? AND removed IS NOT NULL`, hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	const who = "import"
	c, err := s.modify(ctx, tx, who, entityImage, id, func([]byte) ([]byte, error) {
		return json.Marshal(imageState{Removed: false})
	})
	if err != nil || c == nil {
		return false, err
	}
	if _, err := s.log(ctx, tx, who, ActionEdit, 0, []change{*c}); err != nil {
		return false, err
	}
	return true, nil
}

// PurgeRemoved deletes for good the images removed from the project at least olderThan ago,
// with their run results, score map rows and labels (the foreign keys cascade), and returns
// how many images it deleted. The audit log keeps its entries; undoing or redoing an edit
// of a purged image, detection or label fails with ErrUndoConflict and ErrPurged. Score map
// blobs are files: PruneBlobs frees those no longer referenced.
func (s *Store) PurgeRemoved(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("purge removed images: %w: negative age %v", ErrInvalid, olderThan)
	}
	cutoff := s.now().Add(-olderThan).UTC().Format(timeFormat)
	var n int64
	err := s.write(ctx, "purge removed images", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM images WHERE removed IS NOT NULL AND removed <= ?`, cutoff)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
