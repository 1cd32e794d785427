// Package wasmguard prepares an untrusted WebAssembly module for the
// sandbox: it lists the module's imports and exports and rewrites its code
// so that every path by which guest code runs is bounded.
//
// Time. A fuel counter (an added mutable i32 global) is charged at every
// function entry with the number of instructions of the function outside
// its loops, and after every loop header with the number of instructions
// directly inside that loop; bulk memory and table instructions are charged
// by their length. Each instruction of an activation or a loop iteration
// runs at most once per charge (branches go forward, except to a loop
// header, which charges again), so fuel bounds the instructions run. When
// the fuel is spent the guest calls the host's yield import, which traps
// the guest once the call's deadline has passed and hands back the next
// Quantum. Recursion without loops and tail calls pay at the callee's
// entry; the start section and every export run the same code.
//
// Calling into Go at the yield is what keeps the host alive: compiled wasm
// cannot be preempted, so a guest that never leaves it would block the Go
// garbage collector's stop-the-world, and with it every goroutine of the
// host, including any timer meant to interrupt it.
//
// Stack. wazero grows a guest's call stack on the host's heap up to 400 MB,
// outside the memory limit. A second added global, the stack budget, is
// charged at function entry with an estimate of the frame's size (its
// parameters, locals and operand stack, see frameSlots) and given back on
// every way out; a call that would overdraw it traps.
//
// The meter's state is out of the guest's reach: the module is validated
// before it is rewritten (by the caller) and Prepare refuses any index that
// the original module does not define, so no instruction can read or write
// the added globals or call the added function; the globals are exported
// under reserved names that a module may not use itself (the host reads
// them, a guest cannot import its own exports).
//
// Also refused: SIMD (not needed by ABI v1 plugins), table.grow (a single
// instruction could ask the host for gigabytes) and tables declared larger
// than MaxTableElements.
//
// Data. The data segments are merged where that changes nothing but their
// number (see mergeData): what the runtime keeps per segment, for the
// module and for every instance, is then a few dozen records instead of
// tens of thousands.
package wasmguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Limits of the rewritten module.
const (
	// Quantum is the fuel the yield import hands back: weighted
	// instructions between two calls into the host (a few milliseconds of
	// guest code at most).
	Quantum = 1 << 22
	// StackBudget is the stack budget of an instance, in estimated 8-byte
	// slots (8 MiB).
	StackBudget = 1 << 20
	// BulkShift sets what bulk instructions cost: one unit of fuel per
	// 1<<BulkShift bytes or elements.
	BulkShift = 5
	// MaxLocals is the most locals a function may declare.
	MaxLocals = 1 << 16
	// MaxTableElements is the largest table a module may declare.
	MaxTableElements = 1 << 20
	// frameBase is the fixed part of a frame's estimate, in slots.
	frameBase = 8
)

// Version names the rewrite Prepare does. Change it with any change to
// what Prepare emits: hosts cache rewritten modules under it.
const Version = "3"

// Imports lists a module's imports without rewriting it: what Prepare
// reports, for a module whose rewrite is cached.
func Imports(wasm []byte) ([]Import, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	r := &reader{b: wasm, pos: 8}
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
		if id == 2 {
			imports, _, _, err := parseImports(r.b[start:r.pos])
			return imports, err
		}
	}
	return nil, nil
}

// Names of the exports that expose the meter to the host. A module that
// exports anything under ReservedPrefix is refused.
const (
	ReservedPrefix = "payhost:"
	ExportFuel     = ReservedPrefix + "fuel"
	ExportStack    = ReservedPrefix + "stack"
)

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

// Prepare parses a module and meters it. The module must import the yield
// function (the pdk glue always does). Instrumenting it adds globals, one
// function and possibly types at the end of their index spaces, so no
// index of the original module moves.
//
// Prepare checks indices but is not a full validator: the caller validates
// the original module first, and the runtime validates the result.
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
	info := &modInfo{}
	var importedGlobals, globals uint32
	var funcImportTypes, definedTypes []uint32
	body := map[byte][]byte{}
	for _, s := range secs {
		var err error
		body[s.id] = s.body
		switch s.id {
		case 1:
			info.types, err = parseTypes(s.body)
		case 2:
			m.Imports, funcImportTypes, importedGlobals, err = parseImports(s.body)
		case 3:
			definedTypes, err = parseFunctions(s.body)
		case 4:
			err = checkTables(s.body)
		case 6:
			globals, err = (&reader{b: s.body}).u32()
		case 7:
			m.Exports, err = parseExports(s.body)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	for _, name := range m.Exports {
		if strings.HasPrefix(name, ReservedPrefix) {
			return nil, fmt.Errorf("export %q uses the reserved prefix %q", name, ReservedPrefix)
		}
	}
	yieldIdx := int64(-1)
	funcImports := uint32(0)
	for _, im := range m.Imports {
		if im.Kind != KindFunc {
			continue
		}
		if im.Module == yield.Module && im.Name == yield.Name {
			yieldIdx = int64(funcImports)
		}
		funcImports++
	}
	if yieldIdx < 0 {
		return nil, fmt.Errorf("module does not import %s.%s (build it with the pdk)", yield.Module, yield.Name)
	}
	for _, t := range append(append([]uint32(nil), funcImportTypes...), definedTypes...) {
		if t >= uint32(len(info.types)) {
			return nil, fmt.Errorf("type index %d out of range", t)
		}
	}
	if yt := info.types[funcImportTypes[yieldIdx]]; len(yt.params) != 0 || !bytes.Equal(yt.results, []byte{0x7F}) {
		return nil, fmt.Errorf("%s.%s must have type () -> i32", yield.Module, yield.Name)
	}
	info.funcTypes = append(funcImportTypes, definedTypes...)
	info.globals = importedGlobals + globals
	info.fuel = info.globals
	info.stack = info.globals + 1
	info.yield = uint32(yieldIdx)
	info.charge = uint32(len(info.funcTypes))
	info.grow = info.charge + 1
	info.hasMemory = body[5] != nil
	for _, im := range m.Imports {
		info.hasMemory = info.hasMemory || im.Kind == KindMemory
	}

	// Types the rewrite needs: the charge function's, and () -> results for
	// the block that wraps a function with several results.
	origTypes := len(info.types)
	var newTypes []funcType
	typeIndex := func(t funcType) uint32 {
		for i, have := range info.types {
			if bytes.Equal(have.params, t.params) && bytes.Equal(have.results, t.results) {
				return uint32(i)
			}
		}
		info.types = append(info.types, t)
		newTypes = append(newTypes, t)
		return uint32(len(info.types) - 1)
	}
	chargeType := typeIndex(funcType{params: []byte{0x7F}, results: []byte{0x7F}})
	blockTypes := map[string][]byte{}
	for _, t := range definedTypes {
		res := info.types[t].results
		if len(res) > 1 {
			if _, ok := blockTypes[string(res)]; !ok {
				blockTypes[string(res)] = appendSleb32(nil, int32(typeIndex(funcType{results: res})))
			}
		}
	}
	info.blockType = func(results []byte) []byte {
		switch len(results) {
		case 0:
			return []byte{0x40}
		case 1:
			return results
		}
		return blockTypes[string(results)]
	}
	// Only the original types may be named by the original code.
	allTypes := info.types
	info.types = allTypes[:origTypes]

	if len(definedTypes) > 0 && body[10] == nil {
		return nil, errors.New("function section without a code section")
	}
	code, loops, err := instrumentCode(body[10], definedTypes, allTypes, info)
	if err != nil {
		return nil, fmt.Errorf("code section: %w", err)
	}
	m.Loops = loops
	info.types = allTypes

	fuelGlobal := append([]byte{0x7F, 0x01, 0x41}, appendSleb32(nil, Quantum)...)
	fuelGlobal = append(fuelGlobal, opEnd) // mut i32 = Quantum
	stackGlobal := append([]byte{0x7F, 0x01, 0x41}, appendSleb32(nil, StackBudget)...)
	stackGlobal = append(stackGlobal, opEnd) // mut i32 = StackBudget
	var newExports []byte
	newExports = appendName(newExports, ExportFuel)
	newExports = binary.AppendUvarint(append(newExports, KindGlobal), uint64(info.fuel))
	newExports = appendName(newExports, ExportStack)
	newExports = binary.AppendUvarint(append(newExports, KindGlobal), uint64(info.stack))
	var newTypeBytes []byte
	for _, t := range newTypes {
		newTypeBytes = appendFuncType(newTypeBytes, t)
	}

	// The sections the rewrite extends, each with the entries it appends.
	extend := map[byte]extendBy{
		1:  {len(newTypes), newTypeBytes},
		3:  {1, binary.AppendUvarint(nil, uint64(chargeType))},
		6:  {2, append(fuelGlobal, stackGlobal...)},
		7:  {2, newExports},
		10: {1, appendSized(nil, chargeBody(info))},
	}
	if info.hasMemory {
		extend[3] = extendBy{2, binary.AppendUvarint(binary.AppendUvarint(nil, uint64(chargeType)), uint64(chargeType))}
		extend[10] = extendBy{2, appendSized(appendSized(nil, chargeBody(info)), growBody(info))}
	}
	replaced := map[byte][]byte{10: code}
	memoryImported := false
	for _, im := range m.Imports {
		memoryImported = memoryImported || im.Kind == KindMemory
	}
	if body[11] != nil && body[5] != nil && !memoryImported && body[12] == nil {
		if data := mergeData(body[11]); data != nil {
			replaced[11] = data
		}
	}
	out := make([]byte, 0, len(wasm)+len(wasm)/8)
	out = append(out, wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	done := map[byte]bool{}
	// flush emits, before a section of rank below, the extended sections
	// the module does not have.
	flush := func(below int) {
		for _, id := range []byte{1, 3, 6, 7, 10} {
			if !done[id] && body[id] == nil && sectionRank[id] < below {
				e := extend[id]
				if e.count > 0 {
					emit(id, append(binary.AppendUvarint(nil, uint64(e.count)), e.add...))
				}
				done[id] = true
			}
		}
	}
	for _, s := range secs {
		if s.id != 0 {
			flush(sectionRank[s.id])
		}
		b := s.body
		if rb, ok := replaced[s.id]; ok {
			b = rb
		}
		if e, ok := extend[s.id]; ok && e.count > 0 {
			var err error
			if b, err = appendEntries(b, e.count, e.add); err != nil {
				return nil, fmt.Errorf("section %d: %w", s.id, err)
			}
		}
		done[s.id] = true
		emit(s.id, b)
	}
	flush(1 << 30)
	m.Binary = out
	return m, nil
}

// extendBy is what the rewrite appends to a vector section.
type extendBy struct {
	count int
	add   []byte
}

// appendEntries adds count entries to a vector section's body.
func appendEntries(body []byte, count int, entries []byte) ([]byte, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	nb := binary.AppendUvarint(nil, uint64(n)+uint64(count))
	nb = append(nb, body[r.pos:]...)
	return append(nb, entries...), nil
}

func appendName(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendSized(b, body []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(body))), body...)
}

func appendFuncType(b []byte, t funcType) []byte {
	b = append(b, 0x60)
	b = append(binary.AppendUvarint(b, uint64(len(t.params))), t.params...)
	return append(binary.AppendUvarint(b, uint64(len(t.results))), t.results...)
}

func parseTypes(body []byte) ([]funcType, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n > uint32(len(body)) {
		return nil, errTruncated
	}
	types := make([]funcType, 0, n)
	vec := func() ([]byte, error) {
		k, err := r.u32()
		if err != nil {
			return nil, err
		}
		start := r.pos
		if err := r.skip(k); err != nil {
			return nil, err
		}
		v := r.b[start:r.pos]
		if bytes.IndexByte(v, 0x7B) >= 0 {
			return nil, errors.New("SIMD values are not allowed in ABI v1 plugins")
		}
		return v, nil
	}
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return nil, err
		}
		if form != 0x60 {
			return nil, fmt.Errorf("type %d: unsupported form 0x%02x", i, form)
		}
		var t funcType
		if t.params, err = vec(); err != nil {
			return nil, err
		}
		if t.results, err = vec(); err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	return types, nil
}

func parseFunctions(body []byte) ([]uint32, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n > uint32(len(body)) {
		return nil, errTruncated
	}
	types := make([]uint32, n)
	for i := range types {
		if types[i], err = r.u32(); err != nil {
			return nil, err
		}
	}
	return types, nil
}

// checkTables refuses tables larger than MaxTableElements.
func checkTables(body []byte) error {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.byte(); err != nil { // reference type
			return err
		}
		flag, err := r.byte()
		if err != nil {
			return err
		}
		lo, err := r.u32()
		if err != nil {
			return err
		}
		if lo > MaxTableElements {
			return fmt.Errorf("table of %d elements exceeds %d", lo, MaxTableElements)
		}
		if flag&1 == 1 {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
	}
	return nil
}

func instrumentCode(body []byte, definedTypes []uint32, types []funcType, info *modInfo) ([]byte, int, error) {
	if body == nil {
		return nil, 0, nil
	}
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	if n != uint32(len(definedTypes)) {
		return nil, 0, fmt.Errorf("%d bodies for %d functions", n, len(definedTypes))
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/8), uint64(n))
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
		fn, l, err := instrumentFunc(r.b[start:r.pos], types[definedTypes[i]], info)
		if err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		loops += l
		out = appendSized(out, fn)
	}
	if r.pos != len(r.b) {
		return nil, 0, errors.New("trailing bytes")
	}
	return out, loops, nil
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

func parseImports(body []byte) ([]Import, []uint32, uint32, error) {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, nil, 0, err
	}
	if n > uint32(len(body)) {
		return nil, nil, 0, errTruncated
	}
	var imports []Import
	var funcTypes []uint32
	var globals uint32
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return nil, nil, 0, err
		}
		name, err := r.name()
		if err != nil {
			return nil, nil, 0, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, nil, 0, err
		}
		switch kind {
		case KindFunc:
			var t uint32
			t, err = r.u32()
			funcTypes = append(funcTypes, t)
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
			return nil, nil, 0, err
		}
		imports = append(imports, Import{Module: mod, Name: name, Kind: kind})
	}
	return imports, funcTypes, globals, nil
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
