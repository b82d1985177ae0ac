; The symbol table is weak: it does not keep symbols alive. Interning many
; temporary names and dropping them lets the collector free them, and the
; table forgets them; symbols still referenced stay unique (eq?).

(define (make-name prefix i)
  (string-append prefix (number->string i)))

; Symbols we keep: a list of 100 interned names, held by a global.
(define kept
  (let loop ((i 0) (acc '()))
    (if (= i 100)
        acc
        (loop (+ i 1) (cons (string->symbol (make-name "kept-" i)) acc)))))

; Every name this program measures with is defined before the first count,
; so the counts differ only by the temporary symbols.
(define before 0)
(define during 0)
(define after 0)
(define size-now 0)
(define (all-identical? syms i)
  (cond ((null? syms) #t)
        ((eq? (car syms) (string->symbol (make-name "kept-" i)))
         (all-identical? (cdr syms) (- i 1)))
        (else #f)))

(gc)
(set! before (symbol-table-size))

; 20000 temporary symbols, each dropped as soon as it is made.
(let loop ((i 0))
  (if (< i 20000)
      (begin
        (string->symbol (make-name "temp-" i))
        (loop (+ i 1)))))

(set! during (symbol-table-size))
(gc)
(set! after (symbol-table-size))

(display "table grew while interning: ")
(display (> during before))
(newline)
(display "table shrank after gc: ")
(display (< after during))
(newline)
; goheap is precise and frees all 20000; a conservative collector (the
; bdwgc build) may keep the odd one alive through a stale stack word.
(display "at most 10 of 20000 temporary symbols left: ")
(display (<= (- after before) 10))
(newline)

; Live symbols are still the same objects: interning the name again returns
; the very symbol in the list.
(set! size-now (symbol-table-size))
(display "kept symbols identical: ")
(display (all-identical? kept 99))
(newline)
(display "quoted symbol identical: ")
(display (eq? 'kept-7 (string->symbol "kept-7")))
(newline)
(display "table size unchanged by re-interning: ")
(display (= (symbol-table-size) size-now))
(newline)

; A dropped name interned again makes a fresh symbol that works normally.
(define again (string->symbol "temp-123"))
(display "re-interned dropped name: ")
(display (eq? again (string->symbol "temp-123")))
(display " ")
(display again)
(newline)
