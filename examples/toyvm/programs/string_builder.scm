; string_builder.scm — strings are noscan objects (their bytes are never
; scanned), built here three ways: repeated string-append (quadratic
; garbage: every step copies the whole prefix), a vector of chunks that
; grows by vector-push! (its slot array is copied with gc_memmove on every
; doubling) joined once at the end, and number->string/substring churn.

(define (repeat-append piece n)
  (let loop ((i 0) (acc ""))
    (if (< i n) (loop (+ i 1) (string-append acc piece)) acc)))

(define (join chunks separator)
  (let ((n (vector-length chunks)))
    (if (= n 0)
        ""
        (let loop ((i 1) (acc (vector-ref chunks 0)))
          (if (< i n)
              (loop (+ i 1) (string-append acc separator (vector-ref chunks i)))
              acc)))))

; Sum of the character codes is not available, so checksum with lengths
; and a few fixed substrings.
(define s1 (repeat-append "abc" 2000))
(display "repeat-append length: ") (display (string-length s1)) (newline)
(display "slice: ") (display (substring s1 2995 3005)) (newline)

(define chunks (make-vector 0))
(let loop ((i 0))
  (if (< i 3000)
      (begin (vector-push! chunks (number->string (* i i)))
             (loop (+ i 1)))))
(define numbers (join chunks ","))
(display "chunks: ") (display (vector-length chunks)) (newline)
(display "joined length: ") (display (string-length numbers)) (newline)
(display "head: ") (display (substring numbers 0 30)) (newline)
(display "tail: ") (display (substring numbers (- (string-length numbers) 20))) (newline)

; Build many short strings and keep only every hundredth.
(define kept (make-vector 0))
(let loop ((i 0))
  (if (< i 20000)
      (let ((s (string-append "item-" (number->string i) "-" (number->string (* 3 i)))))
        (if (= (remainder i 100) 0) (vector-push! kept s))
        (loop (+ i 1)))))
(display "kept: ") (display (vector-length kept)) (newline)
(display "kept[57]: ") (display (vector-ref kept 57)) (newline)
(display "round trip: ")
(display (string->number (number->string 12345.5)))
(newline)
(display "symbols: ")
(display (eq? (string->symbol (string-append "hel" "lo")) 'hello))
(newline)
(display "ordered: ")
(display (string<? (vector-ref kept 1) (vector-ref kept 2)))
(newline)
