package keywrap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3394 §4.1–4.6.
var rfc3394 = []struct {
	name, kek, data, wrapped string
}{
	{"4.1 128-bit data, 128-bit KEK",
		"000102030405060708090A0B0C0D0E0F",
		"00112233445566778899AABBCCDDEEFF",
		"1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
	{"4.2 128-bit data, 192-bit KEK",
		"000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF",
		"96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
	{"4.3 128-bit data, 256-bit KEK",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF",
		"64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
	{"4.4 192-bit data, 192-bit KEK",
		"000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
	{"4.5 192-bit data, 256-bit KEK",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
	{"4.6 256-bit data, 256-bit KEK",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
		"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
}

func TestRFC3394Vectors(t *testing.T) {
	for _, v := range rfc3394 {
		t.Run(v.name, func(t *testing.T) {
			kek, data, want := unhex(t, v.kek), unhex(t, v.data), unhex(t, v.wrapped)
			got, err := Wrap(kek, data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Wrap = %X, want %X", got, want)
			}
			back, err := Unwrap(kek, want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, data) {
				t.Fatalf("Unwrap = %X, want %X", back, data)
			}
		})
	}
}

func TestUnwrapRejectsEveryBitFlip(t *testing.T) {
	for _, v := range rfc3394 {
		kek, wrapped := unhex(t, v.kek), unhex(t, v.wrapped)
		for i := range len(wrapped) * 8 {
			c := bytes.Clone(wrapped)
			c[i/8] ^= 1 << (i % 8)
			out, err := Unwrap(kek, c)
			if !errors.Is(err, ErrIntegrity) || out != nil {
				t.Fatalf("%s: flip bit %d: got %X, %v", v.name, i, out, err)
			}
		}
	}
}

func TestUnwrapRejectsWrongKEK(t *testing.T) {
	v := rfc3394[5]
	kek := unhex(t, v.kek)
	kek[0] ^= 0x80
	if out, err := Unwrap(kek, unhex(t, v.wrapped)); !errors.Is(err, ErrIntegrity) || out != nil {
		t.Fatalf("got %X, %v", out, err)
	}
	// A 192-bit KEK that is a prefix of the right 256-bit one must fail too.
	if _, err := Unwrap(unhex(t, v.kek)[:24], unhex(t, v.wrapped)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("prefix KEK: %v", err)
	}
}

func TestRejectsBadLengths(t *testing.T) {
	kek := make([]byte, 32)
	for _, n := range []int{0, 8, 15, 17, 23} {
		if _, err := Wrap(kek, make([]byte, n)); !errors.Is(err, ErrInputSize) {
			t.Errorf("Wrap(%d bytes): %v", n, err)
		}
	}
	for _, n := range []int{0, 8, 16, 23, 25, 41} {
		if _, err := Unwrap(kek, make([]byte, n)); !errors.Is(err, ErrInputSize) {
			t.Errorf("Unwrap(%d bytes): %v", n, err)
		}
	}
	for _, n := range []int{0, 8, 15, 20, 33, 64} {
		if _, err := Wrap(make([]byte, n), make([]byte, 16)); !errors.Is(err, ErrKeySize) {
			t.Errorf("Wrap with %d-byte KEK: %v", n, err)
		}
		if _, err := Unwrap(make([]byte, n), make([]byte, 24)); !errors.Is(err, ErrKeySize) {
			t.Errorf("Unwrap with %d-byte KEK: %v", n, err)
		}
	}
}

func TestRoundTripLengths(t *testing.T) {
	kek := unhex(t, rfc3394[2].kek)
	for n := 16; n <= 256; n += 8 {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		w, err := Wrap(kek, data)
		if err != nil || len(w) != n+8 {
			t.Fatalf("n=%d: len %d, %v", n, len(w), err)
		}
		u, err := Unwrap(kek, w)
		if err != nil || !bytes.Equal(u, data) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
	}
}
