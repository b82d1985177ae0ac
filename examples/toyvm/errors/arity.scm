; arity.scm — a closure called with too many arguments.
(define (add a b) (+ a b))
(display (add 1 2))
(newline)
(add 1 2 3)
