package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Merge modes, cell statistics and channel reductions of the contract.
const (
	MergeROPS    = "rops"
	MergeAverage = "average"
	MergeNone    = "none"
	StatMax      = "max"
	StatMean     = "mean"
	ReduceMean   = "mean"
	ReduceMax    = "max"
)

// ErrModelOutput reports a reconstruction holding NaN or infinite values.
var ErrModelOutput = errors.New("model returned non-finite values")

// ErrOptions reports pipeline options the contract does not define.
var ErrOptions = errors.New("invalid pipeline options")

// Options selects the pipeline variant (docs/model-contract.md, steps 4–5).
type Options struct {
	Merge      string  // "rops" (default), "average", "none"
	CellStat   string  // "max" (default) or "mean"
	Reduce     string  // "mean" (default) or "max" over channels
	BlurSigma  float64 // Gaussian blur of the raw map; 0 means none (DefaultOptions sets 2)
	TDiff      float64 // ROPS threshold; 0 means the model's hisir.t_diff
	BatchSize  int     // patches per model call; 0 means 32
	KeepMerged bool    // also return the merged reconstruction (an image-sized buffer)
}

// DefaultOptions are the engine defaults of the contract: rops, max, mean, blur σ = 2.
func DefaultOptions() Options {
	return Options{Merge: MergeROPS, CellStat: StatMax, Reduce: ReduceMean, BlurSigma: 2, BatchSize: 32}
}

// normalise fills empty fields with defaults and checks the rest.
func (o Options) normalise() (Options, error) {
	if o.Merge == "" {
		o.Merge = MergeROPS
	}
	if o.CellStat == "" {
		o.CellStat = StatMax
	}
	if o.Reduce == "" {
		o.Reduce = ReduceMean
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	switch {
	case o.Merge != MergeROPS && o.Merge != MergeAverage && o.Merge != MergeNone:
		return o, fmt.Errorf("%w: merge %q (want rops, average or none)", ErrOptions, o.Merge)
	case o.CellStat != StatMax && o.CellStat != StatMean:
		return o, fmt.Errorf("%w: cell statistic %q (want max or mean)", ErrOptions, o.CellStat)
	case o.Reduce != ReduceMean && o.Reduce != ReduceMax:
		return o, fmt.Errorf("%w: channel reduction %q (want mean or max)", ErrOptions, o.Reduce)
	case !(o.BlurSigma >= 0) || math.IsInf(o.BlurSigma, 0):
		return o, fmt.Errorf("%w: blur sigma %g must be a non-negative number", ErrOptions, o.BlurSigma)
	case !(o.TDiff >= 0) || math.IsInf(o.TDiff, 0):
		return o, fmt.Errorf("%w: t_diff %g must be a non-negative number", ErrOptions, o.TDiff)
	case o.BatchSize < 0:
		return o, fmt.Errorf("%w: batch size %d must be positive", ErrOptions, o.BatchSize)
	}
	return o, nil
}

// Timings splits the time of one Run.
type Timings struct {
	Tile  time.Duration // cutting padded patches out of the image
	Model time.Duration // inside Model.Reconstruct
	Merge time.Duration // cell statistics, ROPS and the raw difference
	Map   time.Duration // blur of the raw map
}

// Result is the outcome of one Run.
type Result struct {
	Raw     *Map   // raw anomaly map (contract step 5), before normalisation
	Merged  *Image // merged reconstruction, only with Options.KeepMerged
	Patches int    // patches sent to the model
	Timings Timings
}

// Pipeline runs a model over whole images. It reuses its buffers between runs, so one
// Pipeline serves one caller at a time.
type Pipeline struct {
	m     Model
	info  ModelInfo
	o     Options
	tdiff float32
	p, s  int

	in, pos, gate []float32 // one batch of inputs and the unused gate output
	tmp           []float32 // image-sized scratch of the blur
	ring          band      // a ring of patch rows: the rows a batch writes and the one before
}

// band holds the reconstructions and quarter-cell statistics of a run of patches.
type band struct {
	recon []float32 // patch k at recon[k*3*P*P:]
	stats []float32 // patch k quarter q (0 TL, 1 TR, 2 BL, 3 BR) at stats[4k+q]
}

// NewPipeline checks the options against the model and returns a pipeline.
func NewPipeline(m Model, o Options) (*Pipeline, error) {
	if m == nil {
		return nil, errors.New("new pipeline: nil model")
	}
	o, err := o.normalise()
	if err != nil {
		return nil, fmt.Errorf("new pipeline: %w", err)
	}
	info := m.Info()
	if info.PatchSize < 2 || info.PatchSize%2 != 0 || info.Stride != info.PatchSize/2 {
		return nil, fmt.Errorf("new pipeline: %w: patch size %d, stride %d (want an even size and half of it)",
			ErrContract, info.PatchSize, info.Stride)
	}
	td := o.TDiff
	if td == 0 {
		td = info.TDiff
	}
	p := &Pipeline{m: m, info: info, o: o, tdiff: float32(td), p: info.PatchSize, s: info.Stride}
	return p, nil
}

// Options returns the options in use, defaults filled in.
func (p *Pipeline) Options() Options { return p.o }

// TDiff is the ROPS threshold in use (statistics are compared with it in float32).
func (p *Pipeline) TDiff() float64 {
	if p.o.TDiff != 0 {
		return p.o.TDiff
	}
	return p.info.TDiff
}

// Model returns the pipeline's model.
func (p *Pipeline) Model() Model { return p.m }

// runPlan lists the patch rows and columns a merge mode sends to the model.
func (p *Pipeline) runPlan(g Grid) (rows, cols []int) {
	step, first := 1, 0
	if p.o.Merge == MergeNone {
		// Non-overlapping patches aligned with the image origin: the odd patches of the
		// stride-S grid, which cover every image cell exactly once.
		step, first = 2, 1
	}
	for i := first; i < g.Rows; i += step {
		rows = append(rows, i)
	}
	for j := first; j < g.Cols; j += step {
		cols = append(cols, j)
	}
	return rows, cols
}

// Run tiles, reconstructs in streaming batches, merges and returns the raw map. progress,
// when not nil, is called after every batch with patches done and the total.
//
// Patches go to the model in row-major order, in batches of Options.BatchSize that may span
// patch rows. Outputs live in a ring of 2 + ⌈batch/patches per row⌉ patch rows; after each
// batch, every cell whose four covering patches are done is merged into the raw map and its
// patches' memory can be reused, so memory is bounded by the batch size and the image width
// plus the image-sized map.
func (p *Pipeline) Run(ctx context.Context, img *Image, progress func(done, total int)) (*Result, error) {
	if err := img.valid(); err != nil {
		return nil, fmt.Errorf("run pipeline: %w", err)
	}
	g := NewGrid(img.W, img.H, p.p)
	rows, cols := p.runPlan(g)
	nc := len(cols)
	total := len(rows) * nc
	P := p.p
	pp3 := 3 * P * P
	nb := min(p.o.BatchSize, total)
	ringRows := 2 + (nb+nc-1)/nc
	ringSlots := ringRows * nc
	p.in = grow(p.in, nb*pp3)
	p.pos = grow(p.pos, nb*2)
	p.gate = grow(p.gate, nb*P*P)
	p.ring.recon = grow(p.ring.recon, ringSlots*pp3)
	p.ring.stats = grow(p.ring.stats, ringSlots*4)
	rowBand := func(ri int) *band { // the ring slots of patch row rows[ri]
		base := (ri % ringRows) * nc
		return &band{recon: p.ring.recon[base*pp3 : (base+nc)*pp3], stats: p.ring.stats[base*4 : (base+nc)*4]}
	}
	colIdx := make([]int32, g.Wp+P)
	for x := range colIdx {
		colIdx[x] = int32(Reflect(x-g.S, g.W))
	}
	res := &Result{Raw: NewMap(img.W, img.H), Patches: total}
	if p.o.KeepMerged {
		res.Merged = NewImage(img.W, img.H)
	}
	ncx, _ := g.ImageCells()
	doneC := make([]int, len(rows)) // cell columns 1…doneC[ri] of patch row ri are written
	for k0 := 0; k0 < total; {
		s0 := k0 % ringSlots
		n := min(nb, total-k0, ringSlots-s0) // a batch never wraps around the ring
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run pipeline: stopped after %d of %d patches: %w", k0, total, err)
		}
		t0 := time.Now()
		parallel(n, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				i, j := rows[(k0+b)/nc], cols[(k0+b)%nc]
				p.tile(img, g, colIdx, i, j, p.in[b*pp3:(b+1)*pp3])
				p.pos[2*b], p.pos[2*b+1] = g.Position(i, j)
			}
		})
		t1 := time.Now()
		out := p.ring.recon[s0*pp3 : (s0+n)*pp3]
		err := p.m.Reconstruct(ctx, n, p.in[:n*pp3], p.pos[:2*n], out, p.gate[:n*P*P])
		t2 := time.Now()
		if err != nil {
			return nil, fmt.Errorf("run pipeline: reconstruct patches %d–%d of %d: %w", k0+1, k0+n, total, err)
		}
		// Quarter-cell statistics (also for merge = none, where they only serve the check
		// below).
		stats := p.ring.stats[s0*4 : (s0+n)*4]
		parallel(n, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				quarterStats(p.in[b*pp3:(b+1)*pp3], out[b*pp3:(b+1)*pp3], P, p.o.CellStat == StatMean, stats[4*b:4*b+4])
			}
		})
		for b := 0; b < n; b++ {
			for _, d := range stats[4*b : 4*b+4] {
				if !isFinite(d) {
					return nil, fmt.Errorf("run pipeline: patch %d (row %d, column %d): %w",
						k0+b+1, rows[(k0+b)/nc], cols[(k0+b)%nc], ErrModelOutput)
				}
			}
		}
		// Finalise the cells whose covering patches are all done, while this batch's
		// outputs are still in cache.
		last := (k0 + n - 1) / nc
		for ri := k0 / nc; ri <= last; ri++ {
			end := nc // patch columns 0…end−1 of row ri are done
			if ri == last {
				end = (k0+n-1)%nc + 1
			}
			if p.o.Merge == MergeNone {
				hiC := min(2*end, ncx)
				p.finishNone(img, g, rows[ri], rowBand(ri), res, doneC[ri]+1, hiC)
				doneC[ri] = hiC
			} else if ri >= 1 {
				hiC := min(end-1, ncx)
				p.finishRow(img, g, rows[ri], rowBand(ri-1), rowBand(ri), res, doneC[ri]+1, hiC)
				doneC[ri] = hiC
			}
		}
		res.Timings.Tile += t1.Sub(t0)
		res.Timings.Model += t2.Sub(t1)
		res.Timings.Merge += time.Since(t2)
		k0 += n
		if progress != nil {
			progress(k0, total)
		}
	}
	t0 := time.Now()
	if p.o.BlurSigma > 0 {
		p.tmp = grow(p.tmp, img.W*img.H)
		blurInPlace(res.Raw.V, img.W, img.H, GaussianKernel(p.o.BlurSigma), p.tmp)
	}
	res.Timings.Map = time.Since(t0)
	return res, nil
}

// grow returns a slice of length n, reusing buf when it is large enough.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}

// tile copies patch (i, j) of the reflect-padded image into dst (3×P×P, planar).
func (p *Pipeline) tile(img *Image, g Grid, colIdx []int32, i, j int, dst []float32) {
	P, W, H := g.P, img.W, img.H
	ox, oy := j*g.S-g.S, i*g.S-g.S // image coordinates of the patch origin
	inside := ox >= 0 && ox+P <= W
	cidx := colIdx[j*g.S : j*g.S+P]
	for c := 0; c < 3; c++ {
		plane := img.Pix[c*W*H : (c+1)*W*H]
		for ly := 0; ly < P; ly++ {
			sy := Reflect(oy+ly, H)
			src := plane[sy*W : (sy+1)*W]
			d := dst[(c*P+ly)*P : (c*P+ly+1)*P]
			if inside {
				copy(d, src[ox:ox+P])
				continue
			}
			for lx, sx := range cidx {
				d[lx] = src[sx]
			}
		}
	}
}

// quarterStats computes the cell statistic of |in − out| over each quarter of a patch
// (3 channels × S × S values): out4[q] for q = 0 TL, 1 TR, 2 BL, 3 BR. The mean is
// accumulated in float64.
func quarterStats(in, out []float32, P int, mean bool, out4 []float32) {
	S := P / 2
	if mean {
		var acc [4]float64
		for c := 0; c < 3; c++ {
			for ly := 0; ly < P; ly++ {
				o := (c*P + ly) * P
				a, b := in[o:o+P], out[o:o+P]
				q := 2 * (ly / S)
				acc[q] += sumAbsDiff(a[:S], b[:S])
				acc[q+1] += sumAbsDiff(a[S:], b[S:])
			}
		}
		n := float64(3 * S * S)
		for q := range acc {
			out4[q] = float32(acc[q] / n)
		}
		return
	}
	var mx [4]uint32
	for c := 0; c < 3; c++ {
		for ly := 0; ly < P; ly++ {
			o := (c*P + ly) * P
			a, b := in[o:o+P], out[o:o+P]
			q := 2 * (ly / S)
			mx[q] = maxAbsDiffBits(a[:S], b[:S], mx[q])
			mx[q+1] = maxAbsDiffBits(a[S:], b[S:], mx[q+1])
		}
	}
	for q, m := range mx {
		out4[q] = math.Float32frombits(m)
	}
}

// sumAbsDiff returns Σ|a[i] − b[i]| in float64.
func sumAbsDiff(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(abs32(a[i] - b[i]))
		s1 += float64(abs32(a[i+1] - b[i+1]))
		s2 += float64(abs32(a[i+2] - b[i+2]))
		s3 += float64(abs32(a[i+3] - b[i+3]))
	}
	for ; i < len(a); i++ {
		s0 += float64(abs32(a[i] - b[i]))
	}
	return (s0 + s1) + (s2 + s3)
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// finishRow merges cell row r (padded cell coordinates), covered by patch rows r−1 (prev)
// and r (cur), for cell columns cLo…cHi, and writes their image pixels into the raw map
// (and the merged image).
func (p *Pipeline) finishRow(img *Image, g Grid, r int, prev, cur *band, res *Result, cLo, cHi int) {
	S, P := g.S, g.P
	pp3 := 3 * P * P
	y0, y1 := (r-1)*S, min(r*S, img.H)
	if y0 >= y1 || cLo > cHi {
		return
	}
	// Decide every cell first: best[c] is the covering patch ROPS picks, −1 for the mean.
	best := make([]int8, cHi+1)
	for c := cLo; c <= cHi; c++ {
		best[c] = -1
		if p.o.Merge != MergeROPS {
			continue
		}
		// Covering patches in row-major order: (r−1,c−1) BR, (r−1,c) BL, (r,c−1) TR, (r,c) TL.
		d := [4]float32{prev.stats[4*(c-1)+3], prev.stats[4*c+2], cur.stats[4*(c-1)+1], cur.stats[4*c]}
		b := 0
		for k := 1; k < 4; k++ {
			if d[k] > d[b] {
				b = k
			}
		}
		if d[b] >= p.tdiff {
			best[c] = int8(b)
		}
	}
	// Then write image row by row, so the image and the map stream in order.
	parallel(y1-y0, func(lo, hi int) {
		scratch := make([]float32, 3*S)
		var srcs [4][]float32
		var offs [4]int // offset of the cell's pixel on this row inside each patch plane
		for y := y0 + lo; y < y0+hi; y++ {
			ly := (y - y0) * P
			for c := cLo; c <= cHi; c++ {
				srcs[0], offs[0] = prev.recon[(c-1)*pp3:c*pp3], S*P+S+ly
				srcs[1], offs[1] = prev.recon[c*pp3:(c+1)*pp3], S*P+ly
				srcs[2], offs[2] = cur.recon[(c-1)*pp3:c*pp3], S+ly
				srcs[3], offs[3] = cur.recon[c*pp3:(c+1)*pp3], ly
				x0, x1 := (c-1)*S, min(c*S, img.W)
				p.writeCell(img, res, x0, x1, y, y+1, srcs[:], offs[:], int(best[c]), scratch)
			}
		}
	})
}

// finishNone writes cell columns cLo…cHi of patch row i of the non-overlapping tiling (cell rows i
// and i+1, image rows (i−1)S … (i+1)S).
func (p *Pipeline) finishNone(img *Image, g Grid, i int, cur *band, res *Result, cLo, cHi int) {
	S, P := g.S, g.P
	pp3 := 3 * P * P
	for dy := 0; dy < 2; dy++ {
		y0, y1 := (i-1+dy)*S, min((i+dy)*S, img.H)
		if y0 >= y1 || cLo > cHi {
			continue
		}
		parallel(y1-y0, func(lo, hi int) {
			src := make([][]float32, 1)
			off := make([]int, 1)
			for y := y0 + lo; y < y0+hi; y++ {
				for c := cLo; c <= cHi; c++ {
					j := c - 1 + c%2 // odd patch column covering cell c
					k := (j - 1) / 2
					src[0], off[0] = cur.recon[k*pp3:(k+1)*pp3], (dy*S+y-y0)*P+(c-j)*S
					x0, x1 := (c-1)*S, min(c*S, img.W)
					p.writeCell(img, res, x0, x1, y, y+1, src, off, 0, nil)
				}
			}
		})
	}
}

// writeCell merges the image rectangle [x0,x1)×[y0,y1) of one cell from the covering
// patch planes srcs (the cell's top-left at offs[k] in each P×P plane): the mean of all
// when best < 0, else srcs[best]. It writes the channel-reduced |merged − image|.
// scratch holds 3·(x1−x0) floats for the mean.
func (p *Pipeline) writeCell(img *Image, res *Result, x0, x1, y0, y1 int, srcs [][]float32, offs []int, best int, scratch []float32) {
	P := p.p
	W, n := img.W, img.W*img.H
	wd := x1 - x0
	useMax := p.o.Reduce == ReduceMax
	var merged [3][]float32
	for y := y0; y < y1; y++ {
		ly := y - y0
		for c := 0; c < 3; c++ {
			base := c*P*P + ly*P
			if best >= 0 {
				o := base + offs[best]
				merged[c] = srcs[best][o : o+wd : o+wd]
				continue
			}
			m := scratch[c*wd : (c+1)*wd]
			mean4(m, srcs[0][base+offs[0]:], srcs[1][base+offs[1]:], srcs[2][base+offs[2]:], srcs[3][base+offs[3]:])
			merged[c] = m
		}
		row := y * W
		absDiff3(res.Raw.V[row+x0:row+x1], merged[0], merged[1], merged[2],
			img.Pix[row+x0:row+x1], img.Pix[n+row+x0:n+row+x1], img.Pix[2*n+row+x0:2*n+row+x1], useMax)
		if res.Merged != nil {
			mp := res.Merged.Pix
			copy(mp[row+x0:row+x1], merged[0])
			copy(mp[n+row+x0:n+row+x1], merged[1])
			copy(mp[2*n+row+x0:2*n+row+x1], merged[2])
		}
	}
}
