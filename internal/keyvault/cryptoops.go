package keyvault

import (
	"slices"
)

// cryptoKind is one of the six key operations.
type cryptoKind int

const (
	opEncrypt cryptoKind = iota
	opDecrypt
	opWrap
	opUnwrap
	opSign
	opVerify
)

// keyOp is the key_ops entry each operation needs.
func (c cryptoKind) keyOp() string {
	return [...]string{"encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify"}[c]
}

// producing operations create new ciphertext or signatures and so honour
// nbf and exp; decrypt, unwrap and verify keep working on expired keys so
// that data protected earlier stays readable.
func (c cryptoKind) producing() bool { return c == opEncrypt || c == opWrap || c == opSign }

func (c cryptoKind) handler() func(s *Service, o *op, body []byte) (any, error) {
	return func(s *Service, o *op, body []byte) (any, error) {
		var p keyOpParams
		if e := decode(body, &p); e != nil {
			return nil, e
		}
		o.alg = p.Alg
		if p.Alg == "" {
			return nil, badParameter("The alg field is required.")
		}
		h, k, e := s.loadVersion(o, o.version)
		if e != nil {
			return nil, e
		}
		if e := s.usable(k, c); e != nil {
			return nil, e
		}
		kid := o.kid(h.Name, k.rec.Version)
		res, e := k.do(c, &p)
		if e != nil {
			return nil, e
		}
		if r, ok := res.(*keyOpResult); ok {
			r.KID = kid
		}
		return res, nil
	}
}

// usable checks the key's state against the operation.
func (s *Service) usable(k *keyVersion, c cryptoKind) *Error {
	if !k.rec.Enabled {
		return forbidden("Operation %s is not allowed on a disabled key.", c.keyOp())
	}
	if !slices.Contains(k.rec.Ops, c.keyOp()) {
		return forbidden("Operation %s is not permitted on this key.", c.keyOp())
	}
	if c.producing() {
		now := s.now()
		if k.rec.NotBefore != nil && now.Before(*k.rec.NotBefore) {
			return forbidden("Operation %s is not allowed before the key's not-before time.", c.keyOp())
		}
		if k.rec.Expires != nil && !now.Before(*k.rec.Expires) {
			return forbidden("Operation %s is not allowed on an expired key.", c.keyOp())
		}
	}
	return nil
}

// do dispatches an operation to the key's family.
func (k *keyVersion) do(c cryptoKind, p *keyOpParams) (any, *Error) {
	fam := baseType(k.rec.Kty)
	var out []byte
	var e *Error
	switch c {
	case opSign:
		if fam == "oct" {
			return nil, badParameter("Symmetric keys cannot sign.")
		}
		out, e = k.sign(p.Alg, p.Value)
	case opVerify:
		if fam == "oct" {
			return nil, badParameter("Symmetric keys cannot verify.")
		}
		ok, e := k.verify(p.Alg, p.Digest, p.Value)
		if e != nil {
			return nil, e
		}
		return verifyResult{Value: ok}, nil
	case opEncrypt, opWrap:
		switch {
		case fam == "RSA":
			out, e = k.rsaEncrypt(p.Alg, p.Value)
		case fam == "oct" && c == opEncrypt:
			return k.octEncrypt(p)
		case fam == "oct":
			out, e = k.octWrap(p.Alg, p.Value, false)
		default:
			return nil, badParameter("EC keys cannot %s.", c.keyOp())
		}
	case opDecrypt, opUnwrap:
		switch {
		case fam == "RSA":
			out, e = k.rsaDecrypt(p.Alg, p.Value)
		case fam == "oct" && c == opDecrypt:
			out, e = k.octDecrypt(p)
		case fam == "oct":
			out, e = k.octWrap(p.Alg, p.Value, true)
		default:
			return nil, badParameter("EC keys cannot %s.", c.keyOp())
		}
	}
	if e != nil {
		return nil, e
	}
	return &keyOpResult{Value: out}, nil
}
