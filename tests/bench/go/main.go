// Command bench_go is the Go twin of the C benchmarks in tests/bench: the
// same workloads, the same parameters, the same RESULT lines, run on Go's own
// runtime so goheap can be compared with the allocator and collector it
// rebuilds.
//
//	bench_go gcbench [1|2]          // gcbench.c
//	bench_go alloc SIZE [COUNT]     // alloc.c
//
// Read gcbench.c and alloc.c for what each workload measures; this file only
// notes where Go needs care to do the same work:
//
//   - Escape analysis could put a node on the stack when the compiler sees it
//     never escapes; tree roots come from newNode, which is not inlined, so
//     every node is a heap object exactly as in C.
//   - The alloc rings are globals of unsafe.Pointer, so each object escapes
//     and the stores pay Go's write barrier while marking, as goheap's do.
//   - The alloc object types are one generic struct whose padding array sets
//     the size: 16, 64, 256 or 4096 bytes with a pointer in the first word.
//     The padding sits between two fields because Go pads a struct that ends
//     in a zero-size field.
//
// Nothing is tuned: GOGC and GOMAXPROCS are whatever the environment says
// (default 100 and the number of CPUs), like goheap's defaults.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

func result(name, unit string, value float64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("RESULT name=%s system=go unit=%s value=%.6f maxrss_kb=%d\n", name, unit, value, ru.Maxrss)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bench_go gcbench [1|2] | bench_go alloc 16|64|256|4096 [COUNT]")
	os.Exit(2)
}

// ---- GCBench (gcbench.c) ----

const (
	stretchTreeDepth   = 18
	longLivedTreeDepth = 16
	arraySize          = 500000
	minTreeDepth       = 4
	maxTreeDepth       = 16
)

type node struct {
	left, right *node
	i, j        int32 // payload, as in the original; never read
}

//go:noinline
func newNode() *node { return &node{} }

func treeSize(i int) int { return (1 << (i + 1)) - 1 }

func numIters(i int) int { return 2 * treeSize(stretchTreeDepth) / treeSize(i) }

func populate(depth int, n *node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = &node{}
	n.right = &node{}
	populate(depth, n.left)
	populate(depth, n.right)
}

func makeTree(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{left: makeTree(depth - 1), right: makeTree(depth - 1)}
}

func timeConstruction(depth int) {
	iters := numIters(depth)
	for i := 0; i < iters; i++ {
		populate(depth, newNode())
	}
	for i := 0; i < iters; i++ {
		makeTree(depth)
	}
}

func shortLivedLoop() {
	for d := minTreeDepth; d <= maxTreeDepth; d += 2 {
		timeConstruction(d)
	}
}

func gcbench(threads int) {
	start := time.Now()
	makeTree(stretchTreeDepth)

	longLived := newNode()
	populate(longLivedTreeDepth, longLived)
	array := make([]float64, arraySize)
	for i := 0; i < arraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	if threads == 1 {
		shortLivedLoop()
	} else {
		var wg sync.WaitGroup
		for t := 0; t < 2; t++ {
			wg.Add(1)
			go func() { defer wg.Done(); shortLivedLoop() }()
		}
		wg.Wait()
	}

	if longLived.left == nil || array[1000] != 1.0/1000 {
		fmt.Fprintln(os.Stderr, "gcbench: long-lived data lost")
		os.Exit(1)
	}
	name := "gcbench"
	if threads == 2 {
		name = "gcbench-2t"
	}
	result(name, "s", time.Since(start).Seconds())
}

// ---- Allocation fast path (alloc.c) ----

const ring = 64

type obj[Pad any] struct {
	p   unsafe.Pointer
	pad Pad
	w   uintptr
}

// One ring per goroutine, padded so the two never share a cache line.
var rings [2]struct {
	r [ring]unsafe.Pointer
	_ [64]byte
}

func allocLoop[Pad any](id, count int) {
	r := &rings[id].r
	for i := 0; i < count; i++ {
		o := new(obj[Pad])
		o.w = uintptr(i)
		r[i&(ring-1)] = unsafe.Pointer(o)
	}
}

func allocPhases[Pad any](size, count int) {
	if s := unsafe.Sizeof(obj[Pad]{}); s != uintptr(size) {
		panic(fmt.Sprint("obj for size ", size, " is ", s, " bytes"))
	}
	start := time.Now()
	allocLoop[Pad](0, count)
	one := time.Since(start).Seconds()
	rings[0].r = [ring]unsafe.Pointer{}
	result(fmt.Sprintf("alloc%d-1t", size), "ns/op", one*1e9/float64(count))

	start = time.Now()
	var wg sync.WaitGroup
	for t := 0; t < 2; t++ {
		wg.Add(1)
		go func(id int) { defer wg.Done(); allocLoop[Pad](id, count) }(t)
	}
	wg.Wait()
	two := time.Since(start).Seconds()
	result(fmt.Sprintf("alloc%d-2t", size), "ns/op", two*1e9/(2*float64(count)))
	result(fmt.Sprintf("alloc%d-scaling", size), "x", 2*one/two)
}

func alloc(args []string) {
	if len(args) < 1 {
		usage()
	}
	size, _ := strconv.Atoi(args[0])
	defaults := map[int]int{16: 16000000, 64: 8000000, 256: 4000000, 4096: 500000}
	count, ok := defaults[size]
	if !ok {
		usage()
	}
	if len(args) > 1 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 {
			usage()
		}
		count = n
	}
	switch size {
	case 16:
		allocPhases[[0]uintptr](size, count)
	case 64:
		allocPhases[[6]uintptr](size, count)
	case 256:
		allocPhases[[30]uintptr](size, count)
	case 4096:
		allocPhases[[510]uintptr](size, count)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "gcbench":
		threads := 1
		if len(os.Args) > 2 {
			threads, _ = strconv.Atoi(os.Args[2])
		}
		if threads != 1 && threads != 2 {
			usage()
		}
		gcbench(threads)
	case "alloc":
		alloc(os.Args[2:])
	default:
		usage()
	}
}
