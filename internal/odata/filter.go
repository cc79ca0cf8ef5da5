package odata

import (
	"errors"
	"strings"
)

// Entity is what a filter is evaluated against.
type Entity interface {
	// Property returns a property's value, or false when the entity has none.
	Property(name string) (Value, bool)
}

// Filter is a parsed $filter. A nil *Filter matches everything.
type Filter struct {
	root node
}

// maxDepth bounds nesting so a hostile filter cannot exhaust the stack.
const maxDepth = 64

// ParseFilter parses an Azure Tables $filter expression: comparisons (eq,
// ne, gt, ge, lt, le) between properties and literals, combined with and, or,
// not and parentheses. Literals are 'strings', numbers (42, 42L, 4.2),
// true/false, datetime'…', guid'…' and X'…' or binary'…'.
func ParseFilter(s string) (*Filter, error) {
	p := &parser{lex: lexer{src: s}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, errors.New("$filter is empty")
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.lex.errorf(p.tok.pos, "unexpected %s", p.describe())
	}
	if !n.boolean() {
		return nil, errors.New("$filter is not a boolean expression")
	}
	return &Filter{root: n}, nil
}

// Match reports whether e satisfies the filter. Comparisons with a missing
// property, or between values of unrelated types, are unknown; an entity
// matches only when the whole filter is true.
func (f *Filter) Match(e Entity) bool {
	if f == nil {
		return true
	}
	v, ok := f.root.eval(e)
	return ok && v.Type == Boolean && v.Int == 1
}

type parser struct {
	lex lexer
	tok token
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	p.tok = t
	return err
}

func (p *parser) describe() string {
	switch p.tok.kind {
	case tokEOF:
		return "end of filter"
	case tokIdent:
		return "'" + p.tok.text + "'"
	case tokLiteral:
		return "literal"
	case tokLParen:
		return "'('"
	}
	return "')'"
}

func (p *parser) keyword(w string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, w)
}

func (p *parser) or(depth int) (node, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		if left, err = p.logical(opOr, left, right); err != nil {
			return nil, err
		}
	}
	return left, nil
}

func (p *parser) and(depth int) (node, error) {
	left, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		if left, err = p.logical(opAnd, left, right); err != nil {
			return nil, err
		}
	}
	return left, nil
}

func (p *parser) logical(op string, l, r node) (node, error) {
	if !l.boolean() || !r.boolean() {
		return nil, p.lex.errorf(p.tok.pos, "'%s' needs boolean operands", op)
	}
	return &logicNode{op: op, l: l, r: r}, nil
}

func (p *parser) not(depth int) (node, error) {
	if !p.keyword("not") {
		return p.comparison(depth)
	}
	if depth >= maxDepth {
		return nil, p.lex.errorf(p.tok.pos, "expression nested too deeply")
	}
	pos := p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.not(depth + 1)
	if err != nil {
		return nil, err
	}
	if !x.boolean() {
		return nil, p.lex.errorf(pos, "'not' needs a boolean operand")
	}
	return &notNode{x: x}, nil
}

var relops = map[string]string{"eq": "eq", "ne": "ne", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}

func (p *parser) comparison(depth int) (node, error) {
	left, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokIdent {
		return left, nil
	}
	op, ok := relops[strings.ToLower(p.tok.text)]
	if !ok {
		return left, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	right, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	return &cmpNode{op: op, l: left, r: right}, nil
}

func (p *parser) primary(depth int) (node, error) {
	switch p.tok.kind {
	case tokLParen:
		if depth >= maxDepth {
			return nil, p.lex.errorf(p.tok.pos, "expression nested too deeply")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.lex.errorf(p.tok.pos, "expected ')', found %s", p.describe())
		}
		return x, p.advance()
	case tokLiteral:
		v := p.tok.lit
		return &litNode{v: v}, p.advance()
	case tokIdent:
		w := p.tok.text
		switch {
		case strings.EqualFold(w, "true"):
			return &litNode{v: BoolValue(true)}, p.advance()
		case strings.EqualFold(w, "false"):
			return &litNode{v: BoolValue(false)}, p.advance()
		case isKeyword(w):
			return nil, p.lex.errorf(p.tok.pos, "expected a property or literal, found '%s'", w)
		}
		return &propNode{name: w}, p.advance()
	}
	return nil, p.lex.errorf(p.tok.pos, "expected a property or literal, found %s", p.describe())
}

func isKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "null":
		return true
	}
	return false
}
