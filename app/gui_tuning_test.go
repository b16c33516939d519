package main

import (
	"strings"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// guiMapOf builds a score map from rows of digits (score = digit).
func guiMapOf(rows ...string) *engine.Map {
	m := engine.NewMap(len(rows[0]), len(rows))
	for y, r := range rows {
		for x, c := range r {
			m.V[y*m.W+x] = float32(c - '0')
		}
	}
	return m
}

func TestRegionHits(t *testing.T) {
	scores := guiMapOf(
		"9900000000",
		"9900000500",
		"0000000550",
		"0000000000",
		"0030000007",
		"0003000007",
	)
	// ground truth: a box over the top-left blob and one over empty space
	gt := rasterIDs(10, 6, []geom.Polygon{
		engine.BoxPolygon(geom.Rect{X0: 0, Y0: 0, X1: 3, Y1: 3}),
		engine.BoxPolygon(geom.Rect{X0: 3, Y0: 0, X1: 5, Y1: 2}),
	})
	tests := []struct {
		t       float32
		minArea int
		want    regionCount
	}{
		{1, 1, regionCount{tp: 1, fp: 3, found: 1}},   // 9-blob regionCount gt 1; 5-blob, diagonal 3s, 7s are false
		{4, 1, regionCount{tp: 1, fp: 2, found: 1}},   // the 3s drop out
		{6, 1, regionCount{tp: 1, fp: 1, found: 1}},   // the 5s drop out
		{8, 1, regionCount{tp: 1, fp: 0, found: 1}},   // only the 9s
		{9.5, 1, regionCount{tp: 0, fp: 0, found: 0}}, // nothing
		{1, 3, regionCount{tp: 1, fp: 1, found: 1}},   // 2-pixel regions (3s, 7s) are too small
	}
	lab := make([]int32, 60)
	for _, tt := range tests {
		if got := regionHits(scores, tt.t, tt.minArea, gt, 2, lab); got != tt.want {
			t.Errorf("t=%v minArea=%d: %+v, want %+v", tt.t, tt.minArea, got, tt.want)
		}
	}
}

func TestRasterIDs(t *testing.T) {
	ids := rasterIDs(6, 3, []geom.Polygon{
		engine.BoxPolygon(geom.Rect{X0: 0, Y0: 0, X1: 2, Y1: 2}),
		engine.BoxPolygon(geom.Rect{X0: 1, Y0: 1, X1: 4, Y1: 3}), // overlaps the first: drawn over it
	})
	var b strings.Builder
	for i, v := range ids {
		if i > 0 && i%6 == 0 {
			b.WriteByte('/')
		}
		b.WriteByte(byte('0' + v))
	}
	if got, want := b.String(), "110000/122200/022200"; got != want {
		t.Errorf("ids %s, want %s", got, want)
	}
}
