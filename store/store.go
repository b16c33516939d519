// Package store is the HiSIR project database: images, models, inference runs, detections,
// hand-drawn labels, thresholds and an append-only audit log with per-user undo and redo,
// kept in one SQLite file, plus a content-addressed blob folder beside it for large data
// such as anomaly maps.
//
// Every operation is one transaction, committed with synchronous=FULL in WAL mode: once a
// call returns nil, the change survives a crash of the process or the machine. Several
// goroutines and several processes may use one project at once; writers queue on SQLite's
// lock (busy timeout 10 s) instead of failing with "database is locked".
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ApplicationID is the PRAGMA application_id of every HiSIR project file ("HSIR").
const ApplicationID = 0x48534952

// Errors callers can check with errors.Is.
var (
	// ErrNotDatabase: the file is not an SQLite database at all.
	ErrNotDatabase = errors.New("not an SQLite database")
	// ErrForeignDatabase: the file is an SQLite database of another application.
	ErrForeignDatabase = errors.New("SQLite database of another application, not a HiSIR project")
	// ErrCorrupt: the project file is damaged (truncated, malformed pages).
	ErrCorrupt = errors.New("project file is damaged")
	// ErrNewerSchema: the project was written by a newer HiSIR with a schema this one does not know.
	ErrNewerSchema = errors.New("project was written by a newer HiSIR version")
	// ErrReadOnly: the project file or its folder cannot be written.
	ErrReadOnly = errors.New("project file or its folder is not writable")
	// ErrDiskFull: the disk (or the file size limit) is full; nothing of the failed operation was saved.
	ErrDiskFull = errors.New("disk full")
	// ErrBusy: another program kept the project locked for longer than the busy timeout (10 s).
	ErrBusy = errors.New("project is busy: another program kept it locked for more than 10 s")
	// ErrNotFound: the image, model, run, detection, label or map does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: an argument is out of range (unknown status, empty polygon, ...).
	ErrInvalid = errors.New("invalid argument")
	// ErrAlreadyProcessed: detections of this run and image were already stored.
	ErrAlreadyProcessed = errors.New("image already processed by this run")
	// ErrNothingToUndo and ErrNothingToRedo: the user's undo or redo stack is empty.
	ErrNothingToUndo = errors.New("nothing to undo")
	ErrNothingToRedo = errors.New("nothing to redo")
	// ErrUndoConflict: someone changed the entity after the edit being undone or redone;
	// the edit is dropped from the stack and nothing is changed.
	ErrUndoConflict = errors.New("changed by a later edit")
	// ErrPurged: an undo or redo refers to an image (or its detections or labels) that
	// PurgeRemoved deleted for good; it comes with ErrUndoConflict.
	ErrPurged = errors.New("purged from the project")
)

// synchronous is the PRAGMA synchronous of every connection: FULL syncs the WAL at every
// commit, so a decision survives a power cut once the call returns. (Benchmarks compare NORMAL.)
var synchronous = "FULL"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is an open project. Its methods are safe for concurrent use.
type Store struct {
	db    *sql.DB
	path  string
	blobs string
	mu    sync.Mutex // serialises this Store's write transactions
	wl    writerLock // queues write transactions across Stores and processes
	now   func() time.Time
}

// Open opens the project database at path, creating it (and running the migrations) when the
// file does not exist or is empty. A file that is not a HiSIR project is refused without being
// modified (ErrNotDatabase, ErrForeignDatabase, ErrCorrupt, ErrNewerSchema).
func Open(path string) (*Store, error) {
	return OpenContext(context.Background(), path)
}

// OpenExisting is Open for a project that must already exist: a missing file is an error
// wrapping ErrNotFound instead of a new project.
func OpenExisting(path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open project %s: %w: no such file", path, ErrNotFound)
		}
		return nil, fmt.Errorf("open project %s: %w", path, err)
	}
	return Open(path)
}

// OpenContext is Open with a context for the migrations.
func OpenContext(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open project %s: %w", path, err)
	}
	if strings.ContainsAny(abs, "?#") {
		return nil, fmt.Errorf("open project %s: %w: path must not contain '?' or '#'", abs, ErrInvalid)
	}
	if err := preflight(abs); err != nil {
		return nil, fmt.Errorf("open project %s: %w", abs, err)
	}
	dsn := abs + "?_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=immediate&_synchronous=" + synchronous
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open project %s: %w", abs, err)
	}
	s := &Store{db: db, path: abs, blobs: blobDir(abs), now: time.Now, wl: openWriterLock(abs)}
	if err := s.init(ctx); err != nil {
		s.wl.close()
		db.Close()
		return nil, fmt.Errorf("open project %s: %w", abs, err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	var check string
	if err := s.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return classify(err)
	}
	if check != "ok" {
		return fmt.Errorf("%w: quick_check: %s", ErrCorrupt, check)
	}
	return nil
}

// Close closes the database. Changes are already durable; Close only releases files.
func (s *Store) Close() error {
	s.wl.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close project %s: %w", s.path, err)
	}
	return nil
}

// Path is the absolute path of the project database file.
func (s *Store) Path() string { return s.path }

// BlobDir is the folder beside the database holding content-addressed blobs.
func (s *Store) BlobDir() string { return s.blobs }

// blobDir maps "dir/name.ext" to "dir/name.blobs".
func blobDir(dbPath string) string {
	ext := filepath.Ext(dbPath)
	return strings.TrimSuffix(dbPath, ext) + ".blobs"
}

// preflight reads the header of an existing file and refuses, before SQLite touches it (opening
// with journal_mode=WAL would rewrite a foreign database's header), anything that is not an
// empty file, an empty SQLite database or a HiSIR project that is complete on disk.
func preflight(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		// Create it here: SQLite reports a read-only folder as "no such file".
		nf, cerr := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if cerr == nil {
			return nf.Close()
		}
		if !errors.Is(cerr, os.ErrExist) {
			return classify(cerr)
		}
		f, err = os.Open(path) // created by a concurrent opener
	}
	if err != nil {
		return classify(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%w: it is a folder", ErrNotDatabase)
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: file is %d bytes, shorter than an SQLite header", ErrNotDatabase, size)
		}
		return err
	}
	if string(h[:16]) != "SQLite format 3\x00" {
		return ErrNotDatabase
	}
	// The header in the main file may be older than the WAL (another process has the project
	// open); only a HiSIR application_id there is final, anything else is asked of SQLite.
	if binary.BigEndian.Uint32(h[68:72]) != ApplicationID {
		if err := checkOwner(path); err != nil {
			return err
		}
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("%w: bad page size %d in the header", ErrCorrupt, pageSize)
	}
	if size%pageSize != 0 {
		return fmt.Errorf("%w: file size %d is not a whole number of %d-byte pages (truncated?)", ErrCorrupt, size, pageSize)
	}
	// The in-header page count is valid when the version-valid-for number matches the change
	// counter. A pending WAL may legitimately describe a larger file; SQLite replays it.
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	if binary.BigEndian.Uint32(h[92:96]) == binary.BigEndian.Uint32(h[24:28]) && pages*pageSize > size {
		if st, err := os.Stat(path + "-wal"); err != nil || st.Size() == 0 {
			return fmt.Errorf("%w: file is %d bytes but its header says %d pages of %d (truncated)",
				ErrCorrupt, size, pages, pageSize)
		}
	}
	return nil
}

// checkOwner opens the file read-only (changing nothing) and refuses it unless it is a HiSIR
// project or an SQLite database without application_id and without tables.
func checkOwner(path string) error {
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var appID, version, n int64
	err = db.QueryRow(`SELECT (SELECT application_id FROM pragma_application_id),
		(SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema)`).Scan(&appID, &version, &n)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotDatabase, classify(err))
	}
	switch {
	case appID == ApplicationID:
		return nil
	case appID != 0:
		return fmt.Errorf("%w (application_id %#x)", ErrForeignDatabase, appID)
	case n != 0 || version != 0:
		return fmt.Errorf("%w: it has %d tables but no HiSIR application_id", ErrForeignDatabase, n)
	}
	return nil
}

// migrations returns the embedded migrations in order; file i (from 1) is "000i_name.sql".
func migrations() ([]string, error) {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		num, err := strconv.Atoi(strings.SplitN(n, "_", 2)[0])
		if err != nil || num != i+1 {
			return nil, fmt.Errorf("migration %s is out of sequence (want number %d)", n, i+1)
		}
		b, err := migrationFS.ReadFile("migrations/" + n)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// SchemaVersion is the schema version this package writes (the number of migrations).
func SchemaVersion() int {
	m, _ := migrations()
	return len(m)
}

// connect opens the first connection. Its setup (the DSN's pragmas, journal_mode=WAL among
// them) can meet another opener's lock on a project being created and fail at once with
// "database is locked", without the busy timeout: retry for as long as the busy timeout.
func (s *Store) connect(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second) // the DSN's _busy_timeout
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.db.PingContext(ctx)
		if err == nil || !errors.Is(classify(err), ErrBusy) || time.Now().After(deadline) {
			return classify(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// migrate brings the schema to the newest version, one BEGIN IMMEDIATE transaction per
// migration, re-reading user_version inside each so concurrent openers do not race.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	// Up to date: done without taking the write lock, which a busy writer may hold.
	var version, appID int
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT application_id FROM pragma_application_id)`).Scan(&version, &appID)
	if err != nil {
		return classify(err)
	}
	if appID == ApplicationID && version == len(ms) {
		return nil
	}
	for {
		done, err := s.migrateOne(ctx, ms)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne(ctx context.Context, ms []string) (done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, classify(err)
	}
	defer tx.Rollback()
	var version, appID int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, classify(err)
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return false, classify(err)
	}
	if appID != ApplicationID && (appID != 0 || version != 0) {
		return false, fmt.Errorf("%w (application_id %#x)", ErrForeignDatabase, appID)
	}
	if appID == 0 {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return false, classify(err)
		}
		if n != 0 {
			return false, fmt.Errorf("%w: it has %d tables but no HiSIR application_id", ErrForeignDatabase, n)
		}
	}
	if version > len(ms) {
		return false, fmt.Errorf("%w: schema %d, this version knows up to %d", ErrNewerSchema, version, len(ms))
	}
	if version == len(ms) {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, ms[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, classify(err))
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", version+1, ApplicationID)); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, classify(err))
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, classify(err))
	}
	return false, nil
}

// write runs fn in one BEGIN IMMEDIATE transaction and commits it. op names the operation
// in errors.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.wl.lock(ctx)()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// wrap gives err the operation and project file as context and maps SQLite codes to sentinels.
func (s *Store) wrap(op string, err error) error {
	return fmt.Errorf("%s in %s: %w", op, s.path, classify(err))
}

// classify adds a sentinel (ErrDiskFull, ErrReadOnly, ErrCorrupt, ErrNotDatabase) to err when
// it is an SQLite or system error of that kind.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	var se sqlite3.Error
	var errno syscall.Errno
	switch {
	case errors.Is(err, ErrDiskFull), errors.Is(err, ErrReadOnly), errors.Is(err, ErrCorrupt), errors.Is(err, ErrBusy),
		errors.Is(err, ErrNotDatabase), errors.Is(err, ErrForeignDatabase):
		return err
	case errors.As(err, &se):
		switch {
		case se.Code == sqlite3.ErrFull || isFullErrno(se.SystemErrno):
			sentinel = ErrDiskFull
		case se.Code == sqlite3.ErrReadonly || isROErrno(se.SystemErrno):
			sentinel = ErrReadOnly
		case se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked:
			sentinel = ErrBusy
		case se.Code == sqlite3.ErrCorrupt:
			sentinel = ErrCorrupt
		case se.Code == sqlite3.ErrNotADB:
			sentinel = ErrNotDatabase
		}
	case errors.As(err, &errno):
		switch {
		case isFullErrno(errno):
			sentinel = ErrDiskFull
		case isROErrno(errno):
			sentinel = ErrReadOnly
		}
	}
	if sentinel == nil {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

func isFullErrno(e syscall.Errno) bool {
	return e == syscall.ENOSPC || e == syscall.EFBIG || e == syscall.EDQUOT
}

func isROErrno(e syscall.Errno) bool {
	return e == syscall.EACCES || e == syscall.EROFS || e == syscall.EPERM
}

// timeFormat is the fixed-width UTC text form of every time column.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func (s *Store) stamp() string { return s.now().UTC().Format(timeFormat) }

func parseTime(v string) time.Time {
	t, _ := time.Parse(timeFormat, v)
	return t
}

func parseNullTime(v sql.NullString) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return parseTime(v.String)
}

// IntegrityCheck runs PRAGMA integrity_check and returns its report ("ok" when sound).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return "", s.wrap("integrity check", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return "", s.wrap("integrity check", err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return "", s.wrap("integrity check", err)
	}
	return strings.Join(lines, "\n"), nil
}
