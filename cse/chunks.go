package cse

import "io"

// chunks turns a producer of output chunks into an io.Reader and an
// io.WriterTo (so io.Copy hands whole regions to the destination). next
// sets out to the following chunk or returns an error, io.EOF at the end;
// errors are sticky.
type chunks struct {
	out  []byte
	err  error
	next func() error
}

func (c *chunks) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.err = c.next()
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

func (c *chunks) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(c.out) == 0 {
			if c.err == io.EOF {
				return total, nil
			}
			if c.err != nil {
				return total, c.err
			}
			c.err = c.next()
		}
		n, err := w.Write(c.out)
		total += int64(n)
		c.out = c.out[n:]
		if err != nil {
			return total, err
		}
	}
}
