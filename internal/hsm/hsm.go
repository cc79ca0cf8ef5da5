// Package hsm keeps customer keys on PKCS#11 tokens (hardware security
// modules, smart cards, SoftHSM): it is the cmk.Wrapper for accounts and
// scopes whose key-vault URI is pkcs11:token={label}. The key-encryption
// key never leaves the token: the token itself seals an owner's 256-bit
// intermediate key with AES-GCM (CKM_AES_GCM, a random 96-bit IV per wrap)
// and opens it again; atrest keeps only the sealed form. Most callers need
// two calls:
//
//	t, err := hsm.Open(hsm.Config{Module: "/usr/lib/softhsm/libsofthsm2.so", PIN: pin})
//	cfg.Keys.HSM = t // and t.Close() after the server stops
//
// A token that is gone, a wrong PIN, and a key that is missing or was
// replaced all answer *sse.KeyError (KeyVaultEncryptionKeyNotFound), which
// the data plane turns into 403; nothing stored changes, so putting the
// token back restores access. The sealed form (IV || ciphertext || tag,
// associated data naming the key label) stays readable forever.
package hsm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/atrest/atrest/internal/account"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
)

// Config says which PKCS#11 library to load and how to log in.
type Config struct {
	// Module is the path of the token's PKCS#11 library.
	Module string
	// PIN is the token user's PIN.
	PIN secret.Key
	// Token is the token label used when a key URI names neither a token
	// nor a slot.
	Token string
}

// Token is a loaded PKCS#11 library. Its operations are serialized: they
// run only when an intermediate key is first made or its cached copy has
// expired, so the token is never on the data path.
type Token struct {
	cfg Config
	mu  sync.Mutex
	ctx *pkcs11.Ctx
	// rescanned is when the library was last re-initialized to look for
	// a token put back (some, SoftHSM among them, scan only at start).
	rescanned time.Time
	// pinRefused stops further logins once the token refused the PIN:
	// retrying on every request would lock the token.
	pinRefused bool
}

// rescanEvery bounds how often a missing token triggers a rescan.
const rescanEvery = time.Second

const (
	ivSize  = 12
	tagBits = 128
)

// Open loads the library and initializes it.
func Open(cfg Config) (*Token, error) {
	if cfg.Module == "" {
		return nil, errors.New("hsm: no PKCS#11 module path")
	}
	ctx := pkcs11.New(cfg.Module)
	if ctx == nil {
		return nil, fmt.Errorf("hsm: cannot load the PKCS#11 module %s", cfg.Module)
	}
	if err := ctx.Initialize(); err != nil {
		ctx.Destroy()
		return nil, fmt.Errorf("hsm: initializing %s: %w", cfg.Module, err)
	}
	return &Token{cfg: cfg, ctx: ctx}, nil
}

// Close finalizes and unloads the library.
func (t *Token) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx == nil {
		return nil
	}
	err := t.ctx.Finalize()
	t.ctx.Destroy()
	t.ctx = nil
	return err
}

// location is where a key URI points: a token label or a slot id.
type location struct {
	token string
	slot  *uint
}

// parseURI reads the RFC 7512 path attributes atrest uses: token and
// slot-id ("pkcs11:token=atrest;slot-id=0"). A PIN in the URI is refused:
// the PIN is configuration, never stored with an account.
func parseURI(uri, defToken string) (location, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(uri), "pkcs11:")
	if !ok {
		if rest, ok = strings.CutPrefix(uri, "PKCS11:"); !ok {
			return location{}, fmt.Errorf("%q is not a pkcs11: URI", uri)
		}
	}
	path, query, _ := strings.Cut(rest, "?")
	if strings.Contains(query, "pin-") {
		return location{}, errors.New("a PKCS#11 key URI may not carry a PIN")
	}
	loc := location{token: defToken}
	for _, attr := range strings.Split(path, ";") {
		if attr == "" {
			continue
		}
		k, v, _ := strings.Cut(attr, "=")
		v, err := url.PathUnescape(v)
		if err != nil {
			return location{}, fmt.Errorf("PKCS#11 URI attribute %s: %w", k, err)
		}
		switch k {
		case "token":
			loc.token = v
		case "slot-id":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return location{}, fmt.Errorf("PKCS#11 URI slot-id %q: %w", v, err)
			}
			s := uint(n)
			loc.slot = &s
		}
	}
	if loc.token == "" && loc.slot == nil {
		return location{}, errors.New("the PKCS#11 URI names no token (pkcs11:token={label})")
	}
	return loc, nil
}

// unavailable is the error of a key the token cannot be asked for.
func unavailable(format string, args ...any) error {
	return &sse.KeyError{Code: sse.CodeKeyNotFound, Reason: "PKCS#11: " + fmt.Sprintf(format, args...)}
}

// session is a logged-in session on the token a key URI names.
type session struct {
	t  *Token
	sh pkcs11.SessionHandle
}

func (t *Token) open(uri string) (*session, error) {
	if t.ctx == nil {
		return nil, unavailable("the module is closed")
	}
	loc, err := parseURI(uri, t.cfg.Token)
	if err != nil {
		return nil, unavailable("%v", err)
	}
	slot, err := t.findSlot(loc)
	if err != nil {
		return nil, err
	}
	if t.pinRefused {
		return nil, unavailable("the token refused the configured PIN; fix it and restart")
	}
	sh, err := t.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return nil, unavailable("opening a session on slot %d: %v", slot, err)
	}
	if err := t.ctx.Login(sh, pkcs11.CKU_USER, string(t.cfg.PIN.Bytes())); err != nil && !isCode(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		t.ctx.CloseSession(sh)
		if isCode(err, pkcs11.CKR_PIN_INCORRECT) || isCode(err, pkcs11.CKR_PIN_LOCKED) {
			t.pinRefused = true
		}
		return nil, unavailable("logging in to slot %d: %v", slot, err)
	}
	return &session{t: t, sh: sh}, nil
}

func (s *session) close() {
	s.t.ctx.Logout(s.sh)
	s.t.ctx.CloseSession(s.sh)
}

func (t *Token) findSlot(loc location) (uint, error) {
	if loc.slot != nil {
		return *loc.slot, nil
	}
	if s, ok := t.scan(loc.token); ok {
		return s, nil
	}
	if time.Since(t.rescanned) >= rescanEvery {
		t.rescanned = time.Now()
		t.ctx.Finalize()
		if err := t.ctx.Initialize(); err != nil {
			return 0, unavailable("re-initializing the module: %v", err)
		}
		if s, ok := t.scan(loc.token); ok {
			return s, nil
		}
	}
	return 0, unavailable("no token labelled %q is present", loc.token)
}

// scan looks for a present token with the label.
func (t *Token) scan(label string) (uint, bool) {
	slots, err := t.ctx.GetSlotList(true)
	if err != nil {
		return 0, false
	}
	for _, s := range slots {
		info, err := t.ctx.GetTokenInfo(s)
		if err == nil && strings.TrimRight(info.Label, " \x00") == label {
			return s, true
		}
	}
	return 0, false
}

func isCode(err error, code uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == code
}

// findKey finds the one AES secret key labelled name (and, when id is not
// empty, with that CKA_ID), and reports its CKA_ID as hex.
func (s *session) findKey(name, id string) (pkcs11.ObjectHandle, string, error) {
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, name),
	}
	if id != "" {
		raw, err := hex.DecodeString(id)
		if err != nil {
			return 0, "", unavailable("key version %q is not a hex CKA_ID", id)
		}
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, raw))
	}
	c := s.t.ctx
	if err := c.FindObjectsInit(s.sh, tmpl); err != nil {
		return 0, "", unavailable("searching for key %q: %v", name, err)
	}
	objs, _, err := c.FindObjects(s.sh, 2)
	c.FindObjectsFinal(s.sh)
	switch {
	case err != nil:
		return 0, "", unavailable("searching for key %q: %v", name, err)
	case len(objs) == 0:
		return 0, "", unavailable("no AES key labelled %q (id %q) on the token", name, id)
	case len(objs) > 1:
		return 0, "", unavailable("more than one AES key labelled %q; pin one with keyversion (its CKA_ID in hex)", name)
	}
	attrs, err := c.GetAttributeValue(s.sh, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
	if err != nil {
		return 0, "", unavailable("reading key %q: %v", name, err)
	}
	return objs[0], hex.EncodeToString(attrs[0].Value), nil
}

// aad binds a sealed intermediate key to the key label that sealed it.
func aad(k account.KeyVaultKey) []byte { return []byte("atrest/cmk/intermediate\x00" + k.Name) }

// Wrap seals ik on the token under k (its pinned CKA_ID, or the one key so
// labelled); the version returned is the key's CKA_ID in hex.
func (t *Token) Wrap(k account.KeyVaultKey, ik []byte) ([]byte, string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.open(k.VaultURI)
	if err != nil {
		return nil, "", err
	}
	defer s.close()
	key, id, err := s.findKey(k.Name, k.Version)
	if err != nil {
		return nil, "", err
	}
	iv := make([]byte, ivSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, "", err
	}
	params := pkcs11.NewGCMParams(iv, aad(k), tagBits)
	defer params.Free()
	if err := t.ctx.EncryptInit(s.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, key); err != nil {
		return nil, "", unavailable("AES-GCM with key %q: %v", k.Name, err)
	}
	ct, err := t.ctx.Encrypt(s.sh, ik)
	if err != nil {
		return nil, "", unavailable("AES-GCM with key %q: %v", k.Name, err)
	}
	// some tokens choose the IV themselves; keep the one actually used
	if used := params.IV(); len(used) == ivSize {
		iv = used
	}
	return append(iv, ct...), id, nil
}

// Unwrap opens what Wrap sealed, with the key of that CKA_ID.
func (t *Token) Unwrap(k account.KeyVaultKey, version string, wrapped []byte) ([]byte, error) {
	if len(wrapped) < ivSize+tagBits/8 {
		return nil, unavailable("the sealed intermediate key is too short")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.open(k.VaultURI)
	if err != nil {
		return nil, err
	}
	defer s.close()
	key, _, err := s.findKey(k.Name, version)
	if err != nil {
		return nil, err
	}
	params := pkcs11.NewGCMParams(wrapped[:ivSize], aad(k), tagBits)
	defer params.Free()
	if err := t.ctx.DecryptInit(s.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, key); err != nil {
		return nil, unavailable("AES-GCM with key %q: %v", k.Name, err)
	}
	pt, err := t.ctx.Decrypt(s.sh, wrapped[ivSize:])
	if err != nil {
		// a different key under the same label fails here
		return nil, unavailable("key %q does not open the sealed intermediate key: %v", k.Name, err)
	}
	if len(pt) != 32 {
		clear(pt)
		return nil, unavailable("the sealed intermediate key has the wrong size")
	}
	return pt, nil
}
