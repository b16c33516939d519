// Command mksample writes the demo sample of assets/samples: one defective 4K panel of the
// board design the shipped synth4k model was trained on (hisir synth --preset sipcba, seed 42,
// test panel 3), its defect-free twin and its true defects, as the app's --demo reads them.
//
//	go run ./scripts/mksample [-out assets/samples] [-quality 95]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"

	"github.com/hisirdesk/hisir/engine/synth"
)

func main() {
	out := flag.String("out", "assets/samples", "output folder")
	quality := flag.Int("quality", 95, "JPEG quality")
	index := flag.Int("index", 1_000_003, "panel index (the sipcba preset's test panels start at 1000000)")
	flag.Parse()
	if err := run(*out, *quality, *index); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
}

func run(out string, quality, index int) error {
	p, err := synth.Generate(synth.DefaultConfig(42), index, true)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := writeJPEG(filepath.Join(out, "panel.jpg"), p.Image, quality); err != nil {
		return err
	}
	if err := writeJPEG(filepath.Join(out, "panel_golden.jpg"), p.Twin, quality); err != nil {
		return err
	}
	data, err := json.MarshalIndent(p.Defects, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "panel.defects.json"), data, 0o644)
}

func writeJPEG(path string, img image.Image, quality int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: quality}); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}
