; unbound.scm — a call to a name never defined, inside a function.
(define (f x)
  (* x (g x)))
(display (f 2))
