// Package tensorfmt renders tensors exactly as PyTorch 1.13's repr does
// (torch/_tensor_str.py), so that scripts and their recorded outputs read the
// same whether they ran in Python or in dadash.
//
// The package works on plain Go slices and never touches libtorch: callers
// copy the elements out of a tensor (row-major, as float64, int64 or bool)
// and pass them here together with the shape and the tensor's properties.
package tensorfmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Data holds a tensor's elements in row-major (C) order. Exactly one field is
// used, chosen by the dtype's kind: F for floating dtypes, I for integer
// dtypes, B for bool.
type Data struct {
	F []float64
	I []int64
	B []bool
}

// SciMode mirrors torch.set_printoptions(sci_mode=...).
type SciMode int

const (
	// SciAuto lets the formatter decide, as sci_mode=None does.
	SciAuto SciMode = iota
	// SciOn forces scientific notation for floating tensors.
	SciOn
	// SciOff forbids scientific notation for floating tensors.
	SciOff
)

// Options describe the tensor's properties that show up in its repr and the
// print options in force. A zero field selects PyTorch's default; because of
// that, an explicit 0 for Precision or Threshold (both legal in PyTorch) is
// written as any negative number.
type Options struct {
	// DType is the PyTorch dtype name without the "torch." prefix, e.g.
	// "float32", "int64", "bool". Empty means the default for the kind of
	// Data given: float32, int64 or bool.
	DType string
	// Device is printed unless it is "" or "cpu", e.g. "cuda:0".
	Device string
	// RequiresGrad prints requires_grad=True for leaf tensors.
	RequiresGrad bool
	// GradFn, when set, is printed as grad_fn=<GradFn> instead of
	// requires_grad, e.g. "AddBackward0".
	GradFn string

	Precision int     // digits after the point; default 4
	Threshold int     // summarise above this many elements; default 1000
	EdgeItems int     // items kept at each end when summarising; default 3
	LineWidth int     // wrap lines at this width; default 80
	SciMode   SciMode // default SciAuto
}

// Defaults of torch.set_printoptions(profile="default").
const (
	DefaultPrecision = 4
	DefaultThreshold = 1000
	DefaultEdgeItems = 3
	DefaultLineWidth = 80
)

type kind int

const (
	kindFloat kind = iota
	kindInt
	kindBool
)

var dtypeKinds = map[string]kind{
	"float32": kindFloat, "float64": kindFloat, "float16": kindFloat, "bfloat16": kindFloat,
	"int64": kindInt, "int32": kindInt, "int16": kindInt, "int8": kindInt, "uint8": kindInt,
	"bool": kindBool,
}

// resolved print options, zero values replaced by defaults.
type printOpts struct {
	precision int
	threshold int64
	edgeItems int64
	lineWidth int
	sciMode   SciMode
}

func resolve(o Options) (printOpts, error) {
	p := printOpts{
		precision: o.Precision,
		threshold: int64(o.Threshold),
		edgeItems: int64(o.EdgeItems),
		lineWidth: o.LineWidth,
		sciMode:   o.SciMode,
	}
	switch {
	case p.precision == 0:
		p.precision = DefaultPrecision
	case p.precision < 0:
		p.precision = 0
	}
	switch {
	case p.threshold == 0:
		p.threshold = DefaultThreshold
	case p.threshold < 0:
		p.threshold = 0
	}
	if p.edgeItems == 0 {
		p.edgeItems = DefaultEdgeItems
	}
	if p.edgeItems < 0 {
		return p, fmt.Errorf("tensorfmt: EdgeItems must not be negative, got %d", o.EdgeItems)
	}
	if p.lineWidth == 0 {
		p.lineWidth = DefaultLineWidth
	}
	if p.lineWidth < 0 {
		return p, fmt.Errorf("tensorfmt: LineWidth must not be negative, got %d", o.LineWidth)
	}
	if p.sciMode < SciAuto || p.sciMode > SciOff {
		return p, fmt.Errorf("tensorfmt: unknown SciMode %d", o.SciMode)
	}
	return p, nil
}

// Format returns repr(tensor) as PyTorch 1.13 prints it for a plain, dense
// tensor, e.g. "tensor([1., 2.], dtype=torch.float64)". Floating values are
// first rounded to DType's precision, as storing them in the tensor would.
// It fails when the dtype is unknown, the shape is invalid or the number of
// elements does not match the shape.
func Format(data Data, shape []int64, opts Options) (string, error) {
	return format(data, shape, opts, false)
}

// FormatEdges is Format for tensors too big to copy whole: data holds only
// the elements PyTorch's summary shows, i.e. the tensor with every dimension
// longer than 2*EdgeItems cut to its first and last EdgeItems (what
// get_summarized_data keeps), in row-major order. shape is the full shape,
// whose element count must exceed Threshold.
func FormatEdges(data Data, shape []int64, opts Options) (string, error) {
	return format(data, shape, opts, true)
}

// EdgeShape is the shape of the data FormatEdges takes for a full shape.
func EdgeShape(shape []int64, opts Options) []int64 {
	e := int64(opts.EdgeItems)
	if e == 0 {
		e = DefaultEdgeItems
	}
	out := make([]int64, len(shape))
	for i, n := range shape {
		out[i] = min(n, 2*e)
	}
	return out
}

func format(data Data, shape []int64, opts Options, edges bool) (string, error) {
	po, err := resolve(opts)
	if err != nil {
		return "", err
	}
	dtype := opts.DType
	if dtype == "" {
		switch {
		case data.F != nil:
			dtype = "float32"
		case data.I != nil:
			dtype = "int64"
		case data.B != nil:
			dtype = "bool"
		default:
			return "", fmt.Errorf("tensorfmt: no DType and no data to infer it from")
		}
	}
	k, ok := dtypeKinds[dtype]
	if !ok {
		return "", fmt.Errorf("tensorfmt: unsupported dtype %q", dtype)
	}
	numel := int64(1)
	for _, d := range shape {
		if d < 0 {
			return "", fmt.Errorf("tensorfmt: negative dimension in shape %s", shapeString(shape))
		}
		if d != 0 && numel > math.MaxInt64/d {
			return "", fmt.Errorf("tensorfmt: shape %s has too many elements", shapeString(shape))
		}
		numel *= d
	}
	var n int
	switch k {
	case kindFloat:
		n = len(data.F)
	case kindInt:
		n = len(data.I)
	case kindBool:
		n = len(data.B)
	}
	want := numel
	if edges {
		if numel <= po.threshold {
			return "", fmt.Errorf("tensorfmt: FormatEdges needs more than %d elements (shape %s); use Format", po.threshold, shapeString(shape))
		}
		want = 1
		for _, d := range shape {
			want *= min(d, 2*po.edgeItems)
		}
	}
	if int64(n) != want {
		return "", fmt.Errorf("tensorfmt: shape %s needs %d elements, got %d", shapeString(shape), want, n)
	}

	const prefix = "tensor("
	indent := len(prefix)
	var suffixes []string
	if opts.Device != "" && opts.Device != "cpu" {
		suffixes = append(suffixes, "device='"+opts.Device+"'")
	}
	var body string
	if numel == 0 {
		// PyTorch shows the shape of empty tensors unless it is (0,), and
		// always the dtype unless it is the default floating one, since no
		// element hints at it.
		if len(shape) != 1 {
			suffixes = append(suffixes, "size="+shapeString(shape))
		}
		if dtype != "float32" {
			suffixes = append(suffixes, "dtype=torch."+dtype)
		}
		body = "[]"
	} else {
		if dtype != "float32" && dtype != "int64" && dtype != "bool" {
			suffixes = append(suffixes, "dtype=torch."+dtype)
		}
		p := newPrinter(data, k, dtype, shape, numel, po, edges)
		body = p.tensorStr(0, 0, indent)
	}
	if opts.GradFn != "" {
		suffixes = append(suffixes, "grad_fn=<"+opts.GradFn+">")
	} else if opts.RequiresGrad {
		suffixes = append(suffixes, "requires_grad=True")
	}
	return addSuffixes(prefix+body, suffixes, indent, po.lineWidth), nil
}

// addSuffixes follows _add_suffixes, including its off-by-two estimate of
// the last line's length, since that decides where PyTorch breaks lines.
func addSuffixes(s string, suffixes []string, indent, lineWidth int) string {
	var b strings.Builder
	b.WriteString(s)
	lastLineLen := len(s) - strings.LastIndexByte(s, '\n') + 1
	for _, suf := range suffixes {
		if lastLineLen+len(suf)+2 > lineWidth {
			b.WriteString(",\n")
			b.WriteString(strings.Repeat(" ", indent))
			b.WriteString(suf)
			lastLineLen = indent + len(suf)
		} else {
			b.WriteString(", ")
			b.WriteString(suf)
			lastLineLen += len(suf) + 2
		}
	}
	b.WriteString(")")
	return b.String()
}

// shapeString prints a shape as Python prints a tuple: (), (3,), (2, 3).
func shapeString(shape []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// printer walks the tensor by flat offsets, as _tensor_str_with_formatter
// walks it by indexing.
type printer struct {
	kind      kind
	floats    []float64
	ints      []int64
	bools     []bool
	shape     []int64
	strides   []int64
	summarize bool
	edges     bool // the data holds only the summary's elements (FormatEdges)
	po        printOpts
	f         formatter
}

func newPrinter(data Data, k kind, dtype string, shape []int64, numel int64, po printOpts, edges bool) *printer {
	p := &printer{kind: k, shape: shape, po: po, ints: data.I, bools: data.B, edges: edges}
	if k == kindFloat {
		p.floats = make([]float64, len(data.F))
		for i, v := range data.F {
			p.floats[i] = roundTo(dtype, v)
		}
	}
	// Strides of the data given: the full tensor's, or the summary's.
	p.strides = make([]int64, len(shape))
	st := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		p.strides[i] = st
		if edges {
			st *= min(shape[i], 2*po.edgeItems)
		} else {
			st *= shape[i]
		}
	}
	p.summarize = numel > po.threshold
	var idx []int64
	if p.summarize {
		idx = p.summarizedIndices(0, 0, nil)
	} else {
		idx = make([]int64, numel)
		for i := range idx {
			idx[i] = int64(i)
		}
	}
	p.f = p.newFormatter(idx)
	return p
}

// summarizedIndices lists the elements get_summarized_data keeps: the
// formatter's widths and modes are decided on those alone.
func (p *printer) summarizedIndices(off int64, dim int, out []int64) []int64 {
	if dim == len(p.shape) {
		return append(out, off)
	}
	n, st, e := p.shape[dim], p.strides[dim], p.po.edgeItems
	if n > 2*e {
		for i := int64(0); i < e; i++ {
			out = p.summarizedIndices(off+i*st, dim+1, out)
		}
		for i := n - e; i < n; i++ {
			out = p.summarizedIndices(off+p.at(dim, i)*st, dim+1, out)
		}
		return out
	}
	for i := int64(0); i < n; i++ {
		out = p.summarizedIndices(off+i*st, dim+1, out)
	}
	return out
}

// at maps index i of dimension dim to its position in the data given: in
// the summary's data, the last EdgeItems of a long dimension follow its first.
func (p *printer) at(dim int, i int64) int64 {
	n, e := p.shape[dim], p.po.edgeItems
	if p.edges && n > 2*e && i >= n-e {
		return i - (n - 2*e)
	}
	return i
}

func (p *printer) element(i int64) string {
	switch p.kind {
	case kindFloat:
		return p.f.format(p.floats[i])
	case kindInt:
		return p.f.pad(strconv.FormatInt(p.ints[i], 10))
	default:
		return p.f.pad(boolString(p.bools[i]))
	}
}

func (p *printer) tensorStr(off int64, dim int, indent int) string {
	rest := len(p.shape) - dim
	switch rest {
	case 0:
		return p.element(off)
	case 1:
		return p.vectorStr(off, dim, indent)
	}
	n, st, e := p.shape[dim], p.strides[dim], p.po.edgeItems
	var slices []string
	if p.summarize && n > 2*e {
		for i := int64(0); i < e; i++ {
			slices = append(slices, p.tensorStr(off+i*st, dim+1, indent+1))
		}
		slices = append(slices, "...")
		for i := n - e; i < n; i++ {
			slices = append(slices, p.tensorStr(off+p.at(dim, i)*st, dim+1, indent+1))
		}
	} else {
		for i := int64(0); i < n; i++ {
			slices = append(slices, p.tensorStr(off+i*st, dim+1, indent+1))
		}
	}
	sep := "," + strings.Repeat("\n", rest-1) + strings.Repeat(" ", indent+1)
	return "[" + strings.Join(slices, sep) + "]"
}

func (p *printer) vectorStr(off int64, dim int, indent int) string {
	elementLength := p.f.maxWidth + 2
	perLine := floorDiv(p.po.lineWidth-indent, elementLength)
	if perLine < 1 {
		perLine = 1
	}
	n, st, e := p.shape[dim], p.strides[dim], p.po.edgeItems
	var data []string
	if p.summarize && n > 2*e {
		for i := int64(0); i < e; i++ {
			data = append(data, p.element(off+i*st))
		}
		// The leading space is PyTorch's: it yields ",  ..., ".
		data = append(data, " ...")
		for i := n - e; i < n; i++ {
			data = append(data, p.element(off+p.at(dim, i)*st))
		}
	} else {
		for i := int64(0); i < n; i++ {
			data = append(data, p.element(off+i*st))
		}
	}
	var lines []string
	for i := 0; i < len(data); i += perLine {
		j := min(i+perLine, len(data))
		lines = append(lines, strings.Join(data[i:j], ", "))
	}
	return "[" + strings.Join(lines, ",\n"+strings.Repeat(" ", indent+1)) + "]"
}

// floorDiv is Python's // for a positive divisor.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
