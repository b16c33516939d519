package evaluate

// Components labels the 8-connected components of the non-zero pixels of a w×h mask with
// 1..n (0 = background) in raster order of their first pixel, and returns the labels and n.
// Two passes with a union-find over provisional labels; work is linear in the pixels.
func Components(mask []uint8, w, h int) ([]int32, int) {
	labels := make([]int32, w*h)
	parent := []int32{0}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) int32 {
		ra, rb := find(a), find(b)
		if ra == rb {
			return ra
		}
		if ra < rb {
			parent[rb] = ra
			return ra
		}
		parent[ra] = rb
		return rb
	}
	for y := 0; y < h; y++ {
		row := y * w
		for x := 0; x < w; x++ {
			if mask[row+x] == 0 {
				continue
			}
			var l int32
			// neighbours already visited: W, NW, N, NE
			if x > 0 && labels[row+x-1] != 0 {
				l = labels[row+x-1]
			}
			if y > 0 {
				up := row - w
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					if n := labels[up+xx]; n != 0 {
						if l == 0 {
							l = n
						} else if n != l {
							l = union(l, n)
						}
					}
				}
			}
			if l == 0 {
				l = int32(len(parent))
				parent = append(parent, l)
			}
			labels[row+x] = l
		}
	}
	// Resolve to final, consecutive labels in raster order.
	final := make([]int32, len(parent))
	var n int32
	for i, l := range labels {
		if l == 0 {
			continue
		}
		r := find(l)
		if final[r] == 0 {
			n++
			final[r] = n
		}
		labels[i] = final[r]
	}
	return labels, int(n)
}
