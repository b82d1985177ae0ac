; tests/bench/toyvm/binary_trees.scm: examples/toyvm/programs/binary_trees.scm
; with max-depth 14 instead of 12 (about 9 times the work, 1 to 3 s), for
; the toyvm benchmark (run.sh toyvm). The original follows.
;
; binary_trees.scm — the GCBench shape (Boehm's GCBench, as in the
; benchmarks game's binary-trees): a stretch tree allocated and dropped, a
; long-lived tree and a long-lived vector of numbers kept for the whole run,
; and many short-lived trees of increasing depth whose node counts are
; checksummed. Most objects die young; the long-lived ones must survive
; every collection intact, which the last lines check.

(define min-depth 4)
(define max-depth 14)

(define (make-tree depth)
  (if (= depth 0)
      (cons '() '())
      (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))

(define (check tree)
  (if (null? (car tree))
      1
      (+ 1 (check (car tree)) (check (cdr tree)))))

(define (power2 n) (if (= n 0) 1 (* 2 (power2 (- n 1)))))

(display "stretch tree of depth ")
(display (+ max-depth 1))
(display " check: ")
(display (check (make-tree (+ max-depth 1))))
(newline)

(define long-lived-tree (make-tree max-depth))
(define long-lived-array (make-vector 5000 0))
(let fill ((i 0))
  (if (< i 5000)
      (begin (vector-set! long-lived-array i (/ 1 (+ i 1)))
             (fill (+ i 1)))))

(define (run-depth depth)
  (let ((iterations (power2 (+ (- max-depth depth) min-depth))))
    (let loop ((i 0) (sum 0))
      (if (< i iterations)
          (loop (+ i 1) (+ sum (check (make-tree depth))))
          (begin
            (display iterations)
            (display " trees of depth ")
            (display depth)
            (display " check: ")
            (display sum)
            (newline))))))

(let loop ((depth min-depth))
  (if (<= depth max-depth)
      (begin (run-depth depth) (loop (+ depth 2)))))

(display "long lived tree of depth ")
(display max-depth)
(display " check: ")
(display (check long-lived-tree))
(newline)

(define (array-ok? i)
  (cond ((= i 5000) #t)
        ((= (vector-ref long-lived-array i) (/ 1 (+ i 1))) (array-ok? (+ i 1)))
        (else #f)))
(display "long lived array intact: ")
(display (array-ok? 0))
(newline)
