package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// This file is a restricted unpickler for torch.save state dicts. It
// interprets the pickle opcodes of protocols 2 to 5 that such pickles use,
// but builds only plain values (None, bool, int, float, str, bytes, tuple,
// list, dict) and the few objects a state dict needs: OrderedDicts, storage
// references and tensor views. Globals are looked up in a fixed allowlist
// and anything else (os.system, builtins.eval, ...) is refused by name, so
// reading a pickle never runs code. Memory use is linear in the pickle size.

// Values the unpickler builds, besides string, int64, float64 and bool.
type (
	pyNone  struct{}
	pyBytes string
	pyTuple []any
	pyList  struct{ items []any }
	// pyDict is a dict or OrderedDict, keeping insertion order.
	pyDict struct {
		keys, vals []any
		index      map[any]int
	}
	// pyGlobal is an allowed function or class, named module.name.
	pyGlobal struct{ module, name string }
	// pyStorageType is a torch.*Storage class.
	pyStorageType struct{ dtype DType }
	// pyStorage is a storage of a torch zip archive: file data/<key>, holding
	// numel elements of dtype.
	pyStorage struct {
		dtype         DType
		key, location string
		numel         int64
	}
	// pyTensor is a strided view of a storage, as torch._utils
	// _rebuild_tensor_v2 describes it; all counts are in elements.
	pyTensor struct {
		storage      *pyStorage
		offset       int64
		size, stride []int64
	}
)

func newDict() *pyDict { return &pyDict{index: make(map[any]int)} }

// set inserts or replaces d[k]; k must be of a hashable scalar type.
func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, pyBytes, int64, float64, bool, pyNone:
	default:
		return fmt.Errorf("dict key of type %s is not supported", typeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

// get returns d[k] for a string key.
func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// storageDType maps torch's storage class names to element types.
func storageDType(name string) (DType, bool) {
	switch name {
	case "FloatStorage":
		return F32, true
	case "HalfStorage":
		return F16, true
	case "BFloat16Storage":
		return BF16, true
	case "DoubleStorage":
		return F64, true
	case "LongStorage":
		return I64, true
	case "IntStorage":
		return I32, true
	case "ShortStorage":
		return I16, true
	case "CharStorage":
		return I8, true
	case "ByteStorage":
		return U8, true
	case "BoolStorage":
		return Bool, true
	}
	return Invalid, false
}

// lookupGlobal resolves a GLOBAL or STACK_GLOBAL against the allowlist.
func lookupGlobal(module, name string) (any, error) {
	switch module {
	case "collections":
		if name == "OrderedDict" {
			return pyGlobal{module, name}, nil
		}
	case "torch._utils":
		switch name {
		case "_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter", "_rebuild_parameter_with_state":
			return pyGlobal{module, name}, nil
		}
	case "torch":
		if dt, ok := storageDType(name); ok {
			return pyStorageType{dt}, nil
		}
	}
	return nil, fmt.Errorf("pickle global %s.%s is not allowed (a state dict needs only collections.OrderedDict, "+
		"torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage); refusing to load a file that could run code",
		module, name)
}

// unpickler is the state of one run of the pickle machine.
type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int // stack lengths at each MARK
	memo  map[uint64]any
	// persistentLoad resolves a BINPERSID id (a storage reference).
	persistentLoad func(pid any) (any, error)
}

// unpickle runs the pickle program data and returns the object it builds.
// persistentLoad may be nil, in which case persistent ids are refused.
func unpickle(data []byte, persistentLoad func(any) (any, error)) (v any, err error) {
	u := &unpickler{data: data, memo: make(map[uint64]any), persistentLoad: persistentLoad}
	for {
		if u.pos >= len(u.data) {
			return nil, fmt.Errorf("pickle: truncated: no STOP opcode in %d bytes", len(u.data))
		}
		op := u.data[u.pos]
		at := u.pos
		u.pos++
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle: opcode %s at offset %d%s: %w", opName(op), at, u.context(), err)
		}
		if done {
			return u.stack[0], nil
		}
	}
}

var errUnderflow = errors.New("stack underflow")

// step executes one opcode; it reports done after STOP.
func (u *unpickler) step(op byte) (done bool, err error) {
	switch op {
	case 0x80: // PROTO
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		if b[0] > 5 {
			return false, fmt.Errorf("pickle protocol %d is not supported", b[0])
		}
	case 0x95: // FRAME: a length prefix for buffering; nothing to do
		if _, err := u.readUint(8); err != nil {
			return false, err
		}
	case '.': // STOP
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		u.stack = append(u.stack[:0], v)
		return true, nil
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '}': // EMPTY_DICT
		u.push(newDict())
	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case ')': // EMPTY_TUPLE
		u.push(pyTuple{})
	case 'N': // NONE
		u.push(pyNone{})
	case 0x88: // NEWTRUE
		u.push(true)
	case 0x89: // NEWFALSE
		u.push(false)
	case 'J': // BININT
		n, err := u.readUint(4)
		if err != nil {
			return false, err
		}
		u.push(int64(int32(uint32(n))))
	case 'K': // BININT1
		n, err := u.readUint(1)
		if err != nil {
			return false, err
		}
		u.push(int64(n))
	case 'M': // BININT2
		n, err := u.readUint(2)
		if err != nil {
			return false, err
		}
		u.push(int64(n))
	case 0x8a, 0x8b: // LONG1, LONG4
		width := 1
		if op == 0x8b {
			width = 4
		}
		n, err := u.readUint(width)
		if err != nil {
			return false, err
		}
		b, err := u.readN(n)
		if err != nil {
			return false, err
		}
		v, err := decodeLong(b)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'G': // BINFLOAT
		b, err := u.read(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		width := countWidth(op)
		b, err := u.readCounted(width)
		if err != nil {
			return false, err
		}
		u.push(string(b))
	case 'U', 'C', 'B', 0x8e: // SHORT_BINSTRING, SHORT_BINBYTES, BINBYTES, BINBYTES8
		width := countWidth(op)
		b, err := u.readCounted(width)
		if err != nil {
			return false, err
		}
		u.push(pyBytes(b))
	case 'T': // BINSTRING: a signed 4-byte length
		n, err := u.readUint(4)
		if err != nil {
			return false, err
		}
		if int32(uint32(n)) < 0 {
			return false, errors.New("negative length")
		}
		b, err := u.readN(n)
		if err != nil {
			return false, err
		}
		u.push(pyBytes(b))
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(pyTuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op-0x85) + 1
		if u.avail() < n {
			return false, errUnderflow
		}
		items := slices.Clone(u.stack[len(u.stack)-n:])
		u.stack = u.stack[:len(u.stack)-n]
		u.push(pyTuple(items))
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items: items})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := newDict()
		if err := setItems(d, items); err != nil {
			return false, err
		}
		u.push(d)
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		return false, u.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.appendTo(items)
	case 's': // SETITEM
		if u.avail() < 3 {
			return false, errUnderflow
		}
		k, v := u.stack[len(u.stack)-2], u.stack[len(u.stack)-1]
		u.stack = u.stack[:len(u.stack)-2]
		d, ok := u.stack[len(u.stack)-1].(*pyDict)
		if !ok {
			return false, fmt.Errorf("SETITEM on %s", typeName(u.stack[len(u.stack)-1]))
		}
		return false, d.set(k, v)
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		top, err := u.top()
		if err != nil {
			return false, err
		}
		d, ok := top.(*pyDict)
		if !ok {
			return false, fmt.Errorf("SETITEMS on %s", typeName(top))
		}
		return false, setItems(d, items)
	case '0': // POP
		_, err := u.pop()
		return false, err
	case '1': // POP_MARK
		_, err := u.popMark()
		return false, err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'c': // GLOBAL: "module\nname\n"
		module, err := u.readLine()
		if err != nil {
			return false, err
		}
		name, err := u.readLine()
		if err != nil {
			return false, err
		}
		g, err := lookupGlobal(module, name)
		if err != nil {
			return false, err
		}
		u.push(g)
	case 0x93: // STACK_GLOBAL
		if u.avail() < 2 {
			return false, errUnderflow
		}
		module, ok1 := u.stack[len(u.stack)-2].(string)
		name, ok2 := u.stack[len(u.stack)-1].(string)
		if !ok1 || !ok2 {
			return false, errors.New("module and name must be strings")
		}
		u.stack = u.stack[:len(u.stack)-2]
		g, err := lookupGlobal(module, name)
		if err != nil {
			return false, err
		}
		u.push(g)
	case 'R': // REDUCE: callable(*args)
		if u.avail() < 2 {
			return false, errUnderflow
		}
		args, ok := u.stack[len(u.stack)-1].(pyTuple)
		if !ok {
			return false, fmt.Errorf("arguments are a %s, not a tuple", typeName(u.stack[len(u.stack)-1]))
		}
		v, err := call(u.stack[len(u.stack)-2], args)
		if err != nil {
			return false, err
		}
		u.stack = u.stack[:len(u.stack)-1]
		u.stack[len(u.stack)-1] = v
	case 0x81: // NEWOBJ: cls.__new__(cls, *args); only OrderedDict
		if u.avail() < 2 {
			return false, errUnderflow
		}
		cls, args := u.stack[len(u.stack)-2], u.stack[len(u.stack)-1]
		if cls != (pyGlobal{"collections", "OrderedDict"}) {
			return false, fmt.Errorf("instantiating %s is not allowed", typeName(cls))
		}
		if t, ok := args.(pyTuple); !ok || len(t) != 0 {
			return false, errors.New("OrderedDict.__new__ takes no arguments here")
		}
		u.stack = u.stack[:len(u.stack)-1]
		u.stack[len(u.stack)-1] = newDict()
	case 'b': // BUILD: inst.__setstate__(state); only a dict's attributes (state_dict()._metadata)
		if u.avail() < 2 {
			return false, errUnderflow
		}
		state, inst := u.stack[len(u.stack)-1], u.stack[len(u.stack)-2]
		if _, ok := inst.(*pyDict); !ok {
			return false, fmt.Errorf("setting the state of %s is not allowed", typeName(inst))
		}
		switch state.(type) {
		case *pyDict, pyTuple, pyNone:
		default:
			return false, fmt.Errorf("dict state of type %s", typeName(state))
		}
		u.stack = u.stack[:len(u.stack)-1]
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return false, err
		}
		if u.persistentLoad == nil {
			return false, errors.New("persistent ids are not allowed here")
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		v, err := u.top()
		if err != nil {
			return false, err
		}
		idx := uint64(len(u.memo))
		if op != 0x94 {
			if idx, err = u.readUint(countWidth(op)); err != nil {
				return false, err
			}
		}
		u.memo[idx] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		idx, err := u.readUint(countWidth(op))
		if err != nil {
			return false, err
		}
		v, ok := u.memo[idx]
		if !ok {
			return false, fmt.Errorf("memo entry %d was never stored", idx)
		}
		u.push(v)
	default:
		return false, errors.New("unsupported opcode (not used by torch.save state dicts)")
	}
	return false, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// context names the state dict entry being built, for error messages: in
// torch's pickles the key is pushed just before the rebuild function.
func (u *unpickler) context() string {
	for i := len(u.stack) - 1; i > 0; i-- {
		if g, ok := u.stack[i].(pyGlobal); ok && g.module == "torch._utils" {
			if key, ok := u.stack[i-1].(string); ok {
				return fmt.Sprintf(" (tensor %q)", key)
			}
		}
	}
	return ""
}

// avail returns how many values lie above the innermost mark.
func (u *unpickler) avail() int {
	if len(u.marks) > 0 {
		return len(u.stack) - u.marks[len(u.marks)-1]
	}
	return len(u.stack)
}

func (u *unpickler) pop() (any, error) {
	if u.avail() < 1 {
		return nil, errUnderflow
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if u.avail() < 1 {
		return nil, errUnderflow
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes and returns the values above the innermost mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := slices.Clone(u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

// appendTo extends the list on top of the stack.
func (u *unpickler) appendTo(items []any) error {
	top, err := u.top()
	if err != nil {
		return err
	}
	l, ok := top.(*pyList)
	if !ok {
		return fmt.Errorf("appending to %s", typeName(top))
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n > len(u.data)-u.pos {
		return nil, fmt.Errorf("truncated: %d bytes wanted, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

// readN reads a count that came from the file.
func (u *unpickler) readN(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, fmt.Errorf("truncated: length %d runs past the end (%d bytes left)", n, len(u.data)-u.pos)
	}
	return u.read(int(n))
}

// readUint reads a little-endian unsigned integer of width bytes.
func (u *unpickler) readUint(width int) (uint64, error) {
	b, err := u.read(width)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := width - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// countWidth returns the width in bytes of the length or index operand of
// op.
func countWidth(op byte) int {
	switch op {
	case 0x8c, 'U', 'C', 'q', 'h': // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES, BINPUT, BINGET
		return 1
	case 0x8d, 0x8e: // BINUNICODE8, BINBYTES8
		return 8
	}
	return 4 // BINUNICODE, BINBYTES, LONG_BINPUT, LONG_BINGET
}

// readCounted reads a length of width bytes, then that many bytes.
func (u *unpickler) readCounted(width int) ([]byte, error) {
	n, err := u.readUint(width)
	if err != nil {
		return nil, err
	}
	return u.readN(n)
}

// readLine reads up to and excluding the next newline (GLOBAL's operands).
func (u *unpickler) readLine() (string, error) {
	for i := u.pos; i < len(u.data) && i-u.pos < 1024; i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", errors.New("unterminated or over-long line")
}

// decodeLong decodes a little-endian two's complement integer (LONG1/4)
// that must fit in an int64.
func decodeLong(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 8 {
		return 0, fmt.Errorf("integer of %d bytes is too large", len(b))
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if shift := 64 - 8*uint(len(b)); shift > 0 {
		return int64(v<<shift) >> shift, nil // sign-extend
	}
	return int64(v), nil
}

// setItems stores key, value pairs into d.
func setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of items for a dict")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// call applies an allowed global to its arguments (REDUCE).
func call(fn any, args pyTuple) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("calling %s is not allowed", typeName(fn))
	}
	switch g.name {
	case "OrderedDict":
		d := newDict()
		switch {
		case len(args) == 0:
		case len(args) == 1:
			l, ok := args[0].(*pyList)
			if !ok {
				return nil, fmt.Errorf("OrderedDict of a %s", typeName(args[0]))
			}
			for _, it := range l.items {
				kv, ok := it.(pyTuple)
				if !ok || len(kv) != 2 {
					return nil, errors.New("OrderedDict items must be pairs")
				}
				if err := d.set(kv[0], kv[1]); err != nil {
					return nil, err
				}
			}
		default:
			return nil, errors.New("OrderedDict takes at most one argument")
		}
		return d, nil
	case "_rebuild_tensor_v2", "_rebuild_tensor":
		// (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
		if g.name == "_rebuild_tensor" && len(args) != 4 || g.name == "_rebuild_tensor_v2" && len(args) != 6 && len(args) != 7 {
			return nil, fmt.Errorf("%s with %d arguments", g.name, len(args))
		}
		return rebuildTensor(args[0], args[1], args[2], args[3])
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		// (data, requires_grad, backward_hooks[, state]): the parameter is its data.
		if g.name == "_rebuild_parameter" && len(args) != 3 || g.name == "_rebuild_parameter_with_state" && len(args) != 4 {
			return nil, fmt.Errorf("%s with %d arguments", g.name, len(args))
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("%s of a %s", g.name, typeName(args[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("calling %s is not allowed", typeName(fn))
}

// rebuildTensor validates a strided view of a storage.
func rebuildTensor(storage, offset, size, stride any) (*pyTensor, error) {
	st, ok := storage.(*pyStorage)
	if !ok {
		return nil, fmt.Errorf("tensor storage is a %s", typeName(storage))
	}
	off, ok := offset.(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("bad storage offset %v", offset)
	}
	sz, err := intTuple(size, "size")
	if err != nil {
		return nil, err
	}
	sd, err := intTuple(stride, "stride")
	if err != nil {
		return nil, err
	}
	if len(sz) != len(sd) {
		return nil, fmt.Errorf("size %v and stride %v differ in length", sz, sd)
	}
	elems, _, err := shapeSize(sz, st.dtype.Size())
	if err != nil {
		return nil, err
	}
	if elems > 0 {
		// The last element the view touches must lie inside the storage.
		last := uint64(off)
		for i := range sz {
			hi, p := bits.Mul64(uint64(sz[i]-1), uint64(sd[i]))
			var carry uint64
			last, carry = bits.Add64(last, p, 0)
			if hi != 0 || carry != 0 {
				return nil, fmt.Errorf("view size %v stride %v offset %d overflows", sz, sd, off)
			}
		}
		if last >= uint64(st.numel) {
			return nil, fmt.Errorf("view size %v stride %v offset %d reaches element %d of a storage of %d",
				sz, sd, off, last, st.numel)
		}
	}
	return &pyTensor{storage: st, offset: off, size: sz, stride: sd}, nil
}

// intTuple returns a tuple of non-negative ints.
func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("tensor %s is a %s, not a tuple", what, typeName(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("tensor %s %v: entries must be non-negative ints", what, t)
		}
		out[i] = n
	}
	return out, nil
}

// typeName describes a pickle value for error messages (never its
// contents, which may be large or cyclic).
func typeName(v any) string {
	switch v := v.(type) {
	case pyNone:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyBytes:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return v.module + "." + v.name
	case pyStorageType:
		return "torch storage type " + v.dtype.String()
	case *pyStorage:
		return "storage"
	case *pyTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// opName names an opcode for error messages.
func opName(op byte) string {
	if op >= 0x20 && op < 0x7f {
		return fmt.Sprintf("0x%02x (%q)", op, rune(op))
	}
	return fmt.Sprintf("0x%02x", op)
}
