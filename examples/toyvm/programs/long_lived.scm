; long_lived.scm — a large structure that lives for the whole run, built
; step by step while short-lived garbage is churned between the steps. The
; long-lived part mixes kinds (a vector of association lists, a hash table of
; strings, a chain of closures) so every gc_type the VM declares is scanned
; many times by many cycles. At the end every element is checked against a
; value recomputed from scratch.

(define size 20000)
(define chain-length 2000) ; calling the chain recurses this deep
(define records (make-vector size #f))
(define names (make-hash-table))
(define chain (lambda () 0))

(define (garbage n)
  (let loop ((i 0) (l '()))
    (if (< i n)
        (loop (+ i 1) (cons (vector i (number->string i)) l))
        (length l))))

(define (make-record i)
  (list (cons 'id i)
        (cons 'square (* i i))
        (cons 'name (string-append "rec" (number->string i)))))

(let build ((i 0))
  (if (< i size)
      (begin
        (vector-set! records i (make-record i))
        (hash-set! names (string-append "rec" (number->string i)) i)
        (if (< i chain-length)
            (let ((previous chain) (k i))
              (set! chain (lambda () (+ k (previous))))))
        (garbage 20)
        (build (+ i 1)))))

(gc)

(define (field record key)
  (let find ((r record))
    (cond ((null? r) #f)
          ((eq? (car (car r)) key) (cdr (car r)))
          (else (find (cdr r))))))

(define (record-ok? i)
  (let ((r (vector-ref records i)))
    (and (= (field r 'id) i)
         (= (field r 'square) (* i i))
         (string=? (field r 'name) (string-append "rec" (number->string i)))
         (= (hash-ref names (field r 'name) -1) i))))

(define bad
  (let loop ((i 0) (bad 0))
    (if (< i size)
        (loop (+ i 1) (if (record-ok? i) bad (+ bad 1)))
        bad)))
(display "records: ") (display size) (display " bad: ") (display bad) (newline)
(display "names: ") (display (hash-count names)) (newline)
(display "chain sum: ") (display (chain)) (display " expected: ")
(display (quotient (* chain-length (- chain-length 1)) 2)) (newline)
