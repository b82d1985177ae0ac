// Command bench_go is the Go twin of the C benchmarks in tests/bench: the
// same workloads, the same parameters, the same RESULT lines, run on Go's own
// runtime so goheap can be compared with the allocator and collector it
// rebuilds.
//
//	bench_go gcbench [1|2]                   // gcbench.c
//	bench_go alloc SIZE [COUNT]              // alloc.c
//	bench_go pause [SECONDS]                 // pause.c (env PAUSE_LIVE_MB, PAUSE_STALLS)
//	bench_go markrate list|graph PROCS [NODES] // markrate.c
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
//   - pause: per-cycle pauses come from debug.ReadGCStats (each entry is the
//     sum of that cycle's stop-the-world pauses, like goheap's pause_ns);
//     single pauses from GODEBUG=gctrace=1, read by run.sh (gctrace.awk).
//   - markrate: "markers" is GOMAXPROCS, set by the program; the collection
//     is runtime.GC, which returns after mark and sweep. Automatic GC is off
//     (debug.SetGCPercent(-1)) while the structure is built.
//
// Nothing is tuned: GOGC and GOMAXPROCS are whatever the environment says
// (default 100 and the number of CPUs), like goheap's defaults.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
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
	fmt.Fprintln(os.Stderr, "usage: bench_go gcbench [1|2] | bench_go alloc 16|64|256|4096 [COUNT] |")
	fmt.Fprintln(os.Stderr, "       bench_go pause [SECONDS] | bench_go markrate list|graph PROCS [NODES]")
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

// ---- Pause times (pause.c) ----

const (
	nLists      = 4096
	pauseRing   = 64
	checkEvery  = 64
	spliceEvery = 8
)

type pnode struct {
	next    *pnode
	a, b, c uintptr
}

// blob is pause.c's 256-byte short-lived object: a pointer and 31 words.
type blob struct {
	p unsafe.Pointer
	w [31]uintptr
}

var (
	heads     [nLists]*pnode
	pauseRoot [pauseRing]*blob
)

// quantile sorts v and returns its q-quantile (nearest rank).
func quantile(v []float64, q float64) float64 {
	sort.Float64s(v)
	k := int(q*float64(len(v)) + 0.999999)
	if k < 1 {
		k = 1
	}
	if k > len(v) {
		k = len(v)
	}
	return v[k-1]
}

func reportDist(maxName, qName string, q float64, v []float64) {
	if len(v) == 0 {
		return
	}
	qv := quantile(v, q)
	result(maxName, "ms", v[len(v)-1])
	result(qName, "ms", qv)
}

func pause(args []string) {
	seconds := 10.0
	if len(args) > 0 {
		seconds, _ = strconv.ParseFloat(args[0], 64)
	}
	liveMB := 1024
	if e := os.Getenv("PAUSE_LIVE_MB"); e != "" {
		liveMB, _ = strconv.Atoi(e)
	}
	if seconds <= 0 || liveMB <= 0 {
		usage()
	}
	lateness := make([]float64, 0, 1<<16)
	var before debug.GCStats
	debug.ReadGCStats(&before)

	t0 := time.Now()
	nodes := liveMB * 1024 * 1024 / int(unsafe.Sizeof(pnode{}))
	for i := 0; i < nodes; i++ {
		n := &pnode{a: uintptr(i)}
		n.next = heads[i%nLists]
		heads[i%nLists] = n
	}
	result("pause-build", "s", time.Since(t0).Seconds())

	time.Sleep(50 * time.Millisecond) // let a gctrace line in progress finish first
	fmt.Fprintln(os.Stderr, "BENCH-PHASE start")
	const tick = time.Millisecond
	start := time.Now()
	end := start.Add(time.Duration(seconds * float64(time.Second)))
	deadline, prev := start.Add(tick), start
	var gapMax time.Duration
	i := 0
	for {
		for k := 0; k < checkEvery; k, i = k+1, i+1 {
			b := new(blob)
			b.w[0] = uintptr(i)
			pauseRoot[i&(pauseRing-1)] = b
			if i%spliceEvery == 0 {
				n := &pnode{a: uintptr(i)}
				l := (i / spliceEvery) % nLists
				n.next = heads[l].next
				heads[l] = n
			}
		}
		now := time.Now()
		if d := now.Sub(prev); d > gapMax {
			gapMax = d
		}
		prev = now
		if !now.Before(deadline) {
			late := now.Sub(deadline)
			lateness = append(lateness, float64(late)/1e6)
			deadline = deadline.Add(tick * (late/tick + 1))
		}
		if !now.Before(end) {
			break
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Fprintln(os.Stderr, "BENCH-PHASE end")

	var after debug.GCStats
	debug.ReadGCStats(&after)
	ncycle := int(after.NumGC - before.NumGC)
	if ncycle > len(after.Pause) {
		ncycle = len(after.Pause)
	}
	pauses := make([]float64, ncycle)
	for k := 0; k < ncycle; k++ { // most recent first
		pauses[k] = float64(after.Pause[k]) / 1e6
	}
	result("pause-rate", "Mop/s", float64(i)/elapsed/1e6)
	result("pause-cycles", "n", float64(ncycle))
	reportDist("pause-cycle-max", "pause-cycle-p99", 0.99, pauses)

	if e := os.Getenv("PAUSE_STALLS"); e != "" {
		if f, err := os.Create(e); err == nil {
			for _, l := range lateness {
				fmt.Fprintf(f, "%.4f\n", l)
			}
			f.Close()
		}
	}
	reportDist("pause-stall-max", "pause-stall-p999", 0.999, lateness)
	result("pause-gap-max", "ms", float64(gapMax)/1e6)

	for l := 0; l < nLists; l += nLists / 64 { // a sample, as in pause.c
		count, want := 0, nodes/nLists
		if l < nodes%nLists {
			want++
		}
		for n := heads[l]; n != nil; n = n.next {
			count++
		}
		if count != want {
			fmt.Fprintf(os.Stderr, "pause: list %d has %d nodes, built %d\n", l, count, want)
			os.Exit(1)
		}
	}
}

// ---- Mark rate (markrate.c) ----

type mnode struct {
	a, b *mnode
	x, y uintptr
}

var markRoot *mnode

// xorshift64*, the same generator as markrate.c.
var rngState uint64 = 0x9E3779B97F4A7C15

func rng() uint64 {
	rngState ^= rngState >> 12
	rngState ^= rngState << 25
	rngState ^= rngState >> 27
	return rngState * 2685821657736338717
}

func markrate(args []string) {
	if len(args) < 2 || (args[0] != "list" && args[0] != "graph") {
		usage()
	}
	procs, err := strconv.Atoi(args[1])
	if err != nil || procs < 1 {
		usage()
	}
	nodes := 10000000
	if len(args) > 2 {
		nodes, _ = strconv.Atoi(args[2])
	}
	if nodes < 2 {
		usage()
	}
	runtime.GOMAXPROCS(procs)

	old := debug.SetGCPercent(-1)
	if args[0] == "list" {
		prev := &mnode{}
		markRoot = prev
		for i := 1; i < nodes; i++ {
			n := &mnode{x: uintptr(i)}
			prev.a = n
			prev = n
		}
	} else {
		v := make([]*mnode, nodes)
		perm := make([]uint32, nodes)
		for i := range v {
			v[i] = &mnode{x: uintptr(i)}
			perm[i] = uint32(i)
		}
		for i := nodes - 1; i > 0; i-- {
			j := rng() % uint64(i+1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		for i := 0; i < nodes; i++ {
			v[perm[i]].a = v[perm[(i+1)%nodes]]
			v[i].b = v[rng()%uint64(nodes)]
		}
		markRoot = v[perm[0]]
	}
	debug.SetGCPercent(old)
	runtime.GC() // warm-up; frees the build's slices

	const repeat = 3
	live := float64(nodes) * float64(unsafe.Sizeof(mnode{}))
	name := fmt.Sprintf("markrate-%s-%dm", args[0], procs)
	wall := make([]float64, repeat)
	for r := range wall {
		time.Sleep(50 * time.Millisecond) // let the last gctrace line finish first
		fmt.Fprintf(os.Stderr, "BENCH-MARK name=%s live_bytes=%.0f\n", name, live)
		t := time.Now()
		runtime.GC()
		wall[r] = time.Since(t).Seconds()
	}
	sort.Float64s(wall)
	result(name, "MiB/s", live/(1<<20)/wall[repeat/2])

	count := 0
	n := markRoot
	if args[0] == "list" {
		for ; n != nil; n = n.a {
			count++
		}
	} else {
		for {
			count++
			n = n.a
			if n == markRoot || count > nodes {
				break
			}
		}
	}
	if count != nodes {
		fmt.Fprintf(os.Stderr, "markrate: %d nodes reachable, built %d\n", count, nodes)
		os.Exit(1)
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
	case "pause":
		pause(os.Args[2:])
	case "markrate":
		markrate(os.Args[2:])
	default:
		usage()
	}
}
