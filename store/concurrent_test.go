package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentWriters runs the UI (decisions one by one) and a batch inference writer
// (detections image by image) at once, as goroutines on one Store, on two Stores of the same
// file, and as separate processes, and checks that no write fails or goes missing.
func TestConcurrentWriters(t *testing.T) {
	const decisions, batchImages, perImage = 200, 60, 150
	tests := []struct {
		name string
		// where the UI and the batch writer run: "same" store, "second" store, or "process"
		ui, batch string
	}{
		{"goroutines on one store", "same", "same"},
		{"goroutines on two stores", "same", "second"},
		{"batch writer in another process", "same", "process"},
		{"UI in another process", "process", "same"},
		{"both in other processes", "process", "process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 1+batchImages, 0)
			uiDets, err := f.s.AddDetections(ctx, f.run, f.images[0], fakeDetections(decisions, 0))
			if err != nil {
				t.Fatal(err)
			}
			other, err := Open(f.path)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			batchImgs := f.images[1:]
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			runIn := func(where, mode string, first, last int64, inProc func(s *Store) error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch where {
					case "process":
						cmd := child(t, mode, f.path, "HISIR_WHO=ui", "HISIR_PAUSE_US=2000", "HISIR_RUN="+strconv.FormatInt(f.run, 10),
							"HISIR_PER="+strconv.Itoa(perImage), fmt.Sprintf("HISIR_FIRST=%d", first), fmt.Sprintf("HISIR_LAST=%d", last))
						lines, err := runChild(t, cmd)
						if err != nil {
							errs <- fmt.Errorf("%s process: %v: %s", mode, err, strings.Join(lines, "\n"))
						}
					case "second":
						errs <- inProc(other)
					default:
						errs <- inProc(f.s)
					}
				}()
			}
			runIn(tc.ui, "decide", uiDets[0], uiDets[len(uiDets)-1], func(s *Store) error {
				var worst time.Duration
				for _, id := range uiDets {
					t0 := time.Now()
					if err := s.SetStatus(ctx, "ui", statusFor(id), id); err != nil {
						return err
					}
					worst = max(worst, time.Since(t0))
					time.Sleep(2 * time.Millisecond) // an inspector clicks; the batch writer does not pause
				}
				t.Logf("slowest in-process decision: %v", worst)
				return nil
			})
			runIn(tc.batch, "batch", batchImgs[0], batchImgs[len(batchImgs)-1], func(s *Store) error {
				for _, img := range batchImgs {
					if _, err := s.AddDetections(ctx, f.run, img, fakeDetections(perImage, img)); err != nil {
						return err
					}
				}
				return nil
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range uiDets {
				d, err := f.s.Detection(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if d.Status != statusFor(id) {
					t.Fatalf("decision on detection %d lost: %s", id, d.Status)
				}
			}
			for _, img := range batchImgs {
				ds, err := f.s.Detections(ctx, img, f.run)
				if err != nil {
					t.Fatal(err)
				}
				if len(ds) != perImage {
					t.Fatalf("image %d has %d detections, want %d", img, len(ds), perImage)
				}
			}
			log, _ := f.s.Audit(ctx, AuditFilter{Who: "ui"})
			if len(log) != decisions {
				t.Fatalf("%d audit entries, want %d", len(log), decisions)
			}
			// The two writers really overlapped in time.
			var uiFirst, uiLast, batchFirst, batchLast string
			f.s.db.QueryRow(`SELECT min(at), max(at) FROM audit WHERE who = 'ui'`).Scan(&uiFirst, &uiLast)
			f.s.db.QueryRow(`SELECT min(done), max(done) FROM run_images WHERE image_id != ?`, f.images[0]).Scan(&batchFirst, &batchLast)
			if !(uiFirst < batchLast && batchFirst < uiLast) {
				t.Errorf("writers did not overlap: UI %s..%s, batch %s..%s", uiFirst, uiLast, batchFirst, batchLast)
			}
			if ok, err := f.s.IntegrityCheck(ctx); err != nil || ok != "ok" {
				t.Fatalf("integrity_check = %q, %v", ok, err)
			}
		})
	}
}

// TestConcurrentCreate opens one new project from several goroutines (separate Stores) at
// once: exactly one creates the schema, all succeed and write.
func TestConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.hisir")
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := Open(path)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			_, errs[i] = s.AddClass(ctx, fmt.Sprintf("class_%d", i), "")
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("opener %d: %v", i, err)
		}
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if cs, _ := s.Classes(ctx); len(cs) != n {
		t.Fatalf("%d classes, want %d", len(cs), n)
	}
	if v := pragma(t, s, "user_version"); v != strconv.Itoa(SchemaVersion()) {
		t.Fatalf("user_version %s", v)
	}
}

// TestBusyIsClassified holds the write lock from a raw connection past a short busy timeout
// and checks the error a writer gets names the project and wraps ErrBusy.
func TestBusyIsClassified(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 1)
	raw, err := sql.Open("sqlite3", f.path+"?_busy_timeout=50")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")
	f.s.db.SetMaxOpenConns(1) // the connection given the short timeout below is the only one
	if _, err := f.s.db.ExecContext(ctx, "PRAGMA busy_timeout = 100"); err != nil {
		t.Fatal(err)
	}
	err = f.s.SetStatus(ctx, "ana", Accepted, f.dets[0])
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), f.path) {
		t.Fatalf("error %v, want ErrBusy naming %s", err, f.path)
	}
}
