package metrics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"sort"

	faiss "github.com/DataIntelligenceCrew/go-faiss"

	"github.com/dadash/dadash/builtins/metrics/internal/faissx"
)

// searcher is a faiss index over the gallery vectors, by squared L2
// distance. Unit vectors are searched by L2 too (their L2 ranking is their
// cosine ranking): faiss's L2 heaps break ties by index consistently (the
// smaller index is kept and listed first), while its inner-product heaps
// keep whichever tied index arrived first and drop the smaller one on
// eviction, so the order among equal distances would depend on the scan.
// The reference ranks e_recall and mAP with IndexFlatL2 as well.
type searcher struct {
	index faiss.Index
}

// newSearcher indexes the n x d gallery x: IndexFlatL2, or an IVF index
// (IVF<nlist>,Flat, trained on the gallery) when o.Index is "ivf".
func newSearcher(x []float32, n, d int, o *Options) (*searcher, error) {
	metric := faiss.MetricL2
	var idx faiss.Index
	switch o.Index {
	case "", "flat":
		f, err := faiss.NewIndexFlat(d, metric)
		if err != nil {
			return nil, fmt.Errorf("faiss: %v", err)
		}
		idx = f
	case "ivf":
		nlist, nprobe := ivfSizes(n, o.NList, o.NProbe)
		f, err := faiss.IndexFactory(d, fmt.Sprintf("IVF%d,Flat", nlist), metric)
		if err != nil {
			return nil, fmt.Errorf("faiss: %v", err)
		}
		idx = f
		if err := idx.Train(x); err != nil {
			idx.Delete()
			return nil, fmt.Errorf("faiss: training the IVF index: %v", err)
		}
		ps, err := faiss.NewParameterSpace()
		if err == nil {
			err = ps.SetIndexParameter(idx, "nprobe", float64(nprobe))
			ps.Delete()
		}
		if err != nil {
			idx.Delete()
			return nil, fmt.Errorf("faiss: setting nprobe: %v", err)
		}
	default:
		return nil, fmt.Errorf("unknown index %q: use \"flat\" (exact) or \"ivf\" (approximate, for very large sets)", o.Index)
	}
	if err := idx.Add(x); err != nil {
		idx.Delete()
		return nil, fmt.Errorf("faiss: %v", err)
	}
	return &searcher{index: idx}, nil
}

// ivfSizes fills in the IVF defaults: 4 sqrt(n) lists, but at least 39
// training points per list as faiss wants (so small sets get fewer lists),
// and 32 probes.
func ivfSizes(n, nlist, nprobe int) (int, int) {
	if nlist <= 0 {
		nlist = int(4 * math.Sqrt(float64(n)))
		nlist = min(nlist, n/39)
	}
	nlist = max(1, min(nlist, n))
	if nprobe <= 0 {
		nprobe = 32
	}
	return nlist, min(nprobe, nlist)
}

func (s *searcher) close() { s.index.Delete() }

// search returns the k nearest gallery rows of each query row, ordered by
// distance and, among equal distances, by gallery index (faiss keeps the
// smallest indices when ties straddle the k-th place, and orderTies makes
// the order within the result independent of faiss's heap).
func (s *searcher) search(q []float32, k int) ([]float32, []int64, error) {
	if len(q) == 0 || k == 0 {
		return nil, nil, nil
	}
	dist, ids, err := s.index.Search(q, int64(k))
	if err != nil {
		return nil, nil, fmt.Errorf("faiss search: %v", err)
	}
	for r := 0; r < len(ids)/k; r++ {
		orderTies(dist[r*k:(r+1)*k], ids[r*k:(r+1)*k])
	}
	return dist, ids, nil
}

// orderTies sorts each run of equal distances by index; faiss's -1 (no
// neighbour, possible with IVF) stays last.
func orderTies(dist []float32, ids []int64) {
	for i := 0; i < len(dist); {
		j := i + 1
		for j < len(dist) && dist[j] == dist[i] {
			j++
		}
		if j-i > 1 {
			run := ids[i:j]
			sort.Slice(run, func(a, b int) bool {
				if (run[a] < 0) != (run[b] < 0) {
					return run[b] < 0
				}
				return run[a] < run[b]
			})
		}
		i = j
	}
}

// dropSelf removes query index self from one result row (or, when faiss did
// not return it because ties with smaller indices filled the row, the last
// entry), so exactly len(ids)-1 neighbours remain, in order.
func dropSelf(dist []float32, ids []int64, self int64) ([]float32, []int64) {
	p := len(ids) - 1
	for i, id := range ids {
		if id == self {
			p = i
			break
		}
	}
	copy(ids[p:], ids[p+1:])
	copy(dist[p:], dist[p+1:])
	return dist[:len(dist)-1], ids[:len(ids)-1]
}

// pass is one chunked kNN search and the metrics computed from it.
type pass struct {
	cosine bool  // over the normalised vectors (cosine ranking); else as given
	specs  []int // indices into the run's specs
	k      int   // neighbours needed per query (the query itself excluded)
	apLen  int   // ranks over which average precision is accumulated
	method string
}

// accum is a running mean.
type accum struct {
	sum float64
	n   int
}

func (a accum) mean() float64 {
	if a.n == 0 {
		return 0
	}
	return a.sum / float64(a.n)
}

// selfKNNBudget bounds the heaps of the symmetric search (n * k * 8
// bytes); above it the chunked faiss search, which holds one chunk, is used.
const selfKNNBudget = 1 << 30

// knnPass searches the gallery for every query and accumulates the pass's
// metrics query by query, so neighbours are held for one chunk (or, in the
// symmetric search, as heaps of k per row) and never all at once.
//
// A flat search of the set against itself uses faissx.SelfKNN, which
// computes each pair's distance once; otherwise faiss searches the queries
// in chunks. Both give the same ranking (ties by index).
func (r *run) knnPass(ctx context.Context, p *pass, gal, qry []float32) error {
	p.method = "none"
	acc := make([]accum, len(p.specs))
	defer func() {
		for i, si := range p.specs {
			r.values[si] = acc[i].mean()
		}
	}()
	if p.k == 0 {
		return nil
	}
	sc := newScratch(p)
	flat := r.opts.Index == "" || r.opts.Index == "flat"
	if r.self && flat && !r.opts.chunkedSelf && int64(r.ng)*int64(p.k)*8 <= selfKNNBudget {
		p.method = "symmetric flat search"
		s, err := faissx.NewSelfKNN(gal, r.ng, r.d, p.k, 0)
		if err != nil {
			return err
		}
		defer s.Close()
		for done := false; !done; {
			if err := ctx.Err(); err != nil {
				return err
			}
			if done, err = s.Step(); err != nil {
				return err
			}
		}
		for row0 := 0; row0 < r.ng; row0 += DefaultChunkSize {
			_, ids, err := s.Rows(row0, min(DefaultChunkSize, r.ng-row0))
			if err != nil {
				return err
			}
			for b := 0; b < len(ids)/p.k; b++ {
				r.score(p, acc, sc, row0+b, ids[b*p.k:(b+1)*p.k])
			}
		}
		return nil
	}
	s, err := newSearcher(gal, r.ng, r.d, r.opts)
	if err != nil {
		return err
	}
	defer s.close()
	chunk := r.opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	p.method = fmt.Sprintf("faiss %s search, chunks of %d", cmp.Or(r.opts.Index, "flat"), chunk)
	ks := p.k
	if r.self {
		ks++ // the query finds itself too
	}
	ks = min(ks, r.ng)
	for q0 := 0; q0 < r.nq; q0 += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		q1 := min(q0+chunk, r.nq)
		dist, ids, err := s.search(qry[q0*r.d:q1*r.d], ks)
		if err != nil {
			return err
		}
		for row := 0; row < q1-q0; row++ {
			qi := q0 + row
			rd, ri := dist[row*ks:(row+1)*ks], ids[row*ks:(row+1)*ks]
			if r.self {
				_, ri = dropSelf(rd, ri, int64(qi))
			}
			r.score(p, acc, sc, qi, ri)
		}
	}
	return nil
}

// scratch holds one query's working arrays.
type scratch struct {
	nb  []int32   // classes of the neighbours (-1: none)
	cum []int32   // hits among the first i+1 neighbours
	ap  []float64 // sum of precision@j over the hits j <= i
}

func newScratch(p *pass) *scratch {
	return &scratch{nb: make([]int32, p.k), cum: make([]int32, p.k), ap: make([]float64, p.apLen)}
}

// score adds the contribution of query qi, whose neighbours (nearest
// first, the query itself left out) are ids, to each metric of the pass.
func (r *run) score(p *pass, acc []accum, sc *scratch, qi int, ids []int64) {
	y := r.qClass[qi]
	nb, cum, ap := sc.nb, sc.cum, sc.ap
	var hits int32
	for i := range nb {
		c := int32(-1)
		if i < len(ids) && ids[i] >= 0 {
			c = r.gClass[ids[i]]
		}
		nb[i] = c
		if c == y {
			hits++
		}
		cum[i] = hits
	}
	var s float64
	for i := range ap {
		if nb[i] == y {
			s += float64(cum[i]) / float64(i+1)
		}
		ap[i] = s
	}
	nc := int(r.gCount[y]) // the class's size in the gallery (with the query in self mode)
	others := nc
	if r.self {
		others-- // items of the class besides the query
	}
	apAt := func(n int) float64 { // average-precision sum over the first n ranks
		if n <= 0 || len(ap) == 0 {
			return 0
		}
		return ap[min(n, len(ap))-1]
	}
	for i, si := range p.specs {
		sp := r.specs[si]
		a := &acc[i]
		switch sp.kind {
		case kindRecall:
			// Every query counts; a query whose class has no other item
			// can never hit.
			if cum[sp.k-1] > 0 {
				a.sum++
			}
			a.n++
		case kindPrecisionAt1:
			// pytorch-metric-learning skips "lone" queries (no other item
			// of their class in the gallery).
			if others == 0 {
				continue
			}
			if nb[0] == y {
				a.sum++
			}
			a.n++
		case kindRPrecision:
			if others == 0 {
				continue
			}
			R := min(others, capR)
			a.sum += float64(cum[R-1]) / float64(R)
			a.n++
		case kindMapAtR:
			if others == 0 {
				continue
			}
			R := min(others, capR)
			a.sum += apAt(R) / float64(R)
			a.n++
		case kindMAPR:
			// The reference: R = n_c, the class size counting the query,
			// over the first R neighbours after the query; a class of one
			// item scores 0 and counts.
			R := min(nc, capR)
			if R > 0 {
				a.sum += apAt(R) / float64(R)
			}
			a.n++
		case kindMAP1000:
			if nc > 0 {
				a.sum += apAt(capR) / float64(nc)
			}
			a.n++
		}
	}
}

// Neighbors is the result of KNN: for query row i, Index[i*K+j] is its
// (j+1)-th nearest gallery row and Dist[i*K+j] the distance to it.
type Neighbors struct {
	K     int
	Dist  []float32
	Index []int64
}

// KNNOptions configure KNN.
type KNNOptions struct {
	// L2 ranks by Euclidean distance of the vectors as given; the default
	// ranks by cosine similarity (rows normalised) and reports the cosine
	// distance 1 - cos.
	L2      bool
	Index   string // "flat" (default) or "ivf"
	NList   int
	NProbe  int
	Threads int
}

// KNN finds the k nearest rows of the n x d gallery for each of the nq rows
// of query. With query == nil the gallery is queried against itself and
// each row's own index is left out of its neighbours. Ties are ordered by
// gallery index; with IVF, a missing neighbour has index -1.
func KNN(ctx context.Context, gallery []float32, n, d int, query []float32, k int, o KNNOptions) (Neighbors, error) {
	if err := checkVectors("embeddings", gallery, n, d); err != nil {
		return Neighbors{}, err
	}
	self := query == nil
	nq := n
	if !self {
		if len(query)%d != 0 {
			return Neighbors{}, fmt.Errorf("query has %d values, not a whole number of %d-dimensional rows", len(query), d)
		}
		nq = len(query) / d
		if err := checkVectors("query", query, nq, d); err != nil {
			return Neighbors{}, err
		}
	}
	avail := n
	if self {
		avail = n - 1
	}
	if k < 1 || k > avail {
		return Neighbors{}, fmt.Errorf("k = %d neighbours, but %s; k must be between 1 and %d", k, gallerySize(n, self), avail)
	}
	setThreads(o.Threads)
	g, q := gallery, query
	if !o.L2 {
		var err error
		if g, err = normalized("embeddings", gallery, n, d); err != nil {
			return Neighbors{}, err
		}
		if !self {
			if q, err = normalized("query", query, nq, d); err != nil {
				return Neighbors{}, err
			}
		}
	}
	out := Neighbors{K: k, Dist: make([]float32, nq*k), Index: make([]int64, nq*k)}
	// emit stores the neighbours of rows row0... (squared L2 distances).
	emit := func(row0 int, dist []float32, ids []int64) {
		copy(out.Index[row0*k:], ids)
		od := out.Dist[row0*k : row0*k+len(dist)]
		for j, v := range dist {
			if o.L2 {
				od[j] = float32(math.Sqrt(math.Max(float64(v), 0)))
			} else {
				od[j] = v / 2 // |u - v|^2 = 2 - 2 cos for unit u, v
			}
		}
	}
	flat := o.Index == "" || o.Index == "flat"
	if self && flat && int64(n)*int64(k)*8 <= selfKNNBudget {
		s, err := faissx.NewSelfKNN(g, n, d, k, 0)
		if err != nil {
			return Neighbors{}, err
		}
		defer s.Close()
		for done := false; !done; {
			if err := ctx.Err(); err != nil {
				return Neighbors{}, err
			}
			if done, err = s.Step(); err != nil {
				return Neighbors{}, err
			}
		}
		for row0 := 0; row0 < n; row0 += DefaultChunkSize {
			dist, ids, err := s.Rows(row0, min(DefaultChunkSize, n-row0))
			if err != nil {
				return Neighbors{}, err
			}
			emit(row0, dist, ids)
		}
		return out, nil
	}
	if self {
		q = g
	}
	s, err := newSearcher(g, n, d, &Options{Index: o.Index, NList: o.NList, NProbe: o.NProbe})
	if err != nil {
		return Neighbors{}, err
	}
	defer s.close()
	ks := k
	if self {
		ks++
	}
	for q0 := 0; q0 < nq; q0 += DefaultChunkSize {
		if err := ctx.Err(); err != nil {
			return Neighbors{}, err
		}
		q1 := min(q0+DefaultChunkSize, nq)
		dist, ids, err := s.search(q[q0*d:q1*d], ks)
		if err != nil {
			return Neighbors{}, err
		}
		for row := 0; row < q1-q0; row++ {
			rd, ri := dist[row*ks:(row+1)*ks], ids[row*ks:(row+1)*ks]
			if self {
				rd, ri = dropSelf(rd, ri, int64(q0+row))
			}
			emit(q0+row, rd, ri)
		}
	}
	return out, nil
}

func gallerySize(n int, self bool) string {
	if self {
		return fmt.Sprintf("the gallery has %d items (%d besides the query itself)", n, n-1)
	}
	return fmt.Sprintf("the gallery has %d items", n)
}
