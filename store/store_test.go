package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// pragma reads one PRAGMA on a connection of the store.
func pragma(t *testing.T, s *Store, name string) string {
	t.Helper()
	var v string
	if err := s.db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenCreatesMigratesAndReopens(t *testing.T) {
	emptySQLite := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("VACUUM"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"missing file", func(t *testing.T, path string) {}},
		{"empty SQLite database, odd name 100% Platine ü.hisir", emptySQLite},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty SQLite database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("VACUUM"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "p.hisir"
			if strings.HasPrefix(tc.name, "empty SQLite database, odd name ") {
				name = strings.TrimPrefix(tc.name, "empty SQLite database, odd name ")
			}
			path := filepath.Join(t.TempDir(), name)
			tc.prepare(t, path)
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"user_version":   strconv.Itoa(SchemaVersion()),
				"application_id": strconv.Itoa(ApplicationID),
				"journal_mode":   "wal",
				"foreign_keys":   "1",
				"synchronous":    "2", // FULL
				"busy_timeout":   "10000",
			}
			for k, v := range want {
				if got := pragma(t, s, k); got != v {
					t.Errorf("PRAGMA %s = %s, want %s", k, got, v)
				}
			}
			ctx := context.Background()
			if _, err := s.AddClass(ctx, "tombstone", "#ff0000"); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open(path)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			cs, err := s.Classes(ctx)
			if err != nil || len(cs) != 1 || cs[0].Name != "tombstone" {
				t.Fatalf("classes after reopen = %v, %v", cs, err)
			}
			if got := pragma(t, s, "user_version"); got != strconv.Itoa(SchemaVersion()) {
				t.Fatalf("user_version after reopen = %s", got)
			}
		})
	}
}

func TestOpenRefusesWithoutTouching(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    error
	}{
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("these are my notes, not a database\n", 100)), 0o644)
		}, ErrNotDatabase},
		{"short file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("SQLite format 3\x00 but only a piece"), 0o644)
		}, ErrNotDatabase},
		{"PNG named like a project", func(t *testing.T, path string) {
			b, _ := os.ReadFile(writePNG(t, t.TempDir(), "x.png", 40, 30, 1))
			os.WriteFile(path, b, 0o644)
		}, ErrNotDatabase},
		{"foreign SQLite database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)"); err != nil {
				t.Fatal(err)
			}
		}, ErrForeignDatabase},
		{"other application_id", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("PRAGMA application_id = 1234"); err != nil {
				t.Fatal(err)
			}
		}, ErrForeignDatabase},
		{"truncated to whole pages", func(t *testing.T, path string) {
			makeProject(t, path, 20, 200)
			if err := os.Truncate(path, 3*4096); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt},
		{"truncated mid-page", func(t *testing.T, path string) {
			makeProject(t, path, 20, 200)
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-1000); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt},
		{"newer schema", func(t *testing.T, path string) {
			makeProject(t, path, 1, 1)
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
				t.Fatal(err)
			}
		}, ErrNewerSchema},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "p.hisir")
			tc.prepare(t, path)
			before := fileSum(t, path)
			entries, _ := os.ReadDir(dir)
			s, err := OpenContext(ctx, path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if fileSum(t, path) != before {
				t.Error("the refused file was modified")
			}
			after, _ := os.ReadDir(dir)
			if len(after) != len(entries) && tc.want != ErrNewerSchema {
				t.Errorf("open left files behind: %v", after)
			}
		})
	}
}

// makeProject creates a closed project at path with images × per detections.
func makeProject(t *testing.T, path string, images, per int) {
	t.Helper()
	f := newFixtureIn(t, filepath.Dir(path), images, per)
	if f.path != path {
		if err := f.s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path, path); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
}

// asNobody runs cmd as an unprivileged user when the tests run as root, so that file
// permissions apply; the test binary is copied where that user can run it.
func asNobody(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	bin := filepath.Join(t.TempDir(), "storetest")
	data, err := os.ReadFile(cmd.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	openUp(t, filepath.Dir(bin))
	cmd.Path, cmd.Args[0] = bin, bin
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Env = append(cmd.Env, "HOME=/tmp", "GOCACHE=off")
}

// openUp makes dir and its parents up to the temp root traversable by everyone.
func openUp(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadOnlyFolder(t *testing.T) {
	tests := []struct {
		name     string
		existing bool
	}{
		{"new project", false},
		{"existing project", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ro")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "p.hisir")
			var before [32]byte
			if tc.existing {
				makeProject(t, path, 2, 3)
				os.Chmod(path, 0o444)
				before = fileSum(t, path)
			}
			openUp(t, dir)
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			cmd := child(t, "open", path)
			asNobody(t, cmd)
			lines, err := runChild(t, cmd)
			if err == nil {
				t.Fatalf("open in a read-only folder succeeded: %v", lines)
			}
			msg := strings.Join(lines, "\n")
			t.Logf("child: %s", msg)
			if !strings.Contains(msg, ErrReadOnly.Error()) || !strings.Contains(msg, path) {
				t.Fatalf("child said %q, want %q naming %s", msg, ErrReadOnly, path)
			}
			if tc.existing && fileSum(t, path) != before {
				t.Fatal("project file changed")
			}
		})
	}
}

func TestDiskFull(t *testing.T) {
	tests := []struct {
		name string
		env  []string
	}{
		{"detections", nil},
		{"map blob then detections", []string{"HISIR_MAP=1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 40, 5)
			if err := f.s.SetStatus(ctx, "ana", Accepted, f.dets[0], f.dets[1]); err != nil {
				t.Fatal(err)
			}
			want, err := f.s.Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.s.Close(); err != nil {
				t.Fatal(err)
			}
			// The first 20 images have detections already; the helper adds big batches from image 21.
			st, _ := os.Stat(f.path)
			limit := st.Size() + 256<<10
			cmd := child(t, "fill", f.path, "HISIR_FSIZE="+strconv.FormatInt(limit, 10),
				"HISIR_RUN="+strconv.FormatInt(f.run, 10), "HISIR_FIRST=41")
			cmd.Env = append(cmd.Env, tc.env...)
			// Images 41.. must exist: add them first.
			s, err := Open(f.path)
			if err != nil {
				t.Fatal(err)
			}
			err = s.write(ctx, "more images", func(tx *sql.Tx) error {
				for i := 41; i <= 200; i++ {
					if _, err := tx.Exec(`INSERT INTO images (id, path, hash, width, height, added) VALUES (?, 'x', ?, 1, 1, '')`,
						i, strconv.Itoa(i)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			lines, err := runChild(t, cmd)
			if err != nil {
				t.Fatalf("helper failed: %v\n%s", err, strings.Join(lines, "\n"))
			}
			last := lines[len(lines)-1]
			t.Logf("helper: %d lines, first %q, last %q", len(lines), lines[0], last)
			if !strings.HasPrefix(last, "full: ") || !strings.Contains(last, f.path) || !strings.Contains(last, "disk full") {
				t.Fatalf("last helper line %q: want a disk full error naming %s", last, f.path)
			}
			s, err = Open(f.path)
			if err != nil {
				t.Fatalf("reopen after disk full: %v", err)
			}
			defer s.Close()
			if ok, err := s.IntegrityCheck(ctx); err != nil || ok != "ok" {
				t.Fatalf("integrity after disk full: %q %v", ok, err)
			}
			got, err := s.Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("image %d summary %+v after disk full, want %+v", want[i].ImageID, got[i], want[i])
				}
			}
			// Every acknowledged batch is complete, the failed one absent.
			acked := 0
			for _, l := range lines {
				if strings.HasPrefix(l, "ack ") {
					acked++
				}
			}
			done, _ := s.Processed(ctx, f.run)
			if len(done) != 40+acked {
				t.Fatalf("%d images processed, want 40 + %d acknowledged", len(done), acked)
			}
			for _, img := range done[40:] {
				if ds, _ := s.Detections(ctx, img, f.run); len(ds) != 400 {
					t.Fatalf("image %d has %d detections, want all 400", img, len(ds))
				}
			}
			if tc.env != nil {
				if _, err := s.Map(ctx, f.run, 41, "anomaly"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("map after failed PutMap: %v, want ErrNotFound", err)
				}
				tmps, _ := filepath.Glob(filepath.Join(s.BlobDir(), "*", ".tmp-*"))
				if len(tmps) != 0 {
					t.Fatalf("temp blobs left behind: %v", tmps)
				}
			}
		})
	}
}
