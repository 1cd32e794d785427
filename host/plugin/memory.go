package plugin

import (
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// Guest linear memory.
//
// By default wazero keeps an instance's linear memory on the Go heap and
// grows it by copying into a larger slice: an instance that grew leaves its
// old copies to the garbage collector, a closed one leaves all of it, and
// the process gives that memory back to the system only as the collector
// and scavenger get round to it. On Linux and macOS Payhost maps each
// instance's memory by itself instead (mapMemory): the whole MemoryLimit is
// reserved as address space without access, the part the guest may use is
// made readable and writable as it grows (new pages read as zero, as the
// WebAssembly specification requires), only pages the guest touched take
// memory, nothing is ever copied, and closing the instance unmaps it at
// once. Addresses past the memory's size stay inaccessible, so even a
// bounds check the compiler got wrong would fault instead of reading
// something else. Elsewhere the memory stays on the Go heap.

// linearMemory is the memory of one instance with the bracket its guest
// code runs in: while guest code runs (enter … leave), Free only marks the
// memory freed, and the last leave unmaps it — a module closed while a call
// is running in it (a shutdown that did not wait, a guest that exits) must
// not lose its memory under the running code.
type linearMemory struct {
	mu      sync.Mutex
	mem     []byte // the reservation (mapMemory) or the heap slice
	size    uint64 // bytes the guest may use
	running int    // guest code running on this memory
	freed   bool
	unmap   func([]byte) // nil: the memory is on the Go heap
	protect func(b []byte) error
}

var _ experimental.LinearMemory = (*linearMemory)(nil)

// liveMemories counts the linear memories made and not yet released (the
// tests check that every one is).
var liveMemories atomic.Int64

// newHeapMemory is a linear memory on the Go heap, grown by copying (what
// wazero does without an allocator).
func newHeapMemory(capBytes, maxBytes uint64) *linearMemory {
	liveMemories.Add(1)
	return &linearMemory{mem: make([]byte, 0, min(capBytes, maxBytes))}
}

// Reallocate implements experimental.LinearMemory: the memory with size
// bytes, or nil when it cannot grow that far.
func (m *linearMemory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return nil
	}
	if m.unmap == nil {
		if size > uint64(cap(m.mem)) {
			grown := make([]byte, size, max(size, 2*uint64(cap(m.mem))))
			copy(grown, m.mem)
			m.mem = grown
		}
		m.mem = m.mem[:size]
		m.size = size
		return m.mem
	}
	if size > uint64(len(m.mem)) {
		return nil
	}
	if size > m.size {
		if err := m.protect(m.mem[m.size:size]); err != nil {
			return nil // the grow fails: memory.grow returns -1 to the guest
		}
		m.size = size
	}
	return m.mem[:size:size]
}

// Free implements experimental.LinearMemory: the memory is released, at
// once or, while guest code runs on it, when the last call leaves.
func (m *linearMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.freed = true
	if m.running == 0 {
		m.release()
	}
}

// isFreed reports whether Free was called.
func (m *linearMemory) isFreed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.freed
}

// enter marks guest code running on the memory until leave.
func (m *linearMemory) enter() {
	m.mu.Lock()
	m.running++
	m.mu.Unlock()
}

func (m *linearMemory) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running--
	if m.running == 0 && m.freed {
		m.release()
	}
}

// release gives the memory back; m.mu is held.
func (m *linearMemory) release() {
	if m.mem == nil {
		return // released already
	}
	if m.unmap != nil {
		m.unmap(m.mem)
	}
	m.mem, m.size = nil, 0
	liveMemories.Add(-1)
}
