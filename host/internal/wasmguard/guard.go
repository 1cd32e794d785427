// Package wasmguard prepares an untrusted WebAssembly module for the
// sandbox. It parses the module's sections, lists its imports and exports,
// and meters the module with fuel: an added mutable global is decremented at
// every loop header, and when it reaches zero the guest calls the host's
// yield import, which checks the call's deadline (trapping the guest when it
// has passed) and returns the next quantum of fuel. Go guests compile every
// function into a loop, so no code runs long without reaching a check.
//
// Calling into Go at the yield is what makes this safe: compiled wasm cannot
// be preempted, so a guest that never leaves it would block the Go garbage
// collector's stop-the-world, and with it every goroutine of the host,
// including any timer meant to interrupt it. wazero's own
// WithCloseOnContextDone calls into Go at every loop header instead, which
// made Go guests 4–30× slower in our measurements (docs/benchmarks.md); the
// fuel check costs a few instructions per loop and one call every Quantum
// iterations.
package wasmguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Quantum is the fuel the yield import hands back: loop iterations between
// two calls into the host.
const Quantum = 1 << 14

// Kind of an import or export.
const (
	KindFunc   = 0
	KindTable  = 1
	KindMemory = 2
	KindGlobal = 3
	KindTag    = 4
)

// Import is one import of the module.
type Import struct {
	Module string
	Name   string
	Kind   byte
}

// Module is the result of Prepare.
type Module struct {
	Binary  []byte   // the instrumented module
	Imports []Import // what the original module imports
	Exports []string // names the original module exports
	Loops   int      // loop headers instrumented
}

// Yield names the imported function the fuel check calls: it takes no
// arguments and returns the next quantum of fuel (an i32), or traps.
type Yield struct {
	Module string
	Name   string
}

var errTruncated = errors.New("unexpected end of module")

// Section ids in the order the binary format requires.
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type reader struct {
	b   []byte
	pos int
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 0xffffffff {
				return 0, errors.New("u32 out of range")
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("u32 too long")
}

// sleb skips a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits int) error {
	for i := 0; i < (bits+6)/7; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("signed integer too long")
}

func (r *reader) skip(n uint32) error {
	if uint64(r.pos)+uint64(n) > uint64(len(r.b)) {
		return errTruncated
	}
	r.pos += int(n)
	return nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	start := r.pos
	if err := r.skip(n); err != nil {
		return "", err
	}
	return string(r.b[start:r.pos]), nil
}

func (r *reader) limits() error {
	flag, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flag&1 == 1 {
		_, err = r.u32()
	}
	return err
}

type section struct {
	id   byte
	body []byte
}

// Prepare parses a module and meters it with fuel. The module must import
// the yield function (the pdk glue always does), so instrumenting it shifts
// no function index.
func Prepare(wasm []byte, yield Yield) (*Module, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	var secs []section
	r := &reader{b: wasm, pos: 8}
	lastRank := 0
	for r.pos < len(r.b) {
		id, _ := r.byte()
		n, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section header: %w", err)
		}
		start := r.pos
		if err := r.skip(n); err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if id != 0 {
			rank, ok := sectionRank[id]
			if !ok {
				return nil, fmt.Errorf("unknown section id %d", id)
			}
			if rank <= lastRank {
				return nil, fmt.Errorf("section %d out of order or repeated", id)
			}
			lastRank = rank
		}
		secs = append(secs, section{id, r.b[start:r.pos]})
	}
	m := &Module{}
	var importedGlobals, globals uint32
	yieldIdx := int64(-1)
	for _, s := range secs {
		var err error
		switch s.id {
		case 2:
			m.Imports, importedGlobals, err = parseImports(s.body)
		case 6:
			globals, err = (&reader{b: s.body}).u32()
		case 7:
			m.Exports, err = parseExports(s.body)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	funcImports := int64(0)
	for _, im := range m.Imports {
		if im.Kind != KindFunc {
			continue
		}
		if im.Module == yield.Module && im.Name == yield.Name {
			yieldIdx = funcImports
		}
		funcImports++
	}
	if yieldIdx < 0 {
		return nil, fmt.Errorf("module does not import %s.%s (build it with the pdk)", yield.Module, yield.Name)
	}
	gidx := uint64(importedGlobals + globals)
	g := func(op byte) []byte { return binary.AppendUvarint([]byte{op}, gidx) }
	// fuel -= 1; if fuel == 0 { fuel = yield() }
	var check []byte
	check = append(check, g(0x23)...)       // global.get $fuel
	check = append(check, 0x41, 0x01, 0x6B) // i32.const 1; i32.sub
	check = append(check, g(0x24)...)       // global.set $fuel
	check = append(check, g(0x23)...)       // global.get $fuel
	check = append(check, 0x45, 0x04, 0x40) // i32.eqz; if (empty)
	check = binary.AppendUvarint(append(check, 0x10), uint64(yieldIdx))
	check = append(check, g(0x24)...) //   call $yield; global.set $fuel
	check = append(check, 0x0B)       // end

	newGlobal := append([]byte{0x7F, 0x01, 0x41}, appendSleb32(nil, Quantum)...)
	newGlobal = append(newGlobal, 0x0B) // mut i32 = Quantum

	out := make([]byte, 0, len(wasm)+len(wasm)/16)
	out = append(out, wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	appendEntry := func(body []byte, entry []byte) ([]byte, error) {
		rr := &reader{b: body}
		n, err := rr.u32()
		if err != nil {
			return nil, err
		}
		nb := binary.AppendUvarint(nil, uint64(n)+1)
		nb = append(nb, body[rr.pos:]...)
		return append(nb, entry...), nil
	}
	doneGlobal := false
	flush := func(beforeRank int) {
		if !doneGlobal && beforeRank > sectionRank[6] {
			emit(6, append([]byte{1}, newGlobal...))
			doneGlobal = true
		}
	}
	for _, s := range secs {
		if s.id != 0 {
			flush(sectionRank[s.id])
		}
		switch s.id {
		case 6:
			body, err := appendEntry(s.body, newGlobal)
			if err != nil {
				return nil, fmt.Errorf("global section: %w", err)
			}
			emit(6, body)
			doneGlobal = true
		case 10:
			body, loops, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, fmt.Errorf("code section: %w", err)
			}
			m.Loops = loops
			emit(10, body)
		default:
			emit(s.id, s.body)
		}
	}
	flush(1 << 30)
	m.Binary = out
	return m, nil
}

// appendSleb32 appends v as a signed LEB128.
func appendSleb32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func parseImports(body []byte) ([]Import, uint32, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	if n > uint32(len(body)) {
		return nil, 0, errTruncated
	}
	var imports []Import
	var globals uint32
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return nil, 0, err
		}
		name, err := r.name()
		if err != nil {
			return nil, 0, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, 0, err
		}
		switch kind {
		case KindFunc:
			_, err = r.u32()
		case KindTable:
			if _, err = r.byte(); err == nil {
				err = r.limits()
			}
		case KindMemory:
			err = r.limits()
		case KindGlobal:
			if _, err = r.byte(); err == nil {
				_, err = r.byte()
			}
			globals++
		case KindTag:
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			err = fmt.Errorf("unknown import kind %d", kind)
		}
		if err != nil {
			return nil, 0, err
		}
		imports = append(imports, Import{Module: mod, Name: name, Kind: kind})
	}
	return imports, globals, nil
}

func parseExports(body []byte) ([]string, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n > uint32(len(body)) {
		return nil, errTruncated
	}
	names := make([]string, 0, n)
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return nil, err
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

func instrumentCode(body, check []byte) ([]byte, int, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	if n > uint32(len(body)) {
		return nil, 0, errTruncated
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/16), uint64(n))
	loops := 0
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, 0, err
		}
		start := r.pos
		if err := r.skip(size); err != nil {
			return nil, 0, err
		}
		fn, l, err := instrumentFunc(r.b[start:r.pos], check)
		if err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		loops += l
		out = binary.AppendUvarint(out, uint64(len(fn)))
		out = append(out, fn...)
	}
	if r.pos != len(r.b) {
		return nil, 0, errors.New("trailing bytes")
	}
	return out, loops, nil
}

func instrumentFunc(b, check []byte) ([]byte, int, error) {
	r := &reader{b: b}
	groups, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	for i := uint32(0); i < groups; i++ {
		if _, err := r.u32(); err != nil {
			return nil, 0, err
		}
		if _, err := r.byte(); err != nil {
			return nil, 0, err
		}
	}
	out := make([]byte, 0, len(b)+32)
	last, loops := 0, 0
	for r.pos < len(r.b) {
		op, _ := r.byte()
		var err error
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			err = blockType(r)
			if err == nil && op == 0x03 {
				out = append(out, r.b[last:r.pos]...)
				out = append(out, check...)
				last = r.pos
				loops++
			}
		case op == 0x0C || op == 0x0D || op == 0x10 || op == 0x12 || (op >= 0x20 && op <= 0x26) || op == 0xD2 || op == 0x3F || op == 0x40:
			_, err = r.u32()
		case op == 0x0E: // br_table
			var k uint32
			if k, err = r.u32(); err == nil {
				if k > uint32(len(r.b)) {
					return nil, 0, errTruncated
				}
				for j := uint32(0); j <= k && err == nil; j++ {
					_, err = r.u32()
				}
			}
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x1C: // select t*
			var k uint32
			if k, err = r.u32(); err == nil {
				err = r.skip(k)
			}
		case op >= 0x28 && op <= 0x3E: // loads and stores: memarg
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x41:
			err = r.sleb(32)
		case op == 0x42:
			err = r.sleb(64)
		case op == 0x43:
			err = r.skip(4)
		case op == 0x44:
			err = r.skip(8)
		case op == 0xD0:
			_, err = r.byte()
		case op == 0xFC:
			err = prefixFC(r)
		case op <= 0x01 || op == 0x05 || op == 0x0B || op == 0x0F || op == 0x1A || op == 0x1B ||
			(op >= 0x45 && op <= 0xC4) || op == 0xD1:
		case op == 0xFD:
			return nil, 0, errors.New("SIMD instructions are not allowed in ABI v1 plugins")
		default:
			return nil, 0, fmt.Errorf("unsupported opcode 0x%02x", op)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	out = append(out, r.b[last:]...)
	return out, loops, nil
}

func blockType(r *reader) error {
	if r.pos >= len(r.b) {
		return errTruncated
	}
	c := r.b[r.pos]
	if c == 0x40 || (c >= 0x6F && c <= 0x7F) {
		r.pos++
		return nil
	}
	return r.sleb(33)
}

func prefixFC(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncation
		return nil
	case sub == 8: // memory.init
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err = r.byte()
	case sub == 9 || sub == 13 || (sub >= 15 && sub <= 17): // data.drop, elem.drop, table.grow/size/fill
		_, err = r.u32()
	case sub == 10: // memory.copy
		if _, err := r.byte(); err != nil {
			return err
		}
		_, err = r.byte()
	case sub == 11: // memory.fill
		_, err = r.byte()
	case sub == 12 || sub == 14: // table.init, table.copy
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err = r.u32()
	default:
		return fmt.Errorf("unsupported opcode 0xfc %d", sub)
	}
	return err
}
