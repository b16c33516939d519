package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Model is an ONNX model file registered in the project.
type Model struct {
	ID       int64
	Hash     string // sha256 of the file, hex
	Path     string
	Name     string
	Metadata map[string]string // the contract metadata_props
	Added    time.Time
}

// AddModel registers the model file at path with its contract metadata. The model is
// identified by the sha256 of the file: adding the same file again (even moved) returns the
// existing model with its path, name and metadata updated.
func (s *Store) AddModel(ctx context.Context, path, name string, metadata map[string]string) (Model, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Model{}, fmt.Errorf("add model %s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return Model{}, fmt.Errorf("add model %s: %w", abs, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return Model{}, fmt.Errorf("add model %s: %w", abs, err)
	}
	if metadata == nil {
		metadata = map[string]string{}
	}
	md, err := json.Marshal(metadata)
	if err != nil {
		return Model{}, fmt.Errorf("add model %s: %w", abs, err)
	}
	m := Model{Hash: hex.EncodeToString(h.Sum(nil)), Path: abs, Name: name, Metadata: metadata}
	err = s.write(ctx, "add model "+abs, func(tx *sql.Tx) error {
		var added string
		err := tx.QueryRowContext(ctx, `INSERT INTO models (hash, path, name, metadata, added) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (hash) DO UPDATE SET path = excluded.path, name = excluded.name, metadata = excluded.metadata
			RETURNING id, added`, m.Hash, abs, name, string(md), s.stamp()).Scan(&m.ID, &added)
		m.Added = parseTime(added)
		return err
	})
	if err != nil {
		return Model{}, err
	}
	return m, nil
}

// Model returns a registered model.
func (s *Store) Model(ctx context.Context, id int64) (Model, error) {
	ms, err := s.models(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Model{}, err
	}
	if len(ms) == 0 {
		return Model{}, fmt.Errorf("model %d: %w", id, ErrNotFound)
	}
	return ms[0], nil
}

// Models lists the registered models in the order they were added.
func (s *Store) Models(ctx context.Context) ([]Model, error) {
	return s.models(ctx, ``)
}

func (s *Store) models(ctx context.Context, where string, args ...any) ([]Model, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, hash, path, name, metadata, added FROM models `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, s.wrap("list models", err)
	}
	defer rows.Close()
	var out []Model
	for rows.Next() {
		var m Model
		var md, added string
		if err := rows.Scan(&m.ID, &m.Hash, &m.Path, &m.Name, &md, &added); err != nil {
			return nil, s.wrap("list models", err)
		}
		if err := json.Unmarshal([]byte(md), &m.Metadata); err != nil {
			return nil, fmt.Errorf("model %d in %s: %w: metadata: %v", m.ID, s.path, ErrCorrupt, err)
		}
		m.Added = parseTime(added)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list models", err)
	}
	return out, nil
}

// RunStatus is the state of an inference run.
type RunStatus string

// Run states.
const (
	RunRunning   RunStatus = "running"
	RunDone      RunStatus = "done"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
)

// Run is one inference pass of a model over some images.
type Run struct {
	ID       int64
	ModelID  int64
	Params   json.RawMessage
	Started  time.Time
	Finished time.Time // zero while running
	Provider string
	Status   RunStatus
	Error    string
}

// StartRun records the start of an inference run; params is marshalled to JSON.
func (s *Store) StartRun(ctx context.Context, modelID int64, params any, provider string) (int64, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return 0, fmt.Errorf("start run of model %d: %w: params: %v", modelID, ErrInvalid, err)
	}
	if params == nil {
		p = []byte("{}")
	}
	var id int64
	err = s.write(ctx, fmt.Sprintf("start run of model %d", modelID), func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "models", modelID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO runs (model_id, params, started, provider) VALUES (?, ?, ?, ?) RETURNING id`,
			modelID, string(p), s.stamp(), provider).Scan(&id)
	})
	return id, err
}

// FinishRun records the end of a run with its final status and, for failures, the error text.
func (s *Store) FinishRun(ctx context.Context, runID int64, status RunStatus, errText string) error {
	switch status {
	case RunDone, RunFailed, RunCancelled:
	default:
		return fmt.Errorf("finish run %d: %w: status %q", runID, ErrInvalid, status)
	}
	return s.write(ctx, fmt.Sprintf("finish run %d", runID), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET finished = ?, status = ?, error = ? WHERE id = ?`,
			s.stamp(), string(status), errText, runID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("run %d: %w", runID, ErrNotFound)
		}
		return nil
	})
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	rs, err := s.runs(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Run{}, err
	}
	if len(rs) == 0 {
		return Run{}, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

// Runs lists the runs of a model (all runs when modelID is 0), oldest first.
func (s *Store) Runs(ctx context.Context, modelID int64) ([]Run, error) {
	if modelID == 0 {
		return s.runs(ctx, ``)
	}
	return s.runs(ctx, `WHERE model_id = ?`, modelID)
}

func (s *Store) runs(ctx context.Context, where string, args ...any) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, model_id, params, started, finished, provider, status, error FROM runs `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, s.wrap("list runs", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var params, started string
		var finished sql.NullString
		if err := rows.Scan(&r.ID, &r.ModelID, &params, &started, &finished, &r.Provider, &r.Status, &r.Error); err != nil {
			return nil, s.wrap("list runs", err)
		}
		r.Params = json.RawMessage(params)
		r.Started, r.Finished = parseTime(started), parseNullTime(finished)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list runs", err)
	}
	return out, nil
}

// Processed lists the ids of the images whose detections run runID has stored, so an
// interrupted batch can resume where it stopped.
func (s *Store) Processed(ctx context.Context, runID int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT image_id FROM run_images WHERE run_id = ? ORDER BY image_id`, runID)
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("images processed by run %d", runID), err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap("processed images", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Class is a defect class.
type Class struct {
	ID    int64
	Name  string
	Color string // "#rrggbb" or ""
}

// AddClass adds a custom defect class, or updates the color of an existing one.
func (s *Store) AddClass(ctx context.Context, name, color string) (Class, error) {
	if name == "" {
		return Class{}, fmt.Errorf("add class: %w: empty name", ErrInvalid)
	}
	c := Class{Name: name, Color: color}
	err := s.write(ctx, "add class "+name, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO classes (name, color) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET color = excluded.color RETURNING id`, name, color).Scan(&c.ID)
	})
	return c, err
}

// Classes lists the custom classes by name.
func (s *Store) Classes(ctx context.Context) ([]Class, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, color FROM classes ORDER BY name`)
	if err != nil {
		return nil, s.wrap("list classes", err)
	}
	defer rows.Close()
	var out []Class
	for rows.Next() {
		var c Class
		if err := rows.Scan(&c.ID, &c.Name, &c.Color); err != nil {
			return nil, s.wrap("list classes", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Threshold returns the global anomaly threshold set for a model; ok is false when none is set.
func (s *Store) Threshold(ctx context.Context, modelID int64) (value float64, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT value FROM thresholds WHERE model_id = ?`, modelID).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap(fmt.Sprintf("threshold of model %d", modelID), err)
	}
	return value, true, nil
}
