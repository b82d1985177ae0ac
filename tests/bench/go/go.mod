module goheap/bench

go 1.19
