package checkpoint

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
)

// pytorchAlign is the alignment of storages in archives this package
// writes; torch.save uses the same, so that loaders can map them.
const pytorchAlign = 64

// WritePyTorch writes tensors to path as a torch.save zip archive (the
// format of pytorch_model.bin since torch 1.6) holding an OrderedDict state
// dict of the given dtype (F32, F16 or BF16). The pickle uses protocol 2
// and only the globals torch.load(weights_only=True) accepts; each tensor
// has its own storage, stored uncompressed and 64-byte aligned. The file is
// written to a temporary name and renamed into place.
func WritePyTorch(path string, tensors []NamedTensor, dtype DType) error {
	sorted, err := checkTensors(tensors, dtype)
	if err != nil {
		return writeErr(path, err)
	}
	const dir = "archive/"
	return writeAtomic(path, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		zw := zip.NewWriter(cw)
		if err := addEntry(zw, cw, dir+"data.pkl", statePickle(sorted, dtype)); err != nil {
			return err
		}
		if err := addEntry(zw, cw, dir+"byteorder", []byte("little")); err != nil {
			return err
		}
		for i, t := range sorted {
			crc := crc32.NewIEEE()
			if err := writeElements(crc, t.Data, dtype); err != nil {
				return err
			}
			size := uint64(len(t.Data) * dtype.Size())
			fw, err := createAligned(zw, cw, dir+"data/"+strconv.Itoa(i), size, crc.Sum32())
			if err != nil {
				return err
			}
			if err := writeElements(fw, t.Data, dtype); err != nil {
				return err
			}
		}
		if err := addEntry(zw, cw, dir+"version", []byte("3\n")); err != nil {
			return err
		}
		return zw.Close()
	})
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// addEntry stores a small entry.
func addEntry(zw *zip.Writer, cw *countingWriter, name string, data []byte) error {
	fw, err := createAligned(zw, cw, name, uint64(len(data)), crc32.ChecksumIEEE(data))
	if err != nil {
		return err
	}
	_, err = fw.Write(data)
	return err
}

// createAligned starts an uncompressed entry whose data begins at a
// multiple of pytorchAlign in the file, padding the local header's extra
// field as torch does.
func createAligned(zw *zip.Writer, cw *countingWriter, name string, size uint64, crc uint32) (io.Writer, error) {
	if err := zw.Flush(); err != nil {
		return nil, err
	}
	const localHeaderLen = 30
	pad := int((pytorchAlign - (cw.n+int64(localHeaderLen+len(name)))%pytorchAlign) % pytorchAlign)
	if pad > 0 && pad < 4 { // an extra field needs 4 bytes of its own
		pad += pytorchAlign
	}
	var extra []byte
	if pad > 0 {
		extra = make([]byte, pad)
		copy(extra, "FB")
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad-4))
	}
	fh := &zip.FileHeader{
		Name:               name,
		Method:             zip.Store,
		CreatorVersion:     20,
		ReaderVersion:      20,
		ModifiedDate:       1<<5 | 1, // 1980-01-01, the earliest DOS date
		CRC32:              crc,
		CompressedSize64:   size,
		UncompressedSize64: size,
		Extra:              extra,
	}
	fw, err := zw.CreateRaw(fh)
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", name, err)
	}
	return fw, nil
}

// statePickle returns the protocol-2 pickle of an OrderedDict mapping each
// name to torch._utils._rebuild_tensor_v2(storage i, 0, shape, contiguous
// strides, False, OrderedDict()), storage i being persistent id
// ('storage', torch.<Type>Storage, "i", "cpu", numel).
func statePickle(sorted []NamedTensor, dtype DType) []byte {
	storage := map[DType]string{F32: "FloatStorage", F16: "HalfStorage", BF16: "BFloat16Storage"}[dtype]
	var p pickleWriter
	p.b = append(p.b, 0x80, 2) // PROTO 2
	p.global("collections", "OrderedDict")
	p.b = append(p.b, ')', 'R', '(') // EMPTY_TUPLE REDUCE MARK
	for i, t := range sorted {
		p.str(t.Name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.b = append(p.b, '(', '(') // MARK (args) MARK (persistent id)
		p.str("storage")
		p.global("torch", storage)
		p.str(strconv.Itoa(i))
		p.str("cpu")
		p.int(len(t.Data))
		p.b = append(p.b, 't', 'Q') // TUPLE BINPERSID
		p.int(0)
		stride := make([]int, len(t.Shape))
		acc := 1
		for j := len(t.Shape) - 1; j >= 0; j-- {
			stride[j] = acc
			acc *= t.Shape[j]
		}
		p.tuple(t.Shape)
		p.tuple(stride)
		p.b = append(p.b, 0x89) // NEWFALSE: requires_grad
		p.global("collections", "OrderedDict")
		p.b = append(p.b, ')', 'R') // backward_hooks = OrderedDict()
		p.b = append(p.b, 't', 'R') // TUPLE REDUCE
	}
	p.b = append(p.b, 'u', '.') // SETITEMS STOP
	return p.b
}

// pickleWriter emits the few protocol-2 opcodes a state dict needs.
type pickleWriter struct{ b []byte }

func (p *pickleWriter) global(module, name string) {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
}

func (p *pickleWriter) str(s string) {
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
}

func (p *pickleWriter) int(i int) {
	n := int64(i)
	switch {
	case n >= 0 && n < 1<<8:
		p.b = append(p.b, 'K', byte(n))
	case n >= 0 && n < 1<<16:
		p.b = append(p.b, 'M')
		p.b = binary.LittleEndian.AppendUint16(p.b, uint16(n))
	case n >= -1<<31 && n < 1<<31:
		p.b = append(p.b, 'J')
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(n)))
	default: // LONG1 with 8 bytes: two's complement, little-endian
		p.b = append(p.b, 0x8a, 8)
		p.b = binary.LittleEndian.AppendUint64(p.b, uint64(n))
	}
}

func (p *pickleWriter) tuple(ns []int) {
	if len(ns) == 0 {
		p.b = append(p.b, ')')
		return
	}
	if len(ns) > 3 {
		p.b = append(p.b, '(')
	}
	for _, n := range ns {
		p.int(n)
	}
	switch len(ns) {
	case 1, 2, 3:
		p.b = append(p.b, 0x84+byte(len(ns))) // TUPLE1..3
	default:
		p.b = append(p.b, 't')
	}
}
