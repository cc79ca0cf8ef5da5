package odata

// node is one parsed expression. eval returns false for "unknown": a
// missing property, or a comparison that cannot be made.
type node interface {
	eval(e Entity) (Value, bool)
	// boolean reports whether the node can yield a boolean (a property's
	// type is known only at evaluation, so properties say yes).
	boolean() bool
}

const (
	opAnd = "and"
	opOr  = "or"
)

type litNode struct{ v Value }

func (n *litNode) eval(Entity) (Value, bool) { return n.v, true }
func (n *litNode) boolean() bool             { return n.v.Type == Boolean }

type propNode struct{ name string }

func (n *propNode) eval(e Entity) (Value, bool) { return e.Property(n.name) }
func (n *propNode) boolean() bool               { return true }

type cmpNode struct {
	op   string
	l, r node
}

func (n *cmpNode) boolean() bool { return true }

func (n *cmpNode) eval(e Entity) (Value, bool) {
	a, ok := n.l.eval(e)
	if !ok {
		return Value{}, false
	}
	b, ok := n.r.eval(e)
	if !ok {
		return Value{}, false
	}
	c, ok := Compare(a, b)
	if !ok {
		return Value{}, false
	}
	var r bool
	switch n.op {
	case "eq":
		r = c == 0
	case "ne":
		r = c != 0
	case "gt":
		r = c > 0
	case "ge":
		r = c >= 0
	case "lt":
		r = c < 0
	case "le":
		r = c <= 0
	}
	return BoolValue(r), true
}

// truth is three-valued: 1 true, 0 false, -1 unknown.
func truth(n node, e Entity) int {
	v, ok := n.eval(e)
	if !ok || v.Type != Boolean {
		return -1
	}
	return int(v.Int)
}

type logicNode struct {
	op   string
	l, r node
}

func (n *logicNode) boolean() bool { return true }

func (n *logicNode) eval(e Entity) (Value, bool) {
	a := truth(n.l, e)
	// short-circuit: false and x, true or x
	if n.op == opAnd && a == 0 {
		return BoolValue(false), true
	}
	if n.op == opOr && a == 1 {
		return BoolValue(true), true
	}
	b := truth(n.r, e)
	switch {
	case n.op == opAnd && b == 0:
		return BoolValue(false), true
	case n.op == opOr && b == 1:
		return BoolValue(true), true
	case a == -1 || b == -1:
		return Value{}, false
	}
	return BoolValue(n.op == opAnd), true
}

type notNode struct{ x node }

func (n *notNode) boolean() bool { return true }

func (n *notNode) eval(e Entity) (Value, bool) {
	switch truth(n.x, e) {
	case 1:
		return BoolValue(false), true
	case 0:
		return BoolValue(true), true
	}
	return Value{}, false
}
