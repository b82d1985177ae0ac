; hash_churn.scm — a hash table under insert/delete churn. Each round
; inserts a batch of string and number keys, deletes most of the previous
; batch and overwrites some values, so entries, bucket arrays (reallocated
; when the table grows) and key strings keep dying while the survivors must
; stay intact. The totals at the end are computed independently of the
; table and compared with what it holds.

(define table (make-hash-table))
(define rounds 40)
(define batch 1500)

(define (key i) (string-append "k" (number->string i)))

(define (insert-batch r)
  (let loop ((i 0))
    (if (< i batch)
        (let ((n (+ (* r batch) i)))
          (hash-set! table (key n) n)
          (hash-set! table n (list n (* n n)))
          (loop (+ i 1))))))

; Keep one key in ten of round r; overwrite the kept numeric entries.
(define (churn-batch r)
  (let loop ((i 0))
    (if (< i batch)
        (let ((n (+ (* r batch) i)))
          (if (= (remainder i 10) 0)
              (hash-set! table n (list n (- n)))
              (begin (hash-delete! table (key n))
                     (hash-delete! table n)))
          (loop (+ i 1))))))

(let loop ((r 0))
  (if (< r rounds)
      (begin
        (insert-batch r)
        (if (> r 0) (churn-batch (- r 1)))
        (loop (+ r 1)))))

(display "entries: ") (display (hash-count table)) (newline)

; Survivors: every tenth key of rounds 0..rounds-2, all of the last round.
(define (verify)
  (let loop ((n 0) (ok 0) (bad 0))
    (if (< n (* rounds batch))
        (let* ((last-round (>= n (* (- rounds 1) batch)))
               (kept (or last-round (= (remainder (remainder n batch) 10) 0)))
               (s (hash-ref table (key n) #f))
               (v (hash-ref table n #f))
               (good (if kept
                         (and (equal? s n)
                              (equal? v (list n (if last-round (* n n) (- n)))))
                         (and (not s) (not v)))))
          (if good (loop (+ n 1) (+ ok 1) bad) (loop (+ n 1) ok (+ bad 1))))
        (list ok bad))))

(define result (verify))
(display "verified: ") (display (car result))
(display " bad: ") (display (cadr result)) (newline)
(display "sum of numeric keys: ")
(display (let loop ((keys (hash-keys table)) (sum 0))
           (cond ((null? keys) sum)
                 ((number? (car keys)) (loop (cdr keys) (+ sum (car keys))))
                 (else (loop (cdr keys) sum)))))
(newline)
