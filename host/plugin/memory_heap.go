//go:build !(linux || darwin)

package plugin

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator keeps linear memory on the Go heap, as wazero does
// without an allocator, with the bracket of linearMemory.
func memoryAllocator(got func(*linearMemory)) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capBytes, maxBytes uint64) experimental.LinearMemory {
		m := newHeapMemory(capBytes, maxBytes)
		got(m)
		return m
	})
}
