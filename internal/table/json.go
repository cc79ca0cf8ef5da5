package table

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Entity bodies are flat JSON objects. scanObject reads one without
// encoding/json's reflection and token boxing, which made parsing the
// largest cost of an insert; it keeps member order and leaves duplicates
// for the caller to refuse. Nested objects and arrays are errors: no EDM
// type is written that way.

type jsonKind uint8

const (
	jsonString jsonKind = iota
	jsonNumber
	jsonBool
	jsonNull
)

// jsonValue is a scalar: decoded text for strings, the literal for numbers.
type jsonValue struct {
	kind jsonKind
	text string
	b    bool
}

type member struct {
	name string
	val  jsonValue
}

var errJSON = errors.New("malformed JSON")

type scanner struct {
	b []byte
	i int
}

// scanObject parses b, which must hold exactly one flat object.
func scanObject(b []byte) ([]member, error) {
	s := &scanner{b: b}
	if !s.consume('{') {
		return nil, errJSON
	}
	var out []member
	if !s.consume('}') {
		for {
			name, err := s.str()
			if err != nil || !s.consume(':') {
				return nil, errJSON
			}
			v, err := s.value()
			if err != nil {
				return nil, err
			}
			out = append(out, member{name, v})
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return nil, errJSON
		}
	}
	s.space()
	if s.i != len(s.b) {
		return nil, errJSON
	}
	return out, nil
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) consume(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

func (s *scanner) value() (jsonValue, error) {
	s.space()
	if s.i >= len(s.b) {
		return jsonValue{}, errJSON
	}
	switch c := s.b[s.i]; {
	case c == '"':
		t, err := s.str()
		return jsonValue{kind: jsonString, text: t}, err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case s.literal("true"):
		return jsonValue{kind: jsonBool, b: true}, nil
	case s.literal("false"):
		return jsonValue{kind: jsonBool}, nil
	case s.literal("null"):
		return jsonValue{kind: jsonNull}, nil
	case c == '{' || c == '[':
		return jsonValue{}, errInvalidInput.With("Property values must be JSON strings, numbers, booleans or null.")
	}
	return jsonValue{}, errJSON
}

// number checks JSON's number grammar and keeps the literal.
func (s *scanner) number() (jsonValue, error) {
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return jsonValue{}, errJSON
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return jsonValue{}, errJSON
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return jsonValue{}, errJSON
		}
	}
	return jsonValue{kind: jsonNumber, text: string(s.b[start:s.i])}, nil
}

// str reads a string, decoding escapes; invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func (s *scanner) str() (string, error) {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", errJSON
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if utf8.Valid(raw) {
				return string(raw), nil
			}
			return string([]rune(string(raw))), nil
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return "", errJSON
		}
		s.i++
	}
	return "", errJSON
}

// escaped finishes a string that holds escapes, from its start.
func (s *scanner) escaped(start int) (string, error) {
	buf := []rune(string(s.b[start:s.i]))
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(buf), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			r, n := utf8.DecodeRune(s.b[s.i:])
			buf = append(buf, r)
			s.i += n
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", errJSON
		}
		s.i += 2
		switch s.b[s.i-1] {
		case '"', '\\', '/':
			buf = append(buf, rune(s.b[s.i-1]))
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", errJSON
			}
			if utf16.IsSurrogate(r) {
				// a high surrogate pairs with a following \uDC00–\uDFFF
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					r2, ok := s.hex4()
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
					} else {
						s.i, r = save, utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = append(buf, r)
		default:
			return "", errJSON
		}
	}
	return "", errJSON
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(n), true
}
