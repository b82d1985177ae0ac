; closures.scm — closures everywhere: counters that capture and mutate a
; variable, map/filter/fold written with lambdas, composition and currying,
; and a generator built from a captured list. Every closure holds its
; defining environment, so captured variables live on the heap as long as
; some closure can reach them, and die with the last one.

(define (map f l) (if (null? l) '() (cons (f (car l)) (map f (cdr l)))))
(define (filter keep? l)
  (cond ((null? l) '())
        ((keep? (car l)) (cons (car l) (filter keep? (cdr l))))
        (else (filter keep? (cdr l)))))
(define (fold f acc l) (if (null? l) acc (fold f (f acc (car l)) (cdr l))))
(define (range a b) (if (>= a b) '() (cons a (range (+ a 1) b))))
(define (compose . fs)
  (if (null? fs) (lambda (x) x)
      (lambda (x) ((car fs) ((apply compose (cdr fs)) x)))))
(define (curry f x) (lambda (y) (f x y)))

(define (make-counter start step)
  (let ((n start))
    (lambda () (set! n (+ n step)) n)))

(define c1 (make-counter 0 1))
(define c2 (make-counter 100 -3))
(c1) (c1) (c2)
(display "counters: ") (display (list (c1) (c2))) (newline)

(define xs (range 0 200))
(display "sum of squares of evens: ")
(display (fold + 0 (map (lambda (x) (* x x)) (filter (lambda (x) (= 0 (remainder x 2))) xs))))
(newline)

(define add1 (curry + 1))
(define double (curry * 2))
(display "compose: ") (display ((compose add1 double add1) 10)) (newline)

; Many short-lived closures, each capturing a fresh environment.
(define (closure-churn n)
  (let loop ((i 0) (total 0))
    (if (< i n)
        (let ((adder (lambda (y) (+ y i))))
          (loop (+ i 1) (+ total (adder 1))))
        total)))
(display "closure churn: ") (display (closure-churn 50000)) (newline)

; A bank of counters kept alive in a vector while garbage is made.
(define bank (make-vector 100 #f))
(let loop ((i 0))
  (if (< i 100)
      (begin (vector-set! bank i (make-counter i i)) (loop (+ i 1)))))
(let loop ((round 0))
  (if (< round 50)
      (begin
        (let each ((i 0))
          (if (< i 100) (begin ((vector-ref bank i)) (each (+ i 1)))))
        (map (lambda (x) (list x x)) (range 0 100))
        (loop (+ round 1)))))
(display "bank: ")
(display (fold + 0 (map (lambda (i) ((vector-ref bank i))) (range 0 100))))
(newline)

; A generator: each call yields the next element of a captured list.
(define (make-generator l)
  (lambda ()
    (if (null? l) 'done
        (let ((x (car l))) (set! l (cdr l)) x))))
(define g (make-generator '(a b c)))
(display "generator: ") (display (list (g) (g) (g) (g))) (newline)
(define (count-while pred)
  (let ((n 0))
    (while (pred n) (set! n (+ n 1)))
    n))
(display "while: ") (display (count-while (lambda (n) (< (* n n) 1000)))) (newline)
