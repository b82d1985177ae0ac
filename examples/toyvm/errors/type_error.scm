; type_error.scm — car of a number.
(define xs (list 1 2 3))
(display (car (cdr xs)))
(newline)
(car (car xs))
