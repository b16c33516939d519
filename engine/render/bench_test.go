package render

import (
	"image"
	"image/png"
	"math"
	"testing"

	"github.com/hisirdesk/hisir/engine"
	"github.com/hisirdesk/hisir/engine/geom"
)

// board4K is a 3840×2160 map with smooth structure plus fine detail, like a real anomaly map.
func board4K() *engine.Map {
	m := engine.NewMap(3840, 2160)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			v := 0.5 + 0.25*math.Sin(float64(x)/37)*math.Cos(float64(y)/23) + 0.05*math.Sin(float64(x*y)/11)
			m.V[y*m.W+x] = float32(v)
		}
	}
	return m
}

func BenchmarkHeatmap4K(b *testing.B) {
	m := board4K()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Heatmap(m, Inferno)
	}
}

func BenchmarkOverlay4K(b *testing.B) {
	m := board4K()
	base, heat := Heatmap(m, Grey), Heatmap(m, Inferno)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Overlay(base, heat, 0.5)
	}
}

func BenchmarkOutlinesLabels4K(b *testing.B) {
	img := Heatmap(board4K(), Grey)
	var defects []engine.Defect
	for k := 0; k < 600; k++ {
		x, y := float64(60+(k%50)*70), float64(100+(k/50)*160)
		defects = append(defects, engine.Defect{
			Polygon: geom.Polygon{{X: x, Y: y}, {X: x + 50, Y: y}, {X: x + 60, Y: y + 30}, {X: x + 10, Y: y + 45}},
			Box:     geom.Rect{X0: int(x), Y0: int(y), X1: int(x) + 60, Y1: int(y) + 45}, Peak: 0.9,
		})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Outlines(img, defects, DefectRed, 0)
		Labels(img, defects, DefectRed, 0)
	}
}

// BenchmarkEncode4K compares EncodePNG with image/png at BestSpeed on the same 4K images:
// the render sub-benchmark reports its speed-up (x_vs_stdlib) and relative file size
// (size_vs_stdlib) against the stdlib one measured just before in the same run.
func BenchmarkEncode4K(b *testing.B) {
	m := board4K()
	over := Overlay(Heatmap(m, Grey), Heatmap(m, Inferno), 0.5)
	gray := Map16(m)
	for _, tc := range []struct {
		name string
		img  image.Image
	}{{"overlay", over}, {"map16", gray}} {
		var stdNs float64
		var stdSize int
		b.Run(tc.name+"/stdlib", func(b *testing.B) {
			enc := png.Encoder{CompressionLevel: png.BestSpeed}
			var cw countWriter
			for i := 0; i < b.N; i++ {
				cw = 0
				if err := enc.Encode(&cw, tc.img); err != nil {
					b.Fatal(err)
				}
			}
			stdNs, stdSize = float64(b.Elapsed().Nanoseconds())/float64(b.N), int(cw)
		})
		b.Run(tc.name+"/render", func(b *testing.B) {
			var cw countWriter
			for i := 0; i < b.N; i++ {
				cw = 0
				if err := EncodePNG(&cw, tc.img); err != nil {
					b.Fatal(err)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if stdNs > 0 {
				b.ReportMetric(stdNs/ns, "x_vs_stdlib")
				b.ReportMetric(float64(cw)/float64(stdSize), "size_vs_stdlib")
			}
		})
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
