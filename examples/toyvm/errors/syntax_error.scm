; syntax_error.scm — an unbalanced list: the reader reports the line
; of the parenthesis that is never closed.
(display "before")
(newline)
(define (broken x)
  (+ x 1)
