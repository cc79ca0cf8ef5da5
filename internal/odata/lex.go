package odata

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokLiteral
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	pos  int
	text string // identifiers and keywords
	lit  Value  // literals
}

// lexer splits a $filter into tokens. Keywords are identifiers; the parser
// tells them apart by position.
type lexer struct {
	src string
	pos int
}

func (l *lexer) errorf(pos int, format string, args ...any) error {
	return fmt.Errorf("$filter at offset %d: %s", pos, fmt.Sprintf(format, args...))
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t' || l.src[l.pos] == '\r' || l.src[l.pos] == '\n') {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '(':
		l.pos++
		return token{kind: tokLParen, pos: start}, nil
	case c == ')':
		l.pos++
		return token{kind: tokRParen, pos: start}, nil
	case c == '\'':
		s, err := l.quoted()
		if err != nil {
			return token{}, err
		}
		return token{kind: tokLiteral, pos: start, lit: StringValue(s)}, nil
	case c == '-' || c == '+' || c >= '0' && c <= '9':
		v, err := l.number()
		if err != nil {
			return token{}, err
		}
		return token{kind: tokLiteral, pos: start, lit: v}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	if !identStart(r) {
		return token{}, l.errorf(start, "unexpected character %q", r)
	}
	for l.pos < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if !identStart(r) && !unicode.IsDigit(r) {
			break
		}
		l.pos += n
	}
	word := l.src[start:l.pos]
	if l.pos < len(l.src) && l.src[l.pos] == '\'' {
		v, err := l.typed(start, word)
		if err != nil {
			return token{}, err
		}
		return token{kind: tokLiteral, pos: start, lit: v}, nil
	}
	return token{kind: tokIdent, pos: start, text: word}, nil
}

func identStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

// quoted reads '...' with ” standing for one quote.
func (l *lexer) quoted() (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if l.pos < len(l.src) && l.src[l.pos] == '\'' {
			b.WriteByte('\'')
			l.pos++
			continue
		}
		return b.String(), nil
	}
	return "", l.errorf(start, "unterminated string literal")
}

// typed reads prefix'...' literals: datetime, guid, binary and X.
func (l *lexer) typed(start int, prefix string) (Value, error) {
	s, err := l.quoted()
	if err != nil {
		return Value{}, err
	}
	switch strings.ToLower(prefix) {
	case "datetime":
		tk, err := ParseDateTime(s)
		if err != nil {
			return Value{}, l.errorf(start, "%v", err)
		}
		return Value{Type: DateTime, Int: tk}, nil
	case "guid":
		g, err := ParseGuid(s)
		if err != nil {
			return Value{}, l.errorf(start, "%v", err)
		}
		return Value{Type: Guid, Str: g}, nil
	case "x", "binary":
		b, err := hex.DecodeString(s)
		if err != nil {
			// some clients write binary literals in base64
			if b, err = base64.StdEncoding.DecodeString(s); err != nil {
				return Value{}, l.errorf(start, "binary literal is neither hex nor base64")
			}
		}
		return BinaryValue(b), nil
	}
	return Value{}, l.errorf(start, "unknown literal type %q", prefix)
}

// number reads an integer or floating-point literal with an optional type
// suffix: L for Int64; d, f or m for Double.
func (l *lexer) number() (Value, error) {
	start := l.pos
	if c := l.src[l.pos]; c == '-' || c == '+' {
		l.pos++
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '9' {
			l.pos++
			n++
		}
		return n
	}
	if digits() == 0 {
		return Value{}, l.errorf(start, "malformed number")
	}
	float := false
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		if digits() == 0 {
			return Value{}, l.errorf(start, "malformed number")
		}
		float = true
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '-' || l.src[l.pos] == '+') {
			l.pos++
		}
		if digits() == 0 {
			return Value{}, l.errorf(start, "malformed exponent")
		}
		float = true
	}
	text := l.src[start:l.pos]
	suffix := byte(0)
	if l.pos < len(l.src) && strings.IndexByte("LlDdFfMm", l.src[l.pos]) >= 0 {
		suffix = l.src[l.pos] | 0x20
		l.pos++
	}
	if l.pos < len(l.src) {
		if r, _ := utf8.DecodeRuneInString(l.src[l.pos:]); identStart(r) || unicode.IsDigit(r) || r == '\'' {
			return Value{}, l.errorf(start, "malformed number")
		}
	}
	switch {
	case suffix == 'l':
		if float {
			return Value{}, l.errorf(start, "Int64 literal with a fraction")
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return Value{}, l.errorf(start, "Int64 literal out of range")
		}
		return Int64Value(n), nil
	case float || suffix != 0:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return Value{}, l.errorf(start, "Double literal out of range")
		}
		return DoubleValue(f), nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return Value{}, l.errorf(start, "integer literal out of range")
	}
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return Int32Value(int32(n)), nil
	}
	return Int64Value(n), nil
}
