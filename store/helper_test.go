package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hisirdesk/hisir/engine/geom"
)

// helperEnv selects a helper mode when the test binary re-executes itself as a child process.
const helperEnv = "HISIR_STORE_HELPER"

// TestMain runs the helper modes used by the crash, disk-full, read-only and two-process tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := helper(mode, os.Args[len(os.Args)-1]); err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper runs one child mode on the project at path. Arguments come in environment variables.
func helper(mode, path string) error {
	ctx := context.Background()
	if lim := os.Getenv("HISIR_FSIZE"); lim != "" {
		n, _ := strconv.ParseUint(lim, 10, 64)
		signal.Ignore(syscall.SIGXFSZ) // writes past the limit fail with EFBIG instead of killing us
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			return err
		}
	}
	s, err := Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	envInt := func(k string) int64 { n, _ := strconv.ParseInt(os.Getenv(k), 10, 64); return n }
	out := bufio.NewWriter(os.Stdout)
	ack := func(format string, a ...any) {
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
	}
	switch mode {
	case "open": // just open and close
		ack("opened")
		return nil
	case "decide": // decide detections first..last one by one, printing each acknowledged id
		who := os.Getenv("HISIR_WHO")
		for id := envInt("HISIR_FIRST"); id <= envInt("HISIR_LAST"); id++ {
			if err := s.SetStatus(ctx, who, statusFor(id), id); err != nil {
				return err
			}
			ack("ack %d", id)
			time.Sleep(time.Duration(envInt("HISIR_PAUSE_US")) * time.Microsecond)
		}
		return nil
	case "batch": // store detections of images first..last of run, printing each image id
		run := envInt("HISIR_RUN")
		per := int(envInt("HISIR_PER"))
		for img := envInt("HISIR_FIRST"); img <= envInt("HISIR_LAST"); img++ {
			if _, err := s.AddDetections(ctx, run, img, fakeDetections(per, img)); err != nil {
				return err
			}
			ack("ack %d", img)
		}
		return nil
	case "fill": // write detections and maps until the disk is full, then report the error
		run := envInt("HISIR_RUN")
		img := envInt("HISIR_FIRST")
		if os.Getenv("HISIR_MAP") != "" {
			err := s.PutMap(ctx, run, img, "anomaly", make([]byte, 4<<20))
			ack("map: %v", err)
			if !errors.Is(err, ErrDiskFull) {
				return fmt.Errorf("PutMap past the size limit: got %v, want ErrDiskFull", err)
			}
		}
		for ; ; img++ {
			if _, err := s.AddDetections(ctx, run, img, fakeDetections(400, img)); err != nil {
				ack("full: %v", err)
				if !errors.Is(err, ErrDiskFull) {
					return fmt.Errorf("got %v, want ErrDiskFull", err)
				}
				return nil
			}
			ack("ack %d", img)
		}
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// statusFor is the decision the helpers make on detection id.
func statusFor(id int64) Status {
	if id%3 == 0 {
		return Rejected
	}
	return Accepted
}

// fakeDetections returns n distinct detections for an image.
func fakeDetections(n int, seed int64) []Detection {
	out := make([]Detection, n)
	for i := range out {
		x, y := float64((i*37+int(seed)*11)%3800), float64((i*53+int(seed)*7)%2100)
		out[i] = Detection{
			Polygon: geom.Polygon{{X: x, Y: y}, {X: x + 20, Y: y}, {X: x + 20, Y: y + 12}, {X: x + 4, Y: y + 15}, {X: x, Y: y + 9}},
			Area:    230 + i, Peak: 0.9 + float64(i%7)/100, Mean: 0.5, Class: "",
		}
	}
	return out
}

// child prepares the test binary re-executed in a helper mode on path.
func child(t *testing.T, mode, path string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$", path)
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode}, env...)...)
	return cmd
}

// runChild runs a helper to completion and returns its output lines.
func runChild(t *testing.T, cmd *exec.Cmd) ([]string, error) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(stdout)
	return lines, cmd.Wait()
}

func readLines(r io.Reader) []string {
	var lines []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// fixture is a project with one model, one run and images with detections.
type fixture struct {
	s      *Store
	path   string
	model  Model
	run    int64
	images []int64
	dets   []int64 // detection ids of all images, in order
}

// newFixture creates a project in a fresh temp dir with nImages images (rows only; the
// files are tiny PNGs) and perImage detections on each.
func newFixture(t testing.TB, nImages, perImage int) *fixture {
	t.Helper()
	dir := t.TempDir()
	return newFixtureIn(t, dir, nImages, perImage)
}

func newFixtureIn(t testing.TB, dir string, nImages, perImage int) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "project.hisir")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{s: s, path: path}
	modelFile := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(modelFile, []byte("not really onnx"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f.model, err = s.AddModel(ctx, modelFile, "synth4k", map[string]string{"hisir.name": "synth4k"}); err != nil {
		t.Fatal(err)
	}
	if f.run, err = s.StartRun(ctx, f.model.ID, map[string]any{"threshold": 0.5}, "CPU"); err != nil {
		t.Fatal(err)
	}
	// Image rows are inserted directly: import is tested on real files elsewhere.
	err = s.write(ctx, "fixture images", func(tx *sql.Tx) error {
		for i := 0; i < nImages; i++ {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO images (path, hash, width, height, added)
				VALUES (?, ?, 3840, 2160, ?) RETURNING id`, fmt.Sprintf("/boards/b%04d.png", i),
				fmt.Sprintf("%064x", i+1), s.stamp()).Scan(&id); err != nil {
				return err
			}
			f.images = append(f.images, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if perImage > 0 {
		for _, img := range f.images {
			ids, err := s.AddDetections(ctx, f.run, img, fakeDetections(perImage, img))
			if err != nil {
				t.Fatal(err)
			}
			f.dets = append(f.dets, ids...)
		}
	}
	return f
}

// writeFileForce overwrites a file in place (to damage a blob).
func writeFileForce(path string, data []byte) error {
	return os.WriteFile(path, data, 0o644)
}
