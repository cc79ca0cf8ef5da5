package odata

import "strings"

// Range is an interval of strings: what a filter allows a string property
// (a partition key, a row key, a table name) to be.
type Range struct {
	Lo, Hi         string
	HasLo, HasHi   bool
	LoIncl, HiIncl bool
	empty          bool
}

// Empty reports a range that nothing can fall in (e.g. "a eq 'x' and a eq 'y'").
func (r Range) Empty() bool {
	if r.empty {
		return true
	}
	if r.HasLo && r.HasHi {
		c := strings.Compare(r.Lo, r.Hi)
		return c > 0 || c == 0 && !(r.LoIncl && r.HiIncl)
	}
	return false
}

// Exact returns the one value the range allows, if that is all it allows.
func (r Range) Exact() (string, bool) {
	if r.HasLo && r.HasHi && r.LoIncl && r.HiIncl && r.Lo == r.Hi && !r.empty {
		return r.Lo, true
	}
	return "", false
}

// Contains reports whether s lies in the range.
func (r Range) Contains(s string) bool { return !r.Below(s) && !r.Above(s) && !r.empty }

// Below reports whether s sorts before the range.
func (r Range) Below(s string) bool {
	if !r.HasLo {
		return false
	}
	c := strings.Compare(s, r.Lo)
	return c < 0 || c == 0 && !r.LoIncl
}

// Above reports whether s sorts after the range.
func (r Range) Above(s string) bool {
	if !r.HasHi {
		return false
	}
	c := strings.Compare(s, r.Hi)
	return c > 0 || c == 0 && !r.HiIncl
}

// Range is the interval the filter's top-level conjunction sets for a
// string property: every entity the filter matches has the property in it.
// Terms under or/not, and comparisons with non-string literals, are left
// out, so the range may be wider than the filter but never narrower.
func (f *Filter) Range(prop string) Range {
	var r Range
	if f != nil {
		r.narrow(f.root, prop)
	}
	return r
}

func (r *Range) narrow(n node, prop string) {
	switch n := n.(type) {
	case *logicNode:
		if n.op == opAnd {
			r.narrow(n.l, prop)
			r.narrow(n.r, prop)
		}
	case *cmpNode:
		op := n.op
		p, pok := n.l.(*propNode)
		l, lok := n.r.(*litNode)
		if !pok || !lok {
			// literal on the left: 'a' lt Name is Name gt 'a'
			p, pok = n.r.(*propNode)
			l, lok = n.l.(*litNode)
			op = flip[op]
		}
		if !pok || !lok || p.name != prop {
			return
		}
		if l.v.Type != String {
			// a string property never equals another type's literal
			r.empty = true
			return
		}
		v := l.v.Str
		switch op {
		case "eq":
			r.lower(v, true)
			r.upper(v, true)
		case "gt":
			r.lower(v, false)
		case "ge":
			r.lower(v, true)
		case "lt":
			r.upper(v, false)
		case "le":
			r.upper(v, true)
		}
	}
}

var flip = map[string]string{"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}

func (r *Range) lower(v string, incl bool) {
	if !r.HasLo || v > r.Lo || v == r.Lo && !incl {
		r.Lo, r.LoIncl, r.HasLo = v, incl, true
	}
}

func (r *Range) upper(v string, incl bool) {
	if !r.HasHi || v < r.Hi || v == r.Hi && !incl {
		r.Hi, r.HiIncl, r.HasHi = v, incl, true
	}
}
