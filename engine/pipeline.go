package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
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
	out           []float32 // slot 0: the previous batch's last patch; slots 1…n: this batch's outputs
	stats         []float32 // quarter statistics of every patch of the run: patch k quarter q at 4k+q
	// Per cell row, by parity: part holds a + b, the sum of the two quarters the patch row
	// above contributes to each cell (3·S·S floats per cell column), and cand keeps those
	// two quarters themselves when their statistic reaches t_diff, so ROPS can still pick
	// one (2·3·S·S floats per cell column, written only then).
	part, cand [2][]float32
	tmp        []float32 // image-sized scratch of the blur
	rowIdx     []int32   // reflect-101 row of each padded row
	colIdx     []int32   // reflect-101 column of each padded column
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
// patch rows. Each batch is merged as soon as it returns, while its outputs are in cache:
// a cell (the S×S square four patches cover) is finished when its last covering patch
// arrives, from the sum its two upper quarters left (and the quarters themselves when ROPS
// may pick one). Memory is bounded by the batch and two cell rows of sums, plus the
// image-sized map, the blur's scratch and 16 bytes of statistics per patch; every patch
// output is read from memory once.
func (p *Pipeline) Run(ctx context.Context, img *Image, progress func(done, total int)) (*Result, error) {
	return p.RunInto(ctx, img, nil, progress)
}

// RunInto is Run writing the raw map into raw, resized to the image and entirely
// overwritten (nil allocates a new map). A caller that scores images one after another
// and is done with each map before the next keeps one warm image-sized buffer instead of
// faulting in a fresh one per image (a 4K map is 33 MB: about 8000 page faults). After an
// error raw holds a partial map.
func (p *Pipeline) RunInto(ctx context.Context, img *Image, raw *Map, progress func(done, total int)) (*Result, error) {
	if err := img.valid(); err != nil {
		return nil, fmt.Errorf("run pipeline: %w", err)
	}
	g := NewGrid(img.W, img.H, p.p)
	rows, cols := p.runPlan(g)
	nc := len(cols)
	total := len(rows) * nc
	P, S := p.p, p.s
	pp3 := 3 * P * P
	nb := min(p.o.BatchSize, total)
	p.in = grow(p.in, nb*pp3)
	p.pos = grow(p.pos, nb*2)
	p.gate = grow(p.gate, nb*P*P)
	p.out = grow(p.out, (nb+1)*pp3)
	p.stats = grow(p.stats, total*4)
	ncx, _ := g.ImageCells()
	if p.o.Merge != MergeNone {
		for k := range p.part {
			p.part[k] = grow(p.part[k], (ncx+1)*3*S*S)
			if p.o.Merge == MergeROPS {
				p.cand[k] = grow(p.cand[k], (ncx+1)*6*S*S)
			}
		}
	}
	p.rowIdx = growIdx(p.rowIdx, g.Hp)
	for y := range p.rowIdx {
		p.rowIdx[y] = int32(Reflect(y-S, g.H))
	}
	p.colIdx = growIdx(p.colIdx, g.Wp)
	for x := range p.colIdx {
		p.colIdx[x] = int32(Reflect(x-S, g.W))
	}
	res := &Result{Raw: reuse(raw, img.W, img.H), Patches: total}
	if p.o.KeepMerged {
		res.Merged = NewImage(img.W, img.H)
	}
	for k0 := 0; k0 < total; {
		n := min(nb, total-k0)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run pipeline: stopped after %d of %d patches: %w", k0, total, err)
		}
		t0 := time.Now()
		parallel(n, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				i, j := rows[(k0+b)/nc], cols[(k0+b)%nc]
				p.tile(img, g, i, j, p.in[b*pp3:(b+1)*pp3])
				p.pos[2*b], p.pos[2*b+1] = g.Position(i, j)
			}
		})
		t1 := time.Now()
		out := p.out[pp3 : (n+1)*pp3]
		err := p.m.Reconstruct(ctx, n, p.in[:n*pp3], p.pos[:2*n], out, p.gate[:n*P*P])
		t2 := time.Now()
		if err != nil {
			return nil, fmt.Errorf("run pipeline: reconstruct patches %d–%d of %d: %w", k0+1, k0+n, total, err)
		}
		if p.o.Merge == MergeNone {
			// Every quarter is a cell of its own: the statistics only check the outputs.
			stats := p.stats[k0*4 : (k0+n)*4]
			parallel(n, func(lo, hi int) {
				for b := lo; b < hi; b++ {
					p.quarterStats(p.in[b*pp3:(b+1)*pp3], out[b*pp3:(b+1)*pp3], stats[4*b:4*b+4])
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
			parallel(n, func(lo, hi int) {
				for b := lo; b < hi; b++ {
					p.writeNone(img, g, rows[(k0+b)/nc], cols[(k0+b)%nc], out[b*pp3:(b+1)*pp3], res)
				}
			})
		} else {
			// Patch row by patch row: a row's cells need the sums the row above left.
			var bad firstBad
			for k := k0; k < k0+n; {
				i, j0 := k/nc, k%nc
				j1 := min(nc, j0+k0+n-k) // patch columns j0…j1−1 of row i are in this batch
				parallel(j1-max(j0, 1), func(lo, hi int) {
					var scratch []float32 // padded image cells at the image's edge
					for j := max(j0, 1) + lo; j < max(j0, 1)+hi; j++ {
						slot := i*nc + j - k0 + 1 // patch (i, j); patch (i, j−1) is the slot before
						p.mergeCell(img, g, i, j, p.out[(slot-1)*pp3:slot*pp3], p.out[slot*pp3:(slot+1)*pp3], res, &scratch, &bad)
					}
				})
				if k, ok := bad.get(); ok {
					return nil, fmt.Errorf("run pipeline: patch %d (row %d, column %d): %w", k+1, k/nc, k%nc, ErrModelOutput)
				}
				k += j1 - j0
			}
			if last := (k0 + n - 1) % nc; last < nc-1 {
				copy(p.out[:pp3], p.out[n*pp3:(n+1)*pp3]) // the next batch continues this row
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

func growIdx(buf []int32, n int) []int32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]int32, n)
}

// tile copies patch (i, j) of the reflect-padded image into dst (3×P×P, planar): whole
// planes when the patch lies inside the image, else row by row through the reflect tables.
func (p *Pipeline) tile(img *Image, g Grid, i, j int, dst []float32) {
	P, W, H := g.P, img.W, img.H
	ox, oy := j*g.S-g.S, i*g.S-g.S // image coordinates of the patch origin
	if ox >= 0 && ox+P <= W && oy >= 0 && oy+P <= H {
		for c := 0; c < 3; c++ {
			copyBlock(dst[c*P*P:], P, img.Pix[c*W*H+oy*W+ox:], W, P, P)
		}
		return
	}
	// Columns lx0…lx1−1 come straight from the image row; the rest through the reflect table.
	lx0, lx1 := min(P, max(0, -ox)), max(0, min(P, W-ox))
	lx1 = max(lx0, lx1)
	ridx := p.rowIdx[i*g.S : i*g.S+P]
	cidx := p.colIdx[j*g.S : j*g.S+P]
	for c := 0; c < 3; c++ {
		plane := img.Pix[c*W*H : (c+1)*W*H]
		d := dst[c*P*P : (c+1)*P*P]
		for ly, sy := range ridx {
			src := plane[int(sy)*W : (int(sy)+1)*W]
			dr := d[ly*P : (ly+1)*P]
			copy(dr[lx0:lx1], src[ox+lx0:ox+lx1])
			for lx := 0; lx < lx0; lx++ {
				dr[lx] = src[cidx[lx]]
			}
			for lx := lx1; lx < P; lx++ {
				dr[lx] = src[cidx[lx]]
			}
		}
	}
}

// quarterStats sets out4[q] to the cell statistic of each quarter of a patch (q = 0 TL,
// 1 TR, 2 BL, 3 BR) against the patch's own input.
func (p *Pipeline) quarterStats(in, out []float32, out4 []float32) {
	S, P := p.s, p.p
	for q := range 4 {
		o := (q/2)*S*P + (q%2)*S
		out4[q] = p.cellStat(out[o:], in[o:], P*P, P)
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

// firstBad records the first patch found with a non-finite output.
type firstBad struct {
	mu  sync.Mutex
	k   int
	set bool
}

func (f *firstBad) add(k int) {
	f.mu.Lock()
	if !f.set || k < f.k {
		f.k, f.set = k, true
	}
	f.mu.Unlock()
}

func (f *firstBad) get() (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.k, f.set
}

// cellImage returns padded image cell (ci, cj) as channel 0 of planes spaced by plane floats,
// rows by stride: the image itself when the cell lies inside it, else a reflect-padded copy
// in *scratch (3 planes S×S, allocated on first use).
func (p *Pipeline) cellImage(img *Image, g Grid, ci, cj int, scratch *[]float32) (im []float32, plane, stride int) {
	S, W, H := g.S, img.W, img.H
	if ci >= 1 && cj >= 1 && ci*S <= H && cj*S <= W {
		return img.Pix[(ci-1)*S*W+(cj-1)*S:], W * H, W
	}
	if *scratch == nil {
		*scratch = make([]float32, 3*S*S)
	}
	sc := *scratch
	ridx, cidx := p.rowIdx[ci*S:(ci+1)*S], p.colIdx[cj*S:(cj+1)*S]
	for c := 0; c < 3; c++ {
		src := img.Pix[c*W*H : (c+1)*W*H]
		for ly, sy := range ridx {
			row := src[int(sy)*W : (int(sy)+1)*W]
			d := sc[c*S*S+ly*S : c*S*S+(ly+1)*S]
			for lx, sx := range cidx {
				d[lx] = row[sx]
			}
		}
	}
	return sc, S * S, S
}

// cellStat is the cell statistic of |input − output| over one quarter (q: its corner in
// channel 0 of a patch, planes P×P) against the padded image cell it covers (im, planes
// spaced by plane, rows by stride). The mean is accumulated in float64, channel by
// channel and row by row.
func (p *Pipeline) cellStat(q []float32, im []float32, plane, stride int) float32 {
	S, P := p.s, p.p
	if p.o.CellStat == StatMean {
		var acc float64
		for c := 0; c < 3; c++ {
			for ly := 0; ly < S; ly++ {
				o, oi := c*P*P+ly*P, c*plane+ly*stride
				acc += sumAbsDiff(q[o:o+S], im[oi:oi+S])
			}
		}
		return float32(acc / float64(3*S*S))
	}
	var m uint32
	for c := 0; c < 3; c++ {
		m = blockMaxAbsDiff(q[c*P*P:], P, im[c*plane:], stride, S, S, m)
	}
	return math.Float32frombits(m)
}

// mergeCell does the work patch (i, j) completes, given its output cur and the output left
// of patch (i, j−1), j ≥ 1, in one pass over their quarters that cover the image: it
// leaves for cell (i+1, j) the statistics of its two upper quarters (bottom-right of left,
// bottom-left of cur) and their sum, and it finishes cell (i, j) (padded cell coordinates:
// the cell patches (i−1, j−1), (i−1, j), (i, j−1) and (i, j) cover) into the raw map.
// Statistics are measured against the padded image, which is what the patches' inputs
// hold. A non-finite statistic is recorded in bad.
func (p *Pipeline) mergeCell(img *Image, g Grid, i, j int, left, cur []float32, res *Result, scratch *[]float32, bad *firstBad) {
	S, P := g.S, g.P
	PP, SS := P*P, S*S
	W, H := img.W, img.H
	ncx, ncy := g.ImageCells()
	if j > ncx {
		return
	}
	x0, cw := (j-1)*S, min(S, W-(j-1)*S)
	nc := g.Cols
	kl, kc := i*nc+j-1, i*nc+j // patch numbers of left and cur
	// The cell below: statistics, then the sum a + b (bottom-right of left + bottom-left of
	// cur, in that order) and, for ROPS, the quarters that may win.
	if i+1 <= ncy {
		im, plane, stride := p.cellImage(img, g, i+1, j, scratch)
		sa, sb := p.cellStat(left[S*P+S:], im, plane, stride), p.cellStat(cur[S*P:], im, plane, stride)
		p.stats[4*kl+3], p.stats[4*kc+2] = sa, sb
		if !isFinite(sa) {
			bad.add(kl)
		}
		if !isFinite(sb) {
			bad.add(kc)
		}
		rh := min(S, H-i*S)
		part := p.part[(i+1)%2][j*3*SS : (j+1)*3*SS]
		for c := 0; c < 3; c++ {
			blockAdd(part[c*SS:], S, left[c*PP+S*P+S:], P, cur[c*PP+S*P:], P, rh, cw)
		}
		if p.o.Merge == MergeROPS {
			cand := p.cand[(i+1)%2][j*6*SS : (j+1)*6*SS]
			if sa >= p.tdiff {
				copyQuarter(cand[:3*SS], left[S*P+S:], S, P, rh, cw)
			}
			if sb >= p.tdiff {
				copyQuarter(cand[3*SS:], cur[S*P:], S, P, rh, cw)
			}
		}
	}
	if i < 1 || i > ncy {
		return
	}
	// Cell (i, j): quarters a, b from the row above, c = top-right of left, d = top-left
	// of cur.
	y0, rh := (i-1)*S, min(S, H-(i-1)*S)
	{
		im, plane, stride := p.cellImage(img, g, i, j, scratch)
		sc, sd := p.cellStat(left[S:], im, plane, stride), p.cellStat(cur, im, plane, stride)
		p.stats[4*kl+1], p.stats[4*kc] = sc, sd
		if !isFinite(sc) {
			bad.add(kl)
		}
		if !isFinite(sd) {
			bad.add(kc)
		}
		if !isFinite(sc) || !isFinite(sd) {
			return
		}
	}
	best := -1
	if p.o.Merge == MergeROPS {
		k := (i-1)*nc + j
		d := [4]float32{p.stats[4*(k-1)+3], p.stats[4*k+2], p.stats[4*kl+1], p.stats[4*kc]}
		b := 0
		for q := 1; q < 4; q++ {
			if d[q] > d[b] {
				b = q
			}
		}
		if d[b] >= p.tdiff {
			best = b
		}
	}
	part := p.part[i%2][j*3*SS : (j+1)*3*SS]
	var cand []float32
	if best == 0 || best == 1 {
		cand = p.cand[i%2][(2*j+best)*3*SS : (2*j+best+1)*3*SS]
	}
	ops := [3]int{opSet, opAdd, opAddDiv3}
	if p.o.Reduce == ReduceMax {
		ops = [3]int{opSet, opMax, opMax}
	}
	o := y0*W + x0
	for c := 0; c < 3; c++ {
		im := img.Pix[c*W*H+o:]
		// src, ss: the merged cell's channel c and its stride.
		var src []float32
		var ss int
		switch {
		case res.Merged != nil:
			src, ss = res.Merged.Pix[c*W*H+o:], W
			switch best {
			case -1:
				mean3(src, W, part[c*SS:], S, left[c*PP+S:], P, cur[c*PP:], P, rh, cw)
			case 0, 1:
				copyBlock(src, W, cand[c*SS:], S, rh, cw)
			case 2:
				copyBlock(src, W, left[c*PP+S:], P, rh, cw)
			case 3:
				copyBlock(src, W, cur[c*PP:], P, rh, cw)
			}
		case best == -1:
			blockMeanAbs(res.Raw.V[o:], W, part[c*SS:], S, left[c*PP+S:], P, cur[c*PP:], P, im, W, rh, cw, ops[c])
			continue
		case best <= 1:
			src, ss = cand[c*SS:], S
		case best == 2:
			src, ss = left[c*PP+S:], P
		default:
			src, ss = cur[c*PP:], P
		}
		blockAbs(res.Raw.V[o:], W, src, ss, im, W, rh, cw, ops[c])
	}
}

// writeNone writes the image cells of patch (i, j) of the non-overlapping tiling (odd i
// and j): its four quarters are cells (i, j), (i, j+1), (i+1, j) and (i+1, j+1).
func (p *Pipeline) writeNone(img *Image, g Grid, i, j int, cur []float32, res *Result) {
	S, P := g.S, g.P
	W, H := img.W, img.H
	ncx, ncy := g.ImageCells()
	ops := [3]int{opSet, opAdd, opAddDiv3}
	if p.o.Reduce == ReduceMax {
		ops = [3]int{opSet, opMax, opMax}
	}
	for q := 0; q < 4; q++ {
		ci, cj := i+q/2, j+q%2
		if ci < 1 || ci > ncy || cj < 1 || cj > ncx {
			continue
		}
		y0, x0 := (ci-1)*S, (cj-1)*S
		rh, cw := min(S, H-y0), min(S, W-x0)
		o := y0*W + x0
		for c := 0; c < 3; c++ {
			src, ss := cur[c*P*P+(q/2)*S*P+(q%2)*S:], P
			if res.Merged != nil {
				copyBlock(res.Merged.Pix[c*W*H+o:], W, src, ss, rh, cw)
				src, ss = res.Merged.Pix[c*W*H+o:], W
			}
			blockAbs(res.Raw.V[o:], W, src, ss, img.Pix[c*W*H+o:], W, rh, cw, ops[c])
		}
	}
}

// copyQuarter copies the rows × cols window of the three channel planes of a patch
// quarter (src at the quarter's corner in channel 0, planes P×P) into dst (3 planes S×S).
func copyQuarter(dst, src []float32, S, P, rows, cols int) {
	for c := 0; c < 3; c++ {
		copyBlock(dst[c*S*S:], S, src[c*P*P:], P, rows, cols)
	}
}

// mean3 sets dst = ((p + q) + d) · 0.25 over the window, the ROPS mean when p = a + b.
func mean3(dst []float32, sd int, p []float32, sp int, q []float32, sq int, d []float32, sdd int, rows, cols int) {
	for r := 0; r < rows; r++ {
		o, a, b, c := dst[r*sd:r*sd+cols], p[r*sp:r*sp+cols], q[r*sq:r*sq+cols], d[r*sdd:r*sdd+cols]
		for x := range o {
			o[x] = ((a[x] + b[x]) + c[x]) * 0.25
		}
	}
}
