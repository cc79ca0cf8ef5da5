package cse

import "strconv"

// pyObject writes a JSON object byte for byte as Python's json.dumps does
// with its defaults: members in insertion order, ", " and ": " separators,
// and every character outside printable ASCII escaped as \uXXXX (lower-case
// hex, surrogate pairs above the BMP). The SDKs' own output has this layout,
// so ours can be compared with theirs byte for byte.
type pyObject struct {
	buf []byte
	n   int
}

func (o *pyObject) key(k string) {
	if o.n == 0 {
		o.buf = append(o.buf, '{')
	} else {
		o.buf = append(o.buf, ", "...)
	}
	o.n++
	o.buf = appendPyString(o.buf, k)
	o.buf = append(o.buf, ": "...)
}

func (o *pyObject) str(k, v string) {
	o.key(k)
	o.buf = appendPyString(o.buf, v)
}

func (o *pyObject) num(k string, v int64) {
	o.key(k)
	o.buf = strconv.AppendInt(o.buf, v, 10)
}

// raw adds an already encoded JSON value.
func (o *pyObject) raw(k string, v []byte) {
	o.key(k)
	o.buf = append(o.buf, v...)
}

func (o *pyObject) bytes() []byte {
	if o.n == 0 {
		return append(o.buf, "{}"...)
	}
	return append(o.buf, '}')
}

// appendPyStringList writes a JSON array of strings in json.dumps layout.
func appendPyStringList(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendPyString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

func appendPyString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s { // invalid UTF-8 decodes to U+FFFD, as Python would hold it
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r >= 0x20 && r <= 0x7e:
			b = append(b, byte(r))
		case r < 0x10000:
			b = appendU(b, r)
		default:
			r -= 0x10000
			b = appendU(b, 0xd800+(r>>10))
			b = appendU(b, 0xdc00+(r&0x3ff))
		}
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}
