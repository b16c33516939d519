package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestCrashKeepsAcknowledgedWork kills a writer process with SIGKILL in the middle of its work
// and checks that everything it acknowledged is in the reopened project, nothing half-written.
func TestCrashKeepsAcknowledgedWork(t *testing.T) {
	tests := []struct {
		name   string
		mode   string // "decide": decisions one by one; "batch": detections image by image
		killAt int    // acknowledgements before the kill
	}{
		{"decisions, kill after 1", "decide", 1},
		{"decisions, kill after 150", "decide", 150},
		{"detection batches, kill after 3", "batch", 3},
		{"detection batches, kill after 25", "batch", 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 100, 0)
			var first, last int64
			switch tc.mode {
			case "decide":
				if _, err := f.s.AddDetections(ctx, f.run, f.images[0], fakeDetections(1000, 1)); err != nil {
					t.Fatal(err)
				}
				d, _ := f.s.Detections(ctx, f.images[0], f.run)
				first, last = d[0].ID, d[len(d)-1].ID
			case "batch":
				first, last = f.images[0], f.images[len(f.images)-1]
			}
			if err := f.s.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := child(t, tc.mode, f.path, "HISIR_WHO=crash", "HISIR_RUN="+strconv.FormatInt(f.run, 10),
				"HISIR_PER=300", fmt.Sprintf("HISIR_FIRST=%d", first), fmt.Sprintf("HISIR_LAST=%d", last))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var acked []int64
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				id, err := strconv.ParseInt(strings.TrimPrefix(line, "ack "), 10, 64)
				if err != nil {
					t.Fatalf("helper said %q", line)
				}
				acked = append(acked, id)
				if len(acked) == tc.killAt {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
				}
			}
			err = cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("helper was not killed mid-work (%v); raise the work size", err)
			}
			t.Logf("%d acknowledged before the kill landed", len(acked))

			s, err := Open(f.path)
			if err != nil {
				t.Fatalf("reopen after kill: %v", err)
			}
			defer s.Close()
			if ok, err := s.IntegrityCheck(ctx); err != nil || ok != "ok" {
				t.Fatalf("integrity_check = %q, %v", ok, err)
			}
			switch tc.mode {
			case "decide":
				for _, id := range acked {
					d, err := s.Detection(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if d.Status != statusFor(id) || d.UpdatedBy != "crash" {
						t.Fatalf("acknowledged decision on detection %d lost: %+v", id, d)
					}
				}
				log, _ := s.Audit(ctx, AuditFilter{Who: "crash"})
				if len(log) < len(acked) {
					t.Fatalf("%d audit entries for %d acknowledged decisions", len(log), len(acked))
				}
				// Nothing beyond what the log says happened.
				decided := 0
				ds, _ := s.Detections(ctx, f.images[0], f.run)
				for _, d := range ds {
					if d.Status != Pending {
						decided++
					}
				}
				if decided != len(log) {
					t.Fatalf("%d decided detections but %d audit entries", decided, len(log))
				}
			case "batch":
				done, err := s.Processed(ctx, f.run)
				if err != nil {
					t.Fatal(err)
				}
				if len(done) < len(acked) || len(done) > len(acked)+1 {
					t.Fatalf("%d images processed, %d acknowledged", len(done), len(acked))
				}
				for _, img := range done {
					ds, err := s.Detections(ctx, img, f.run)
					if err != nil {
						t.Fatal(err)
					}
					if len(ds) != 300 {
						t.Fatalf("image %d has %d of its 300 detections: a batch was half-written", img, len(ds))
					}
				}
				var orphans int
				s.db.QueryRow(`SELECT count(*) FROM detections d WHERE NOT EXISTS
					(SELECT 1 FROM run_images r WHERE r.run_id = d.run_id AND r.image_id = d.image_id)`).Scan(&orphans)
				if orphans != 0 {
					t.Fatalf("%d detections of images not marked processed", orphans)
				}
			}
		})
	}
}
