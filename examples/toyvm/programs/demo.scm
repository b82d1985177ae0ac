; demo.scm — a few seconds of allocation for watching the collector work
; (run it with GOHEAP_DEBUG=gctrace=1 and --summary; see README.md).
; A cache of trees grows to a steady size and is then churned: each step
; builds a fresh tree, replaces a random-looking cache slot with it, and
; throws away a pile of temporary lists and strings. The live heap stays
; roughly constant while tens of megabytes are allocated and freed.

(define (make-tree depth)
  (if (= depth 0) (cons '() '())
      (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))
(define (check tree)
  (if (null? (car tree)) 1 (+ 1 (check (car tree)) (check (cdr tree)))))

(define cache-size 256)
(define cache (make-vector cache-size #f))
(define labels (make-hash-table))

(define (temporary-garbage i)
  (let loop ((j 0) (l '()))
    (if (< j 30)
        (loop (+ j 1) (cons (string-append "t" (number->string (+ i j))) l))
        (length l))))

(define steps 12000)
(let loop ((i 0) (slot 0) (total 0))
  (if (< i steps)
      (let ((tree (make-tree 7)))
        (vector-set! cache slot tree)
        (hash-set! labels slot (number->string i))
        (temporary-garbage i)
        (if (= (remainder (+ i 1) 3000) 0)
            (begin (display "step ") (display (+ i 1))
                   (display ": ") (display total) (display " tree nodes allocated")
                   (newline)))
        (loop (+ i 1) (modulo (+ (* slot 37) 11) cache-size) (+ total (check tree))))))

(define live
  (let loop ((i 0) (sum 0))
    (if (< i cache-size)
        (loop (+ i 1) (if (vector-ref cache i) (+ sum (check (vector-ref cache i))) sum))
        sum)))
(display "live nodes in cache: ") (display live) (newline)
