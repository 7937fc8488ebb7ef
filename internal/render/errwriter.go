package render

import "io"

// ErrWriter passes writes on to W until one fails, then keeps that error
// and writes nothing more, so that a renderer writes line after line and
// checks Err once at the end.
type ErrWriter struct {
	W   io.Writer
	Err error
}

func (e *ErrWriter) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	e.Err = err
	return n, err
}
