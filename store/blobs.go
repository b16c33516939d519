package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// PutBlob stores data in the blob folder under its sha256 and returns the hex hash. The file
// is written to a temporary name, synced and renamed, so a blob either exists whole or not at
// all; storing the same bytes twice writes once.
func (s *Store) PutBlob(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if err := writeBlob(s.blobPath(hash), data); err != nil {
		return "", fmt.Errorf("write blob of project %s: %w", s.path, classify(err))
	}
	return hash, nil
}

// Blob reads the blob with the given hash and verifies its content.
func (s *Store) Blob(hash string) ([]byte, error) {
	p := s.blobPath(hash)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read blob %s: %w", p, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", p, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != hash {
		return nil, fmt.Errorf("read blob %s: %w: content does not match its sha256", p, ErrCorrupt)
	}
	return data, nil
}

func (s *Store) blobPath(hash string) string {
	if len(hash) < 3 {
		return filepath.Join(s.blobs, hash)
	}
	return filepath.Join(s.blobs, hash[:2], hash)
}

// writeBlob writes data to path atomically: temp file in the same folder, fsync, rename,
// fsync of the folder. An existing file of the right size is kept.
func writeBlob(path string, data []byte) error {
	if st, err := os.Stat(path); err == nil && st.Size() == int64(len(data)) {
		return nil
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// Make the new folders themselves durable: sync the blob folder and its parent.
		for _, d := range []string{filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
			if err := syncDir(d); err != nil {
				return err
			}
		}
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// PutMap stores a map (kind "anomaly", "recon", "gate", ... in the caller's encoding) of an
// image computed by a run. The blob is durable before the row that names it; replacing a map
// of the same run, image and kind keeps the old blob file (content-addressed, maybe shared).
func (s *Store) PutMap(ctx context.Context, runID, imageID int64, kind string, data []byte) error {
	if kind == "" {
		return fmt.Errorf("put map: %w: empty kind", ErrInvalid)
	}
	hash, err := s.PutBlob(data)
	if err != nil {
		return fmt.Errorf("put %s map of run %d image %d: %w", kind, runID, imageID, err)
	}
	return s.write(ctx, fmt.Sprintf("put %s map of run %d image %d", kind, runID, imageID), func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "runs", runID); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "images", imageID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO maps (run_id, image_id, kind, blob, size) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (image_id, run_id, kind) DO UPDATE SET blob = excluded.blob, size = excluded.size`,
			runID, imageID, kind, hash, len(data))
		return err
	})
}

// Map returns the bytes of a map stored by PutMap, verified against its hash.
func (s *Store) Map(ctx context.Context, runID, imageID int64, kind string) ([]byte, error) {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT blob FROM maps WHERE run_id = ? AND image_id = ? AND kind = ?`,
		runID, imageID, kind).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s map of run %d image %d: %w", kind, runID, imageID, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("%s map of run %d image %d", kind, runID, imageID), err)
	}
	return s.Blob(hash)
}

// mustExist returns ErrNotFound naming table and id when the row is missing.
func mustExist(ctx context.Context, tx *sql.Tx, table string, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %d: %w", singular(table), id, ErrNotFound)
	}
	return err
}

func singular(table string) string {
	switch table {
	case "images":
		return "image"
	case "models":
		return "model"
	case "runs":
		return "run"
	case "detections":
		return "detection"
	case "labels":
		return "label"
	}
	return table
}

// PruneBlobs removes blob files that no map refers to and that are older than minAge (a
// blob is written before the row naming it, so a concurrent PutMap's fresh blob must not be
// taken), and leftover temporary files older than minAge. It returns the files removed and
// the bytes freed.
func (s *Store) PruneBlobs(ctx context.Context, minAge time.Duration) (removed int, freed int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT blob FROM maps`)
	if err != nil {
		return 0, 0, s.wrap("prune blobs", err)
	}
	used := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, 0, s.wrap("prune blobs", err)
		}
		used[h] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, s.wrap("prune blobs", err)
	}
	cutoff := time.Now().Add(-minAge)
	err = filepath.WalkDir(s.blobs, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) && p == s.blobs {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		if used[d.Name()] {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(cutoff) {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		removed++
		freed += info.Size()
		return nil
	})
	if err != nil {
		return removed, freed, fmt.Errorf("prune blobs in %s: %w", s.blobs, err)
	}
	return removed, freed, nil
}
