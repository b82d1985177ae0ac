; Ports and their finalizer. open-input-file returns a port owning a C FILE;
; close-port closes it, and a port dropped without closing is closed by a
; finalizer once the collector finds it unreachable.
;
; Opens "ports.txt" by a relative path: run it from examples/toyvm/programs
; (the meson test does). The test also runs it under `ulimit -n 64`, so
; without the finalizer the loops below would fail with EMFILE after about
; 60 opens.

; Reading a port to the end, then closing it explicitly.
(define (read-lines port)
  (let loop ((line (read-line port)) (acc '()))
    (if (eof-object? line)
        (reverse acc)
        (loop (read-line port) (cons line acc)))))

(define p (open-input-file "ports.txt"))
(display (input-port? p))
(newline)
(write (read-lines p))
(newline)
(display "open after opening one: ")
(display (open-port-count))
(newline)
(close-port p)
(close-port p) ; closing twice does nothing
(display "open after close-port: ")
(display (open-port-count))
(newline)

; Opens the file n times, reads one line and drops the port without closing
; it. With every > 0, calls (gc) every `every` opens; with 0, relies on the
; automatic cycles and on open-input-file, which collects and runs the
; finalizers when the process is out of descriptors. Returns #t if every
; first line read was right.
(define (churn n every)
  (let loop ((i 0) (ok #t))
    (if (= i n)
        ok
        (let ((port (open-input-file "ports.txt")))
          (if (and (> every 0) (= (remainder i every) 0))
              (gc))
          (loop (+ i 1) (and ok (equal? (read-line port) "first line")))))))

(display "5000 opens, (gc) every 50: ")
(display (churn 5000 50))
(newline)
(display "at most 50 left open before the last gc: ")
(display (<= (open-port-count) 50))
(newline)
(gc)
(display "open after gc: ")
(display (open-port-count))
(newline)
(display "closed by the finalizer: ")
(display (finalized-port-count))
(newline)

(display "5000 more opens, no explicit gc: ")
(display (churn 5000 0))
(newline)
(gc)
(display "open after gc: ")
(display (open-port-count))
(newline)
(display "closed by the finalizer: ")
(display (finalized-port-count))
(newline)

; An explicitly closed port has no finalizer left: the count stays put.
(define q (open-input-file "ports.txt"))
(close-port q)
(set! q #f)
(gc)
(display "after closing one and dropping it: ")
(display (list (open-port-count) (finalized-port-count)))
(newline)
