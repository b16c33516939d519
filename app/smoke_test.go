//go:build smoke

package main

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hisirdesk/hisir/store"
)

// TestSmokeDemoWindow is the real-window test: it builds hisir, opens `hisir --demo`
// on the X display (run it under xvfb-run, see scripts/test.sh), waits until the demo
// batch has run the model, screenshots the screen from outside (the GL driver's own
// Capture is blank), checks that the window shows a real picture, presses the 1:1 key
// and checks that the view changed, and keeps the first screenshot as docs/screenshot.png.
func TestSmokeDemoWindow(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		t.Fatal("no X display: run under xvfb-run -a -s \"-screen 0 1600x1000x24\" (scripts/test.sh does)")
	}
	for _, tool := range []string{"import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install imagemagick and xdotool (scripts/setup.sh)", tool)
		}
	}
	wd, _ := os.Getwd()
	root, ok := repoRootAbove(wd)
	if !ok {
		t.Fatal("repository root (go.mod) not found")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "hisir")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "--demo")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"XDG_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_DATA_HOME="+filepath.Join(tmp, "data"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	done := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "hisir: batch done:") {
				done <- sc.Text()
			}
		}
		close(done)
	}()
	select {
	case line, ok := <-done:
		if !ok {
			t.Fatalf("hisir exited before the demo ran the model; stderr:\n%s", stderr.String())
		}
		t.Log(line)
		if !strings.Contains(line, "1 flagged") {
			t.Errorf("demo panel not flagged: %s", line)
		}
	case <-time.After(6 * time.Minute):
		t.Fatalf("the demo did not finish the model run in 6 minutes; stderr:\n%s", stderr.String())
	}
	time.Sleep(4 * time.Second) // the image reopens with its results

	first := screenshot(t, filepath.Join(tmp, "shot1.png"))
	checkNotBlank(t, first)

	// The keyboard reaches the viewer: "1" zooms to 1:1, so the picture changes.
	if out, err := exec.Command("xdotool", "search", "--name", "HiSIR Desk", "windowfocus", "key", "--clearmodifiers", "1").CombinedOutput(); err != nil {
		t.Fatalf("xdotool: %v\n%s", err, out)
	}
	time.Sleep(2 * time.Second)
	second := screenshot(t, filepath.Join(tmp, "shot2.png"))
	if diff := changedFraction(first, second); diff < 0.05 {
		t.Errorf("after pressing 1 only %.1f%% of the screen changed", 100*diff)
	}

	// Review keys reach the store: A accepts the selected defect, Ctrl+Z takes it back.
	project := filepath.Join(tmp, "cache", "hisir", "demo", "demo.hisir")
	key := func(k string) {
		t.Helper()
		if out, err := exec.Command("xdotool", "search", "--name", "HiSIR Desk", "windowfocus", "key", "--clearmodifiers", k).CombinedOutput(); err != nil {
			t.Fatalf("xdotool key %s: %v\n%s", k, err, out)
		}
		time.Sleep(1500 * time.Millisecond)
	}
	key("a")
	if n := acceptedIn(t, project); n != 1 {
		t.Errorf("after A the project has %d accepted detections, want 1", n)
	}
	key("ctrl+z")
	if n := acceptedIn(t, project); n != 0 {
		t.Errorf("after Ctrl+Z the project has %d accepted detections, want 0", n)
	}

	// Dragging the threshold slider (under the viewer) and releasing saves the threshold.
	if out, err := exec.Command("xdotool", "mousemove", "730", "930", "mousedown", "1",
		"mousemove", "780", "930", "mousemove", "850", "930", "mousemove", "900", "930", "mouseup", "1").CombinedOutput(); err != nil {
		t.Fatalf("xdotool drag: %v\n%s", err, out)
	}
	time.Sleep(3 * time.Second)
	if v, ok := thresholdIn(t, project); !ok || v <= 1.2 {
		t.Errorf("after dragging the slider right the saved threshold is %v (set %v), want above 1.2", v, ok)
	}

	data, err := os.ReadFile(filepath.Join(tmp, "shot1.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "screenshot.png"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// acceptedIn counts the accepted detections of a project (opened beside the running app).
func acceptedIn(t *testing.T, path string) int {
	t.Helper()
	st, err := store.OpenExisting(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range runs {
		ds, err := st.RunDetections(context.Background(), r.ID, store.Accepted)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ds)
	}
	return n
}

// thresholdIn reads the saved threshold of the project's first model.
func thresholdIn(t *testing.T, path string) (float64, bool) {
	t.Helper()
	st, err := store.OpenExisting(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := st.Models(context.Background())
	if err != nil || len(ms) == 0 {
		t.Fatalf("models: %v %v", ms, err)
	}
	v, ok, err := st.Threshold(context.Background(), ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}

// screenshot grabs the whole X screen with imagemagick.
func screenshot(t *testing.T, path string) *image.RGBA {
	t.Helper()
	if out, err := exec.Command("import", "-window", "root", path).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return toRGBAImage(img)
}

func toRGBAImage(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bb, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := out.PixOffset(x, y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = uint8(r>>8), uint8(g>>8), uint8(bb>>8), uint8(a>>8)
		}
	}
	return out
}

// checkNotBlank wants a real picture: many colours, and no single colour covering most
// of the screen.
func checkNotBlank(t *testing.T, m *image.RGBA) {
	t.Helper()
	counts := map[[3]uint8]int{}
	for i := 0; i < len(m.Pix); i += 4 {
		counts[[3]uint8{m.Pix[i] &^ 3, m.Pix[i+1] &^ 3, m.Pix[i+2] &^ 3}]++
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	total := len(m.Pix) / 4
	if len(counts) < 500 || float64(top)/float64(total) > 0.6 {
		t.Fatalf("screenshot looks blank: %d colours, the commonest covers %.0f%%", len(counts), 100*float64(top)/float64(total))
	}
}

// changedFraction is the share of pixels that differ between two screenshots.
func changedFraction(a, b *image.RGBA) float64 {
	if a.Rect != b.Rect {
		return 1
	}
	n := 0
	for i := 0; i < len(a.Pix); i += 4 {
		if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
			n++
		}
	}
	return float64(n) / float64(len(a.Pix)/4)
}
