//go:build linux || darwin

package plugin

import (
	"golang.org/x/sys/unix"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryAllocator makes the linear memory of one instance and hands it to
// got (see linearMemory).
func memoryAllocator(got func(*linearMemory)) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capBytes, maxBytes uint64) experimental.LinearMemory {
		m := mapMemory(maxBytes)
		if m == nil { // no address space for it: the Go heap, as without an allocator
			m = newHeapMemory(capBytes, maxBytes)
		}
		got(m)
		return m
	})
}

// mapMemory reserves maxBytes of address space without access (it takes
// no memory and no commit charge until made accessible), or returns nil.
func mapMemory(maxBytes uint64) *linearMemory {
	if maxBytes == 0 || maxBytes > 1<<32 {
		return nil
	}
	b, err := unix.Mmap(-1, 0, int(maxBytes), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	liveMemories.Add(1)
	return &linearMemory{
		mem:     b,
		unmap:   func(b []byte) { _ = unix.Munmap(b) },
		protect: func(b []byte) error { return unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE) },
	}
}
