package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine/ortmodel"
)

// testRepoRoot is the repository root above the test's working directory.
func testRepoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := repoRootAbove(wd)
	if !ok {
		t.Fatal("no go.mod above the test directory")
	}
	return root
}

func testModel(t *testing.T, name string) string {
	return filepath.Join(testRepoRoot(t), "testdata", "models", name)
}

// requireORT fails (never skips) when the ONNX Runtime library is missing.
func requireORT(t *testing.T) {
	t.Helper()
	if _, err := libraryPath(""); err != nil {
		t.Fatalf("%v\nrun scripts/setup.sh, then source scripts/env.sh", err)
	}
}

// The test board: a dark 48×40 gradient with a white 6×6 square at (20,16)–(26,22).
// The test models "reconstruct" by a 3×3 blur, so the square's edges are the anomaly.
var testSquare = image.Rect(20, 16, 26, 22)

func writeTestBoard(t *testing.T, dir, name string) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 48, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 48; x++ {
			c := color.NRGBA{uint8(8 + x/8), uint8(12 + y/8), 10, 255}
			if image.Pt(x, y).In(testSquare) {
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// checkOutputs verifies the three files of one image and returns its report.
func checkOutputs(t *testing.T, s inferSummary) inferReport {
	t.Helper()
	m := decodePNG(t, s.Map)
	if _, ok := m.(*image.Gray16); !ok || m.Bounds() != image.Rect(0, 0, 48, 40) {
		t.Errorf("map %s is %T %v, want 48×40 16-bit grey", s.Map, m, m.Bounds())
	}
	o := decodePNG(t, s.Overlay)
	if o.Bounds() != image.Rect(0, 0, 48, 40) {
		t.Errorf("overlay %s is %v, want 48×40", s.Overlay, o.Bounds())
	}
	data, err := os.ReadFile(s.DefectsAt)
	if err != nil {
		t.Fatal(err)
	}
	var rep inferReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("%s: %v", s.DefectsAt, err)
	}
	return rep
}

func TestInferFindsTheSquare(t *testing.T) {
	requireORT(t)
	tests := []struct {
		name     string
		model    string
		args     []string
		norm     string
		maxAbove float32 // the max score must exceed this
	}{
		{"calibrated by default", "tiny.onnx", nil, normCalibrated, 1},
		{"min-max asked", "tiny.onnx", []string{"--norm", "minmax"}, normMinMax, 0.99},
		{"min-max by default without calibration", "tiny_uncalibrated.onnx", nil, normMinMax, 0.99},
		{"average merge, batch 3, one thread", "tiny.onnx", []string{"--merge", "average", "--batch", "3", "--threads", "1", "--provider", "cpu"}, normCalibrated, 1},
		{"no merge, jet", "tiny_uncalibrated.onnx", []string{"--merge", "none", "--colormap", "jet"}, normMinMax, 0.99},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			img := writeTestBoard(t, dir, "board.png")
			out := filepath.Join(dir, "out", "nested")
			var stdout, stderr bytes.Buffer
			args := append([]string{"infer", "--model", testModel(t, tc.model), "--out", out, "--json"}, tc.args...)
			if code := run(append(args, img), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, stderr.String())
			}
			var sums []inferSummary
			if err := json.Unmarshal(stdout.Bytes(), &sums); err != nil {
				t.Fatalf("--json output %q: %v", stdout.String(), err)
			}
			if noted := strings.Contains(stderr.String(), "has no calibration"); noted != (tc.model == "tiny_uncalibrated.onnx" && !contains(tc.args, "--norm")) {
				t.Errorf("calibration note shown = %v; stderr %q", noted, stderr.String())
			}
			if len(sums) != 1 || sums[0].Error != "" || sums[0].Provider != "CPU" {
				t.Fatalf("summary %+v", sums)
			}
			s := sums[0]
			for _, f := range []string{s.Map, s.Overlay, s.DefectsAt} {
				if filepath.Dir(f) != out || !strings.HasPrefix(filepath.Base(f), "board_") {
					t.Errorf("output %s is not board_* in %s", f, out)
				}
			}
			rep := checkOutputs(t, s)
			if rep.Settings.Norm != tc.norm || rep.Width != 48 || rep.Height != 40 || rep.Model.PatchSize != 16 {
				t.Errorf("report header %+v", rep)
			}
			if rep.MaxScore <= tc.maxAbove || s.MaxScore != rep.MaxScore {
				t.Errorf("max score %v (summary %v), want > %v", rep.MaxScore, s.MaxScore, tc.maxAbove)
			}
			if len(rep.Defects) != 1 {
				t.Fatalf("%d defects, want the one square: %+v", len(rep.Defects), rep.Defects)
			}
			d := rep.Defects[0]
			box := image.Rect(d.Box.X0, d.Box.Y0, d.Box.X1, d.Box.Y1)
			if !box.Overlaps(testSquare) || len(d.Polygon) < 3 || d.Area < 16 || d.Peak < d.Mean {
				t.Errorf("defect %+v does not outline the square %v", d, testSquare)
			}
			if rep.TimingsMS.Total <= 0 || rep.Patches == 0 {
				t.Errorf("timings %+v, patches %d", rep.TimingsMS, rep.Patches)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestInferErrors(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	good := writeTestBoard(t, dir, "good.png")
	corrupt := filepath.Join(dir, "corrupt.png")
	if err := os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	tiny := testModel(t, "tiny.onnx")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"--help"}, 0, "-model"},
		{"bad threshold", []string{"--model", tiny, "--threshold", "-1", good}, 2, "--threshold"},
		{"threshold not a number", []string{"--model", tiny, "--threshold", "high", good}, 2, "threshold"},
		{"no image", []string{"--model", tiny}, 2, "no IMAGE"},
		{"bad norm", []string{"--model", tiny, "--norm", "zscore", good}, 2, "--norm"},
		{"bad merge", []string{"--model", tiny, "--merge", "max", good}, 2, "--merge"},
		{"bad provider", []string{"--model", tiny, "--provider", "tpu", good}, 2, "--provider"},
		{"bad batch", []string{"--model", tiny, "--batch", "0", good}, 2, "--batch"},
		{"bad colormap", []string{"--model", tiny, "--colormap", "viridis", good}, 2, "--colormap"},
		{"missing model", []string{"--model", filepath.Join(dir, "none.onnx"), good}, 1, "none.onnx"},
		{"broken model", []string{"--model", testModel(t, "wrong_version.onnx"), good}, 1, "contract version 2"},
		{"garbage model", []string{"--model", testModel(t, "not_onnx.onnx"), good}, 1, "not_onnx.onnx"},
		{"calibrated without calibration", []string{"--model", testModel(t, "tiny_uncalibrated.onnx"), "--norm", "calibrated", good}, 1, "no calibration"},
		{"missing image", []string{"--model", tiny, "--out", filepath.Join(dir, "o1"), filepath.Join(dir, "absent.png")}, 1, "absent.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"infer"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.stderr)
			}
		})
	}
}

func TestInferKeepsGoingPastABadImage(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.png")
	if err := os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := writeTestBoard(t, dir, "board.png")
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	b := writeTestBoard(t, sub, "board.png") // same stem: must not overwrite a's files
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	code := run([]string{"infer", "--model", testModel(t, "tiny.onnx"), "--out", out, "--json", a, corrupt, b}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), corrupt) || !strings.Contains(stderr.String(), "1 of 3 images failed") {
		t.Errorf("stderr %q does not name the corrupt file and the count", stderr.String())
	}
	var sums []inferSummary
	if err := json.Unmarshal(stdout.Bytes(), &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 || sums[1].Error == "" || sums[0].Error != "" || sums[2].Error != "" {
		t.Fatalf("summaries %+v", sums)
	}
	if sums[0].Map == sums[2].Map || !strings.HasSuffix(sums[2].Map, "board_2_map.png") {
		t.Errorf("same-stem images share outputs: %s and %s", sums[0].Map, sums[2].Map)
	}
	for _, i := range []int{0, 2} {
		checkOutputs(t, sums[i])
	}
}

func TestFindAsset(t *testing.T) {
	root := testRepoRoot(t)
	tests := []struct {
		rel  string
		want string // "" means not found
	}{
		{"testdata/models/tiny.onnx", filepath.Join(root, "testdata", "models", "tiny.onnx")},
		{"go.mod", filepath.Join(root, "go.mod")},
		{"assets/models/no-such-model.onnx", ""},
	}
	for _, tc := range tests {
		got, err := findAsset(tc.rel)
		if tc.want == "" {
			if !errors.Is(err, errAssetNotFound) || !strings.Contains(err.Error(), filepath.Join(root, "assets", "models", "no-such-model.onnx")) {
				t.Errorf("findAsset(%q) = %q, %v; want errAssetNotFound naming the repository path", tc.rel, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("findAsset(%q) = %q, %v; want %q", tc.rel, got, err, tc.want)
		}
	}
	// The default model ships in assets/models; from a checkout it is found at the repo root.
	if p, err := defaultModelPath(); err != nil || p != filepath.Join(root, "assets", "models", "synth4k.onnx") {
		t.Errorf("defaultModelPath = %q, %v", p, err)
	}
}

func TestLibraryPathExplicit(t *testing.T) {
	_, err := libraryPath(filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
	if !errors.Is(err, ortmodel.ErrLibraryNotFound) {
		t.Errorf("missing explicit library: %v", err)
	}
}

// TestInferBinary builds hisir and runs it as a user would.
func TestInferBinary(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "hisir")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	img := writeTestBoard(t, dir, "board.png")
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "infer", "--model", testModel(t, "tiny.onnx"), "--out", out, img)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hisir infer: %v\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "board.png: 1 defects") {
		t.Errorf("stdout %q", stdout.String())
	}
	rep := checkOutputs(t, inferSummary{
		Map:       filepath.Join(out, "board_map.png"),
		Overlay:   filepath.Join(out, "board_overlay.png"),
		DefectsAt: filepath.Join(out, "board_defects.json"),
	})
	if rep.Model.Name != "tiny" || len(rep.Defects) != 1 {
		t.Errorf("report %+v", rep)
	}
	// A corrupt image exits 1 and names the file.
	bad := filepath.Join(dir, "bad.jpg")
	os.WriteFile(bad, []byte("nope"), 0o644)
	cmd = exec.Command(bin, "infer", "--model", testModel(t, "tiny.onnx"), "--out", out, bad)
	msg, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(msg), bad) {
		t.Errorf("corrupt image: %v, output %q", err, msg)
	}
}

// TestInferDefaultModel runs infer without --model: the shipped synth4k.onnx is used.
func TestInferDefaultModel(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	img := writeTestBoard(t, dir, "board.png")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"infer", "--out", dir, "--json", "--provider", "cpu", img}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	var sums []inferSummary
	if err := json.Unmarshal(stdout.Bytes(), &sums); err != nil || len(sums) != 1 {
		t.Fatalf("--json output %q: %v", stdout.String(), err)
	}
	rep := checkOutputs(t, sums[0])
	if rep.Model.Name != "synth4k" || rep.Model.PatchSize != 128 || !rep.Model.Calibrated || rep.Settings.Norm != normCalibrated {
		t.Errorf("model %+v, settings %+v", rep.Model, rep.Settings)
	}
	if !(rep.MaxScore >= 0) || !(rep.RawMax >= rep.RawMin) {
		t.Errorf("scores: max %v, raw [%v, %v]", rep.MaxScore, rep.RawMin, rep.RawMax)
	}
}

func TestInferProgress(t *testing.T) {
	var buf bytes.Buffer
	if terminal(&buf) != nil {
		t.Error("a buffer counted as a terminal")
	}
	r := &inferRun{progress: &buf}
	f := r.progressFunc("/some/dir/board.png")
	f(1, 4) // printed: the first call
	f(2, 4) // skipped: within 200 ms
	f(4, 4) // printed and cleared: the last call
	got := buf.String()
	if !strings.Contains(got, "board.png: patches 1/4") || strings.Contains(got, "2/4") || !strings.Contains(got, "4/4") {
		t.Errorf("progress output %q", got)
	}
	if (&inferRun{}).progressFunc("x.png") != nil {
		t.Error("progress without a terminal")
	}
}
