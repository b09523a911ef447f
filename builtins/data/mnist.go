package data

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultFashionMNIST is where Debian's dataset-fashion-mnist installs it.
const DefaultFashionMNIST = "/usr/share/datasets/fashion-mnist"

// fashionClasses are Fashion-MNIST's label names.
var fashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// openMaybeGz opens name.gz, or name when only the uncompressed file exists.
func openMaybeGz(dir, name string) (io.ReadCloser, string, error) {
	gz := filepath.Join(dir, name+".gz")
	if f, err := os.Open(gz); err == nil {
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, gz, fmt.Errorf("%s: not a gzip file: %v", gz, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, gz, nil
	}
	plain := filepath.Join(dir, name)
	f, err := os.Open(plain)
	if err != nil {
		return nil, gz, fmt.Errorf("no file %s (expected Fashion-MNIST's IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in %s); %s", gz, dir, fmnistSrc)
	}
	return f, plain, nil
}

// readIDX reads an IDX file of unsigned bytes: a big-endian magic 0x0000 08
// <ndim>, ndim big-endian int32 sizes, then the data.
func readIDX(dir, name string, wantDims int) ([]int, []byte, error) {
	r, path, err := openMaybeGz(dir, name)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var magic uint32
	if err := binary.Read(r, binary.BigEndian, &magic); err != nil {
		return nil, nil, fmt.Errorf("%s: cannot read the IDX header: %v", path, err)
	}
	if magic>>8 != 0x08 || int(magic&0xff) != wantDims {
		return nil, nil, fmt.Errorf("%s: not an IDX file of %d-dimensional unsigned bytes (magic 0x%08x, want 0x%08x)", path, wantDims, magic, 0x800|wantDims)
	}
	dims := make([]int, wantDims)
	n := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: cannot read the IDX header: %v", path, err)
		}
		dims[i] = int(d)
		n *= int(d)
	}
	if n > 1<<31 {
		return nil, nil, fmt.Errorf("%s: IDX sizes %v are implausibly large", path, dims)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, nil, fmt.Errorf("%s: truncated: the header promises %v values: %v", path, dims, err)
	}
	return dims, data, nil
}

// loadFashion reads one IDX pair and keeps the images of the given classes,
// relabelled 0..len(classes)-1 in the given order.
func loadFashion(dir, file string, classes []int) (split, []byte, [2]int, error) {
	var none [2]int
	idims, pix, err := readIDX(dir, file+"-images-idx3-ubyte", 3)
	if err != nil {
		return split{}, nil, none, err
	}
	ldims, labels, err := readIDX(dir, file+"-labels-idx1-ubyte", 1)
	if err != nil {
		return split{}, nil, none, err
	}
	if idims[0] != ldims[0] {
		return split{}, nil, none, fmt.Errorf("%s: %d images but %d labels", filepath.Join(dir, file+"-*-idx*-ubyte.gz"), idims[0], ldims[0])
	}
	newLabel := map[int]int32{}
	s := split{}
	for i, c := range classes {
		if c < 0 || c >= len(fashionClasses) {
			return split{}, nil, none, fmt.Errorf("class %d: Fashion-MNIST classes are 0..9", c)
		}
		if _, dup := newLabel[c]; dup {
			return split{}, nil, none, fmt.Errorf("class %d is listed twice", c)
		}
		newLabel[c] = int32(i)
		s.classes = append(s.classes, fashionClasses[c])
	}
	h, w := idims[1], idims[2]
	var keep []byte
	for i, l := range labels {
		nl, ok := newLabel[int(l)]
		if !ok {
			continue
		}
		s.labels = append(s.labels, nl)
		keep = append(keep, pix[i*h*w:(i+1)*h*w]...)
	}
	return s, keep, [2]int{w, h}, nil
}
