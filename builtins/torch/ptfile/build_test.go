package ptfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"math"
	"strconv"
)

// Builders of hand-made torch.save files: a pickle writer for the opcodes
// torch.save emits (and the ones an attacker would add), and zip writers,
// including ones that lie about their entries.

type pb struct{ bytes.Buffer }

func newPickle() *pb {
	p := &pb{}
	p.Write([]byte{0x80, 2}) // PROTO 2
	return p
}

func (p *pb) op(b ...byte) *pb { p.Write(b); return p }

func (p *pb) str(s string) *pb {
	p.WriteByte('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
	return p
}

func (p *pb) int(n int64) *pb {
	if n == int64(int32(n)) {
		p.WriteByte('J')
		p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(n))))
		return p
	}
	p.Write([]byte{0x8a, 8})
	p.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
	return p
}

func (p *pb) glob(mod, name string) *pb {
	p.WriteString("c" + mod + "\n" + name + "\n")
	return p
}

func (p *pb) ints(ns ...int64) *pb {
	p.WriteByte('(')
	for _, n := range ns {
		p.int(n)
	}
	p.WriteByte('t')
	return p
}

// storage pushes a storage reference, as torch.save's persistent ids.
func (p *pb) storage(typ, key string, numel int64) *pb {
	p.WriteByte('(')
	p.str("storage").glob("torch", typ).str(key).str("cpu").int(numel)
	p.WriteString("tQ")
	return p
}

// tensor pushes _rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict()).
func (p *pb) tensor(typ, key string, numel, offset int64, shape, stride []int64) *pb {
	p.glob("torch._utils", "_rebuild_tensor_v2").op('(')
	p.storage(typ, key, numel).int(offset).ints(shape...).ints(stride...)
	p.op(0x89).glob("collections", "OrderedDict").op(')', 'R', 't', 'R')
	return p
}

// f32 pushes a contiguous float32 tensor of shape over storage key.
func (p *pb) f32(key string, numel int64, shape ...int64) *pb {
	stride := make([]int64, len(shape))
	s := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		stride[i] = s
		s *= shape[i]
	}
	return p.tensor("FloatStorage", key, numel, 0, shape, stride)
}

// dict pushes {k: v, ...}, each value written by its function.
func (p *pb) dict(kv ...any) *pb {
	p.op('}', '(')
	for i := 0; i < len(kv); i += 2 {
		p.str(kv[i].(string))
		kv[i+1].(func(*pb))(p)
	}
	p.op('u')
	return p
}

func (p *pb) stop() []byte { p.WriteByte('.'); return p.Bytes() }

type entry struct {
	name    string
	data    []byte
	deflate bool
	// declared, when not 0, is the uncompressed size the zip directory
	// states instead of the real one.
	declared uint64
}

func makeZip(ents ...entry) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range ents {
		body, method := e.data, zip.Store
		if e.deflate {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(e.data)
			fw.Close()
			body, method = c.Bytes(), zip.Deflate
		}
		h := &zip.FileHeader{Name: e.name, Method: method, CRC32: crc32.ChecksumIEEE(e.data),
			CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(e.data))}
		if e.declared != 0 {
			h.UncompressedSize64 = e.declared
			if method == zip.Store {
				h.CompressedSize64 = e.declared
			}
		}
		fw, err := w.CreateRaw(h)
		if err != nil {
			panic(err)
		}
		fw.Write(body)
	}
	w.Close()
	return buf.Bytes()
}

// pth is a torch.save file of a pickle and its storages (key, bytes, ...).
func pth(pickle []byte, storages ...any) []byte {
	ents := []entry{{name: "archive/data.pkl", data: pickle}}
	for i := 0; i < len(storages); i += 2 {
		ents = append(ents, entry{name: "archive/data/" + storages[i].(string), data: storages[i+1].([]byte)})
	}
	ents = append(ents, entry{name: "archive/version", data: []byte("3\n")})
	return makeZip(ents...)
}

// overlappingZip writes one stored entry's bytes once and a central
// directory in which n entries, archive/data/0 ... n-1, all point at them
// (the overlapping-entries zip bomb), plus data.pkl.
func overlappingZip(pickle []byte, shared []byte, n int) []byte {
	var b bytes.Buffer
	le16 := func(v int) { b.Write(binary.LittleEndian.AppendUint16(nil, uint16(v))) }
	le32 := func(v uint32) { b.Write(binary.LittleEndian.AppendUint32(nil, v)) }
	type rec struct {
		name string
		crc  uint32
		size int
		off  int
	}
	local := func(name string, data []byte) rec {
		r := rec{name, crc32.ChecksumIEEE(data), len(data), b.Len()}
		le32(0x04034b50)
		le16(20)
		le16(0)
		le16(0) // stored
		le16(0)
		le16(0)
		le32(r.crc)
		le32(uint32(r.size))
		le32(uint32(r.size))
		le16(len(name))
		le16(0)
		b.WriteString(name)
		b.Write(data)
		return r
	}
	recs := []rec{local("archive/data.pkl", pickle)}
	s := local("archive/data/0", shared)
	for i := 0; i < n; i++ {
		s.name = "archive/data/" + strconv.Itoa(i)
		recs = append(recs, s)
	}
	cd := b.Len()
	for _, r := range recs {
		le32(0x02014b50)
		le16(20)
		le16(20)
		le16(0)
		le16(0)
		le16(0)
		le16(0)
		le32(r.crc)
		le32(uint32(r.size))
		le32(uint32(r.size))
		le16(len(r.name))
		le16(0)
		le16(0)
		le16(0)
		le16(0)
		le32(0)
		le32(uint32(r.off))
		b.WriteString(r.name)
	}
	end := b.Len()
	le32(0x06054b50)
	le16(0)
	le16(0)
	le16(len(recs))
	le16(len(recs))
	le32(uint32(end - cd))
	le32(uint32(cd))
	le16(0)
	return b.Bytes()
}

func f32bytes(vals ...float32) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func zipReader(b []byte) (*zip.Reader, error) {
	return zip.NewReader(bytes.NewReader(b), int64(len(b)))
}

type rawZip struct{ *zip.Writer }

func zipWriter(w *bytes.Buffer) rawZip { return rawZip{zip.NewWriter(w)} }

// raw writes an entry's bytes as they are, with the declared uncompressed
// size (and no CRC, which the zip reader then does not check).
func (z rawZip) raw(name string, body []byte, deflated bool, declared uint64) {
	h := &zip.FileHeader{Name: name, Method: zip.Store, CompressedSize64: uint64(len(body)), UncompressedSize64: declared}
	if deflated {
		h.Method = zip.Deflate
	}
	fw, err := z.CreateRaw(h)
	if err != nil {
		panic(err)
	}
	fw.Write(body)
}
