package cse

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The interoperability vectors live in shared/vectors/cse beside an ancestor
// of the working directory (the module root's sibling, not inside it).

// vector is the subset of atrest-cse-vector/1 the tests use.
type vector struct {
	ID        string          `json:"id"`
	Service   string          `json:"service"`
	Protocol  string          `json:"protocol"`
	Kek       json.RawMessage `json:"kek"`
	Plaintext struct {
		Length    int64 `json:"length"`
		Generator struct {
			Name string `json:"name"`
			Seed string `json:"seed"`
		} `json:"generator"`
		SHA256              string         `json:"sha256"`
		Hex                 string         `json:"hex"`
		EncryptedText       string         `json:"encrypted_text"`
		Entity              map[string]any `json:"entity"`
		EncryptedProperties []string       `json:"encrypted_properties"`
	} `json:"plaintext"`
	Stored struct {
		Metadata   map[string]string `json:"metadata"`
		Ciphertext struct {
			Length int64  `json:"length"`
			SHA256 string `json:"sha256"`
			Base64 string `json:"base64"`
			File   string `json:"file"`
			Stored *bool  `json:"stored"`
		} `json:"ciphertext"`
		MessageText string         `json:"message_text"`
		EntityJSON  map[string]any `json:"entity_json"`
	} `json:"stored"`
	Derived struct {
		CEKHex      string   `json:"cek_hex"`
		IVHex       string   `json:"iv_hex"`
		NoncesHex   []string `json:"nonces_hex"`
		NonceHex    string   `json:"nonce_hex"`
		EntityIVHex string   `json:"entity_iv_hex"`
		WrapInput   string   `json:"wrap_input_hex"`
	} `json:"derived"`
	Ranges []vectorRange `json:"ranges"`
	Expect string        `json:"expect"`

	// Negative vectors.
	Base           string     `json:"base"`
	Mutations      []mutation `json:"mutations"`
	DecryptContext struct {
		RequireEncryption bool   `json:"require_encryption"`
		Use               string `json:"use"`
	} `json:"decrypt_context"`
}

type vectorRange struct {
	Offset       int64    `json:"offset"`
	Length       int64    `json:"length"`
	Requested    [2]int64 `json:"ciphertext_range_requested"`
	Served       [2]int64 `json:"ciphertext_range_served"`
	ServedBase64 string   `json:"ciphertext_served_base64"`
	Expected     struct {
		Length int64  `json:"length"`
		SHA256 string `json:"sha256"`
		Hex    string `json:"hex"`
	} `json:"expected_plaintext"`
}

type mutation struct {
	Op         string   `json:"op"`
	Target     string   `json:"target"`
	ByteOffset int      `json:"byte_offset"`
	Bit        uint     `json:"bit"`
	DropLast   int      `json:"drop_last_bytes"`
	Path       []string `json:"path"`
	Value      any      `json:"value"`
	RegionLen  int      `json:"region_length"`
	A          int      `json:"a"`
	B          int      `json:"b"`
	Keep       int      `json:"keep_regions"`
}

// vectorDir walks up from the working directory to find shared/vectors/cse.
func vectorDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		d := filepath.Join(dir, "shared", "vectors", "cse")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/vectors/cse not found beside any ancestor of the working directory")
		}
		dir = parent
	}
}

// loadVectors returns every vector of a service ("blob", "queue", "table",
// "negative") in file-name order.
func loadVectors(t testing.TB, sub string) []*vector {
	t.Helper()
	dir := filepath.Join(vectorDir(t), sub)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in %s: %v", dir, err)
	}
	var vs []*vector
	for _, f := range files {
		vs = append(vs, readVector(t, f))
	}
	return vs
}

func readVector(t testing.TB, path string) *vector {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := new(vector)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep entity values exactly as stored
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func (v *vector) kek(t testing.TB) KeyEncryptionKey {
	t.Helper()
	k, err := ParseJWK(v.Kek)
	if err != nil {
		t.Fatalf("%s: kek: %v", v.ID, err)
	}
	return k
}

// plaintextBytes regenerates a sha256-counter plaintext (README).
func (v *vector) plaintextBytes(t testing.TB) []byte {
	t.Helper()
	if v.Plaintext.Generator.Name != "sha256-counter" {
		t.Fatalf("%s: generator %q", v.ID, v.Plaintext.Generator.Name)
	}
	n := v.Plaintext.Length
	out := make([]byte, 0, n+32)
	var ctr [8]byte
	for i := uint64(0); int64(len(out)) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.New()
		h.Write([]byte(v.Plaintext.Generator.Seed))
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	out = out[:n]
	mustSHA(t, v.ID+" plaintext", out, v.Plaintext.SHA256)
	return out
}

// ciphertextBytes loads the stored blob, rebuilding large 1.0 blobs from
// CEK and IV with crypto/cipher directly, and checks its SHA-256.
func (v *vector) ciphertextBytes(t testing.TB) []byte {
	t.Helper()
	c := v.Stored.Ciphertext
	var ct []byte
	switch {
	case c.Base64 != "":
		ct = unb64(t, c.Base64)
	case c.File != "":
		var err error
		if ct, err = os.ReadFile(filepath.Join(vectorDir(t), c.File)); err != nil {
			t.Fatal(err)
		}
	case c.Stored != nil && !*c.Stored:
		pt := v.plaintextBytes(t)
		block, _ := aes.NewCipher(unhex(t, v.Derived.CEKHex))
		pad := 16 - len(pt)%16
		ct = append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
		cipher.NewCBCEncrypter(block, unhex(t, v.Derived.IVHex)).CryptBlocks(ct, ct)
	case c.Length == 0:
		ct = []byte{}
	default:
		t.Fatalf("%s: no ciphertext", v.ID)
	}
	if int64(len(ct)) != c.Length {
		t.Fatalf("%s: ciphertext length %d, want %d", v.ID, len(ct), c.Length)
	}
	mustSHA(t, v.ID+" ciphertext", ct, c.SHA256)
	return ct
}

func mustSHA(t testing.TB, what string, b []byte, want string) {
	t.Helper()
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
		t.Fatalf("%s: sha256 %x, want %s", what, got, want)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
