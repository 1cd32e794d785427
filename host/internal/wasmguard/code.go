package wasmguard

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// funcType is a function signature: the value types of its parameters and
// results.
type funcType struct {
	params, results []byte
}

// modInfo is what instrumenting a function body needs of the module.
type modInfo struct {
	types     []funcType
	funcTypes []uint32 // type index of every function, imports first
	globals   uint32   // globals of the original module, imports first
	fuel      uint32   // index of the fuel global
	stack     uint32   // index of the stack-budget global
	yield     uint32   // function index of the yield import
	charge    uint32   // function index of the added bulk-charge function
	grow      uint32   // function index of the added memory.grow charge (when the module has a memory)
	hasMemory bool
	blockType func(results []byte) []byte
	scratch   []instr // reused by decodeBody across functions
}

// instr is one decoded instruction of a function body.
type instr struct {
	op       byte
	sub      uint32 // 0xFC sub-opcode
	pos, end int    // byte range, immediates included
	params   int    // block, loop, if: the block type's parameters
	results  int    // block, loop, if: the block type's results
	idx      uint32 // call, return_call, ref.func: function; call_indirect: type; global.get/set: global
}

const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0B
	opBr          = 0x0C
	opBrIf        = 0x0D
	opBrTable     = 0x0E
	opReturn      = 0x0F
	opCall        = 0x10
	opCallInd     = 0x11
	opRetCall     = 0x12
	opRetCallInd  = 0x13
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opMemoryGrow  = 0x40
	opRefFunc     = 0xD2
	opPrefixFC    = 0xFC
)

// bulk reports whether an instruction's cost grows with its length operand
// (the i32 on top of the stack): memory.init/copy/fill, table.init/copy/fill.
func (in *instr) bulk() bool {
	return in.op == opPrefixFC && (in.sub == 8 || in.sub == 10 || in.sub == 11 || in.sub == 12 || in.sub == 14 || in.sub == 17)
}

// sleb reads a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits int) (int64, error) {
	var v int64
	shift := 0
	for i := 0; i < (bits+6)/7; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, errors.New("signed integer too long")
}

// decodeBody splits a function body into its local declarations (the
// number of locals) and its instructions, checking every index against the
// original module so that no instruction can reach what instrumentation
// adds (the meter's globals, the charge function, added types).
func decodeBody(b []byte, m *modInfo) (locals uint64, code []instr, err error) {
	r := &reader{b: b}
	groups, err := r.u32()
	if err != nil {
		return 0, nil, err
	}
	for i := uint32(0); i < groups; i++ {
		n, err := r.u32()
		if err != nil {
			return 0, nil, err
		}
		t, err := r.byte()
		if err != nil {
			return 0, nil, err
		}
		if t == 0x7B {
			return 0, nil, errors.New("SIMD values are not allowed in ABI v1 plugins")
		}
		locals += uint64(n)
		if locals > MaxLocals {
			return 0, nil, fmt.Errorf("more than %d locals", MaxLocals)
		}
	}
	code = m.scratch[:0] // reused: a module's functions are decoded one at a time
	nfuncs := uint32(len(m.funcTypes))
	for r.pos < len(r.b) {
		in := instr{pos: r.pos}
		in.op, _ = r.byte()
		op := in.op
		switch {
		case op == opBlock || op == opLoop || op == opIf:
			in.params, in.results, err = readBlockType(r, m.types)
		case op == opCall || op == opRetCall || op == opRefFunc:
			if in.idx, err = r.u32(); err == nil && in.idx >= nfuncs {
				err = fmt.Errorf("function index %d out of range", in.idx)
			}
		case op == opGlobalGet || op == opGlobalSet:
			if in.idx, err = r.u32(); err == nil && in.idx >= m.globals {
				err = fmt.Errorf("global index %d out of range", in.idx)
			}
		case op == opBr || op == opBrIf || (op >= 0x20 && op <= 0x22) || op == 0x25 || op == 0x26 || op == 0x3F || op == 0x40:
			_, err = r.u32()
		case op == opBrTable:
			var k uint32
			if k, err = r.u32(); err == nil {
				if k > uint32(len(r.b)) {
					return 0, nil, errTruncated
				}
				for j := uint32(0); j <= k && err == nil; j++ {
					_, err = r.u32()
				}
			}
		case op == opCallInd || op == opRetCallInd:
			if in.idx, err = r.u32(); err == nil {
				if in.idx >= uint32(len(m.types)) {
					err = fmt.Errorf("type index %d out of range", in.idx)
				} else {
					_, err = r.u32()
				}
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
			_, err = r.sleb(32)
		case op == 0x42:
			_, err = r.sleb(64)
		case op == 0x43:
			err = r.skip(4)
		case op == 0x44:
			err = r.skip(8)
		case op == 0xD0:
			_, err = r.byte()
		case op == opPrefixFC:
			in.sub, err = prefixFC(r)
		case op == opUnreachable || op == 0x01 || op == opElse || op == opEnd || op == opReturn || op == 0x1A || op == 0x1B ||
			(op >= 0x45 && op <= 0xC4) || op == 0xD1:
		case op == 0xFD:
			return 0, nil, errors.New("SIMD instructions are not allowed in ABI v1 plugins")
		default:
			return 0, nil, fmt.Errorf("unsupported opcode 0x%02x", op)
		}
		if err != nil {
			return 0, nil, err
		}
		in.end = r.pos
		code = append(code, in)
	}
	m.scratch = code
	return locals, code, nil
}

func readBlockType(r *reader, types []funcType) (params, results int, err error) {
	if r.pos >= len(r.b) {
		return 0, 0, errTruncated
	}
	c := r.b[r.pos]
	switch {
	case c == 0x40:
		r.pos++
		return 0, 0, nil
	case c == 0x7B:
		return 0, 0, errors.New("SIMD values are not allowed in ABI v1 plugins")
	case c >= 0x6F && c <= 0x7F:
		r.pos++
		return 0, 1, nil
	}
	v, err := r.sleb(33)
	if err != nil {
		return 0, 0, err
	}
	if v < 0 || v >= int64(len(types)) {
		return 0, 0, fmt.Errorf("block type %d out of range", v)
	}
	return len(types[v].params), len(types[v].results), nil
}

// prefixFC reads the immediates of a 0xFC instruction and returns its
// sub-opcode. table.grow is refused: a guest could ask the host for
// gigabytes of table in one instruction.
func prefixFC(r *reader) (uint32, error) {
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 7: // saturating truncation
		return sub, nil
	case sub == 8: // memory.init
		if _, err := r.u32(); err != nil {
			return 0, err
		}
		_, err = r.byte()
	case sub == 9 || sub == 13 || sub == 16 || sub == 17: // data.drop, elem.drop, table.size, table.fill
		_, err = r.u32()
	case sub == 10: // memory.copy
		if _, err := r.byte(); err != nil {
			return 0, err
		}
		_, err = r.byte()
	case sub == 11: // memory.fill
		_, err = r.byte()
	case sub == 12 || sub == 14: // table.init, table.copy
		if _, err := r.u32(); err != nil {
			return 0, err
		}
		_, err = r.u32()
	case sub == 15:
		return 0, errors.New("table.grow is not allowed in ABI v1 plugins")
	default:
		return 0, fmt.Errorf("unsupported opcode 0xfc %d", sub)
	}
	return sub, err
}

// effect is an instruction's operand-stack effect outside control flow.
func effect(in *instr, m *modInfo) (pop, push int) {
	op := in.op
	switch {
	case op == opCall || op == opRetCall:
		t := m.types[m.funcTypes[in.idx]]
		return len(t.params), len(t.results)
	case op == opCallInd || op == opRetCallInd:
		t := m.types[in.idx]
		return len(t.params) + 1, len(t.results)
	case op == opBrIf || op == opBrTable || op == 0x1A || op == 0x21 || op == opGlobalSet:
		return 1, 0 // br_if, br_table, drop, local.set, global.set
	case op == 0x1B || op == 0x1C:
		return 3, 1 // select
	case op == 0x20 || op == opGlobalGet || op == 0x3F || (op >= 0x41 && op <= 0x44) || op == 0xD0 || op == opRefFunc:
		return 0, 1 // local.get, global.get, memory.size, consts, ref.null, ref.func
	case op == 0x22 || op == 0x25 || (op >= 0x28 && op <= 0x35) || op == 0x40 || op == 0x45 || op == 0x50 ||
		(op >= 0x67 && op <= 0x69) || (op >= 0x79 && op <= 0x7B) || (op >= 0x8B && op <= 0x91) ||
		(op >= 0x99 && op <= 0x9F) || (op >= 0xA7 && op <= 0xC4) || op == 0xD1:
		return 1, 1 // local.tee, table.get, loads, memory.grow, eqz, unary, conversions, ref.is_null
	case op == 0x26 || (op >= 0x36 && op <= 0x3E):
		return 2, 0 // table.set, stores
	case (op >= 0x46 && op <= 0x4F) || (op >= 0x51 && op <= 0x66) || (op >= 0x6A && op <= 0x78) ||
		(op >= 0x7C && op <= 0x8A) || (op >= 0x92 && op <= 0x98) || (op >= 0xA0 && op <= 0xA6):
		return 2, 1 // comparisons and binary operators
	case op == opPrefixFC:
		switch {
		case in.sub <= 7:
			return 1, 1
		case in.sub == 9 || in.sub == 13:
			return 0, 0
		case in.sub == 16:
			return 0, 1
		default:
			return 3, 0
		}
	}
	return 0, 0
}

// analysis is what instrumenting one function needs to know of it.
type analysis struct {
	entryCost int64         // instructions outside every loop
	loopCost  map[int]int64 // per loop instruction (by its index in code): instructions directly inside it
	maxHeight int64         // the operand stack's greatest height
}

// analyse walks a function body once: it checks the nesting, weighs the
// code each fuel check pays for, and bounds the operand stack the way a
// validator does (an upper bound, as unreachable code is clamped).
func analyse(code []instr, results int, m *modInfo) (*analysis, error) {
	type frame struct {
		base, params, results int64
		loop                  int // index of the loop instruction, or -1
	}
	a := &analysis{loopCost: map[int]int64{}}
	ctrl := []frame{{base: 0, results: int64(results), loop: -1}}
	var h int64
	pop := func(n int) {
		h -= int64(n)
		if b := ctrl[len(ctrl)-1].base; h < b {
			h = b // only in unreachable code, whose stack is polymorphic
		}
	}
	push := func(n int) {
		h += int64(n)
		a.maxHeight = max(a.maxHeight, h)
	}
	unreachable := func() { h = ctrl[len(ctrl)-1].base }
	for i := range code {
		in := &code[i]
		// Charge the instruction to the innermost loop around it, or to the
		// function's entry.
		charged := false
		for j := len(ctrl) - 1; j >= 0; j-- {
			if ctrl[j].loop >= 0 {
				a.loopCost[ctrl[j].loop]++
				charged = true
				break
			}
		}
		if !charged {
			a.entryCost++
		}
		if len(ctrl) == 0 {
			return nil, errors.New("instructions after the function's end")
		}
		switch in.op {
		case opBlock, opLoop, opIf:
			if in.op == opIf {
				pop(1)
			}
			pop(in.params)
			f := frame{base: h, params: int64(in.params), results: int64(in.results), loop: -1}
			if in.op == opLoop {
				f.loop = i
				a.loopCost[i] = 0
			}
			ctrl = append(ctrl, f)
			push(in.params)
		case opElse:
			if len(ctrl) < 2 {
				return nil, errors.New("else outside a block")
			}
			f := ctrl[len(ctrl)-1]
			h = f.base
			push(int(f.params))
		case opEnd:
			f := ctrl[len(ctrl)-1]
			ctrl = ctrl[:len(ctrl)-1]
			h = f.base
			push(int(f.results))
			if len(ctrl) == 0 && i != len(code)-1 {
				return nil, errors.New("instructions after the function's end")
			}
		case opBr, opReturn, opUnreachable:
			unreachable()
		case opBrTable:
			pop(1)
			unreachable()
		case opRetCall, opRetCallInd:
			p, _ := effect(in, m)
			pop(p)
			unreachable()
		default:
			p, q := effect(in, m)
			pop(p)
			push(q)
		}
	}
	if len(ctrl) != 0 {
		return nil, errors.New("function body does not end")
	}
	return a, nil
}

// frameSlots estimates, in 8-byte slots, the host stack one activation of
// a function takes: parameters, locals, the operand stack (values live
// across a call are spilled), twice over for the compiler's temporaries,
// plus a fixed frame.
func frameSlots(params int, locals uint64, maxHeight int64) int64 {
	return frameBase + 2*(int64(params)+int64(locals)+maxHeight)
}

// fuelCheck charges cost to the fuel global and calls yield when it runs
// out: fuel -= cost; if fuel <= 0 { fuel = yield() }.
func fuelCheck(out []byte, m *modInfo, cost int64) []byte {
	out = globalOp(out, opGlobalGet, m.fuel)
	out = i32Const(out, cost)
	out = append(out, 0x6B) // i32.sub
	out = globalOp(out, opGlobalSet, m.fuel)
	out = globalOp(out, opGlobalGet, m.fuel)
	out = append(out, 0x41, 0x00, 0x4C, opIf, 0x40) // i32.const 0; i32.le_s; if
	out = binary.AppendUvarint(append(out, opCall), uint64(m.yield))
	out = globalOp(out, opGlobalSet, m.fuel)
	return append(out, opEnd)
}

// stackTake charges a frame to the stack budget and traps once it is
// spent: stack -= w; if stack < 0 { unreachable }.
func stackTake(out []byte, m *modInfo, w int64) []byte {
	out = globalOp(out, opGlobalGet, m.stack)
	out = i32Const(out, w)
	out = append(out, 0x6B) // i32.sub
	out = globalOp(out, opGlobalSet, m.stack)
	out = globalOp(out, opGlobalGet, m.stack)
	out = append(out, 0x41, 0x00, 0x48, opIf, 0x40, opUnreachable, opEnd) // i32.const 0; i32.lt_s; if unreachable end
	return out
}

// stackGive returns a frame to the stack budget: stack += w.
func stackGive(out []byte, m *modInfo, w int64) []byte {
	out = globalOp(out, opGlobalGet, m.stack)
	out = i32Const(out, w)
	out = append(out, 0x6A) // i32.add
	return globalOp(out, opGlobalSet, m.stack)
}

func globalOp(out []byte, op byte, idx uint32) []byte {
	return binary.AppendUvarint(append(out, op), uint64(idx))
}

func i32Const(out []byte, v int64) []byte {
	v = min(v, 1<<30) // a cost beyond any budget traps or yields at once
	return appendSleb32(append(out, 0x41), int32(v))
}

// chargeBody is the body of the added function that charges a bulk memory
// or table instruction by its length n (its only parameter) and returns n:
// fuel -= n>>BulkShift; if fuel <= 0 { fuel = yield() }; n.
func chargeBody(m *modInfo) []byte {
	var out []byte
	out = append(out, 0x00) // no locals
	out = globalOp(out, opGlobalGet, m.fuel)
	out = append(out, 0x20, 0x00, 0x41, BulkShift, 0x76) // local.get 0; i32.const BulkShift; i32.shr_u
	out = append(out, 0x6B)                              // i32.sub
	out = globalOp(out, opGlobalSet, m.fuel)
	out = globalOp(out, opGlobalGet, m.fuel)
	out = append(out, 0x41, 0x00, 0x4C, opIf, 0x40) // i32.const 0; i32.le_s; if
	out = binary.AppendUvarint(append(out, opCall), uint64(m.yield))
	out = globalOp(out, opGlobalSet, m.fuel)
	out = append(out, opEnd, 0x20, 0x00, opEnd) // end; local.get 0; end
	return out
}

// growBody is the body of the added function that charges memory.grow by
// the memory it makes the host copy and clear (the runtime reallocates the
// whole memory when it grows): fuel -= (memory.size + min(delta, 65536))
// << (16-BulkShift); if fuel <= 0 { fuel = yield() }; delta.
func growBody(m *modInfo) []byte {
	var out []byte
	out = append(out, 0x00) // no locals
	out = globalOp(out, opGlobalGet, m.fuel)
	out = append(out, 0x3F, 0x00) // memory.size
	out = append(out, 0x20, 0x00) // local.get 0
	out = i32Const(out, 65536)
	out = append(out, 0x20, 0x00) // local.get 0
	out = i32Const(out, 65536)
	out = append(out, 0x49, 0x1B)                     // i32.lt_u; select: min(delta, 65536)
	out = append(out, 0x6A)                           // i32.add
	out = append(out, 0x41, 16-BulkShift, 0x74, 0x6B) // i32.const; i32.shl; i32.sub
	out = globalOp(out, opGlobalSet, m.fuel)
	out = globalOp(out, opGlobalGet, m.fuel)
	out = append(out, 0x41, 0x00, 0x4C, opIf, 0x40) // i32.const 0; i32.le_s; if
	out = binary.AppendUvarint(append(out, opCall), uint64(m.yield))
	out = globalOp(out, opGlobalSet, m.fuel)
	out = append(out, opEnd, 0x20, 0x00, opEnd) // end; local.get 0; end
	return out
}

// instrumentFunc rewrites one function body:
//
//	locals…
//	fuel check (the code outside loops)      ;; bounds recursion and calls
//	stack take (the frame's slots)           ;; bounds the host's call stack
//	block (result …)
//	  …original code, with
//	  a fuel check after every loop header   ;; bounds loops
//	  call $charge before bulk instructions  ;; bounds memory.fill/copy/init
//	  call $grow before memory.grow          ;; bounds the host's copying
//	  stack give before return and tail calls
//	end
//	stack give
//	end
//
// Wrapping the code in a block keeps every branch target where it was:
// a branch to the function's outermost label now leaves the block and
// reaches the epilogue.
func instrumentFunc(b []byte, t funcType, m *modInfo) (out []byte, loops int, err error) {
	locals, code, err := decodeBody(b, m)
	if err != nil {
		return nil, 0, err
	}
	if len(code) == 0 {
		return nil, 0, errors.New("empty function body")
	}
	a, err := analyse(code, len(t.results), m)
	if err != nil {
		return nil, 0, err
	}
	w := frameSlots(len(t.params), locals, a.maxHeight)
	out = make([]byte, 0, len(b)+len(b)/8+64)
	out = append(out, b[:code[0].pos]...) // locals
	out = fuelCheck(out, m, a.entryCost+1)
	out = stackTake(out, m, w)
	out = append(out, opBlock)
	out = append(out, m.blockType(t.results)...)
	last := len(code) - 1
	for i := range code[:last] {
		in := &code[i]
		switch {
		case in.op == opReturn || in.op == opRetCall || in.op == opRetCallInd:
			out = stackGive(out, m, w)
		case in.bulk():
			out = binary.AppendUvarint(append(out, opCall), uint64(m.charge))
		case in.op == opMemoryGrow:
			out = binary.AppendUvarint(append(out, opCall), uint64(m.grow))
		}
		out = append(out, b[in.pos:in.end]...)
		if in.op == opLoop {
			out = fuelCheck(out, m, a.loopCost[i]+1)
			loops++
		}
	}
	out = append(out, opEnd) // the wrapping block
	out = stackGive(out, m, w)
	return append(out, opEnd), loops, nil
}
