package store_test

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/hisirdesk/hisir/engine/geom"
	"github.com/hisirdesk/hisir/store"
)

// The life of a project: import a photo, store a run's detections, decide, undo, redo.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "hisir-example")
	defer os.RemoveAll(dir)
	photo := filepath.Join(dir, "board.png")
	f, _ := os.Create(photo)
	png.Encode(f, image.NewGray(image.Rect(0, 0, 320, 200)))
	f.Close()
	modelFile := filepath.Join(dir, "synth4k.onnx")
	os.WriteFile(modelFile, []byte("onnx bytes"), 0o644)

	s, err := store.Open(filepath.Join(dir, "line3.hisir")) // creates line3.hisir and line3.blobs/
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	added, skipped, _ := s.ImportImages(ctx, []string{photo, photo}, nil)
	fmt.Println("imported", added, "skipped", skipped)
	images, _ := s.Images(ctx, store.ImageFilter{})
	img := images[0].ID

	model, _ := s.AddModel(ctx, modelFile, "synth4k", map[string]string{"hisir.name": "synth4k"})
	run, _ := s.StartRun(ctx, model.ID, map[string]any{"threshold": 0.42}, "CPU")
	box := geom.Polygon{{X: 10, Y: 10}, {X: 30, Y: 10}, {X: 30, Y: 25}, {X: 10, Y: 25}}
	ids, _ := s.AddDetections(ctx, run, img, []store.Detection{
		{Polygon: box, Area: 300, Peak: 0.9, Mean: 0.6},
		{Polygon: box.Translate(100, 50), Area: 300, Peak: 0.7, Mean: 0.5},
	})
	s.FinishRun(ctx, run, store.RunDone, "")
	s.PutMap(ctx, run, img, "anomaly", []byte{1, 2, 3})

	s.SetStatus(ctx, "ana", store.Accepted, ids[0])
	s.SetStatus(ctx, "ana", store.Rejected, ids[1])
	sum, _ := s.Summary(ctx, img)
	fmt.Println(sum.State, "accepted", sum.Accepted, "rejected", sum.Rejected)

	s.Undo(ctx, "ana") // the rejection is pending again
	sum, _ = s.Summary(ctx, img)
	fmt.Println(sum.State, "pending", sum.Pending)

	s.Redo(ctx, "ana")
	entries, _ := s.Audit(ctx, store.AuditFilter{EntityID: ids[1], Entity: "detection"})
	for i := len(entries) - 1; i >= 0; i-- {
		fmt.Printf("%s %s %s -> %s\n", entries[i].Who, entries[i].Action, entries[i].Before, entries[i].After)
	}
	// Output:
	// imported 1 skipped 1
	// reviewed accepted 1 rejected 1
	// flagged pending 1
	// ana edit {"status":"pending","class":""} -> {"status":"rejected","class":""}
	// ana undo {"status":"rejected","class":""} -> {"status":"pending","class":""}
	// ana redo {"status":"pending","class":""} -> {"status":"rejected","class":""}
}
