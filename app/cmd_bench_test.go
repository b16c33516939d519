package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestBenchReportsStagesAndSweeps(t *testing.T) {
	requireORT(t)
	var out, errb bytes.Buffer
	code := run([]string{"bench", "--model", testModel(t, "tiny.onnx"), "--sizes", "256x128,320x160",
		"--batch", "4,16", "--threads", "1", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []benchRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 2 sizes × 2 batches", len(rows))
	}
	for _, r := range rows {
		if r.Provider != "CPU" || r.Patches == 0 || r.TotalMS <= 0 || r.Threads != 1 {
			t.Errorf("row %+v", r)
		}
		var sum float64
		for _, s := range benchStages {
			if _, ok := r.StagesMS[s]; !ok {
				t.Errorf("%s: stage %q missing", r.Size, s)
			}
			sum += r.Shares[s]
		}
		if sum <= 0 || sum > 1.0001 {
			t.Errorf("%s: stage shares sum to %v, want (0,1]", r.Size, sum)
		}
	}
	if rows[0].Width != 256 || rows[2].Width != 320 || rows[0].Batch != 4 || rows[1].Batch != 16 {
		t.Errorf("rows out of order: %+v", rows)
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{{"bench", "--sizes", "huge"}, {"bench", "--batch", "x"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == 0 {
			t.Errorf("%v: exit 0, want an error", args)
		}
	}
}
