package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine/sipcba"
)

func TestSynthWritesValidDataset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	var out, errb bytes.Buffer
	code := run([]string{"synth", "--preset", "small", "--train", "2", "--defective", "3", "--defect-free", "1",
		"--width", "640", "--height", "360", "--seed", "7", "--workers", "2", "--out", dir, "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res synthResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out.String())
	}
	if res.Train != 2 || res.Defective != 3 || res.DefectFree != 1 || res.Width != 640 || res.Height != 360 || res.Seed != 7 {
		t.Fatalf("summary %+v", res)
	}
	if res.Defects < 3 {
		t.Fatalf("%d defects on 3 defective panels", res.Defects)
	}
	if probs := sipcba.Validate(dir); len(probs) != 0 {
		t.Fatalf("dataset does not validate: %v", probs)
	}
	ds, err := sipcba.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := ds.Manifest.Counts
	if c.Train != 2 || c.TestDefective != 3 || c.DefectFree != 1 || c.Twins != 3 || c.Defects != res.Defects {
		t.Fatalf("manifest counts %+v, summary %+v", c, res)
	}
	for _, it := range ds.Items(sipcba.Test) {
		if it.Twin == "" || len(it.Defects) == 0 || it.Width != 640 || it.Height != 360 {
			t.Fatalf("test item %+v", it)
		}
	}
	if !strings.Contains(errb.String(), "[6/6]") {
		t.Fatalf("no progress on stderr: %q", errb.String())
	}
}

func TestSynthErrors(t *testing.T) {
	exists := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"help", []string{"--help"}, 0, "usage: hisir synth"},
		{"no out", []string{"--preset", "small"}, 2, "--out is required"},
		{"bad flag", []string{"--nope", "--out", "x"}, 2, "flag provided but not defined"},
		{"unknown preset", []string{"--preset", "huge", "--out", filepath.Join(exists, "a")}, 1, `unknown preset "huge"`},
		{"boards too small", []string{"--width", "100", "--out", filepath.Join(exists, "b")}, 1, "smaller than"},
		{"nothing to do", []string{"--train", "0", "--defective", "0", "--defect-free", "0", "--out", filepath.Join(exists, "c")}, 1, "nothing to generate"},
		{"negative count", []string{"--train", "-2", "--out", filepath.Join(exists, "d")}, 1, "--train -2 is negative"},
		{"out exists", []string{"--train", "1", "--defective", "0", "--defect-free", "0", "--out", exists}, 1, "already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"synth"}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.msg) {
				t.Fatalf("stderr %q does not mention %q", errb.String(), tc.msg)
			}
		})
	}
	// Failed runs leave nothing behind.
	entries, err := os.ReadDir(exists)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind %s", e.Name())
	}
}
