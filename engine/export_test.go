package engine

import "github.com/hisirdesk/hisir/engine/geom"

// ExactOutlines returns the unsimplified outlines of a mask's components, in raster order.
func ExactOutlines(m *Mask) []geom.Polygon {
	runs := runsOfMask(m)
	n := label(runs)
	byComp := make([][]run, n)
	boxes := make([]geom.Rect, n)
	for _, r := range runs {
		byComp[r.comp] = append(byComp[r.comp], r)
		boxes[r.comp] = boxes[r.comp].Union(geom.Rect{X0: int(r.x0), Y0: int(r.y), X1: int(r.x1), Y1: int(r.y) + 1})
	}
	out := make([]geom.Polygon, n)
	for c := range out {
		out[c] = outline(byComp[c], boxes[c], func(x, y int) bool { return x >= 0 && y >= 0 && x < m.W && y < m.H && m.Pix[y*m.W+x] != 0 }, 0)
	}
	return out
}

// UseAVX2 switches the assembly kernels on or off and returns the previous setting.
func UseAVX2(on bool) bool {
	was := useAVX2
	useAVX2 = on && runtimeHasAVX2()
	return was
}
