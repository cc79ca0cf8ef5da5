package cse

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"runtime"
	"testing"
	"time"
)

// patternReader yields n bytes that encode their own position, cheaply.
type patternReader struct{ pos, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.pos >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.pos)]
	for i := range b {
		b[i] = byte((p.pos + int64(i)) * 2654435761 >> 13)
	}
	p.pos += int64(len(b))
	return len(b), nil
}

const benchSize = 64 << 20

func BenchmarkEncrypt2_0(b *testing.B) {
	e := &Encrypter{KEK: newTestKEK(b)}
	src := make([]byte, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		blob, err := e.EncryptBlob(context.Background(), bytes.NewReader(src))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, blob); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt2_0(b *testing.B) {
	kek := newTestKEK(b)
	ct, meta := encryptForTest(b, &Encrypter{KEK: kek}, make([]byte, benchSize))
	bd, err := (&Decrypter{KEK: kek}).OpenBlob(context.Background(), meta)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := io.Copy(io.Discard, bd.NewReader(bytes.NewReader(ct))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawAESGCM does the same region work with crypto/cipher alone:
// the ceiling the streaming layer is measured against.
func BenchmarkRawAESGCM(b *testing.B) {
	aead := newGCM(newCEK())
	buf := make([]byte, nonceSize+DefaultRegionSize+tagSize)
	b.Run("seal", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			for i := range uint64(benchSize / DefaultRegionSize) {
				putNonce(buf, nonceBigEndian96, i)
				aead.Seal(buf[nonceSize:nonceSize], buf[:nonceSize], buf[nonceSize:nonceSize+DefaultRegionSize], nil)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		sealed := make([][]byte, benchSize/DefaultRegionSize)
		for i := range sealed {
			putNonce(buf, nonceBigEndian96, uint64(i))
			sealed[i] = aead.Seal(append([]byte(nil), buf[:nonceSize]...), buf[:nonceSize], make([]byte, DefaultRegionSize), nil)
		}
		b.SetBytes(benchSize)
		for b.Loop() {
			for _, s := range sealed {
				copy(buf, s)
				if _, err := aead.Open(buf[nonceSize:nonceSize], buf[:nonceSize], buf[nonceSize:len(s)], nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestFlatMemory streams 256 MiB through encryption and decryption and
// checks that the heap allocated along the way stays a few regions' worth.
func TestFlatMemory(t *testing.T) {
	const size = 256 << 20
	kek := newTestKEK(t)
	ctx := context.Background()
	start := time.Now()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	src := &patternReader{n: size}
	inCRC := crc32.NewIEEE()
	blob, err := (&Encrypter{KEK: kek}).EncryptBlob(ctx, io.TeeReader(src, inCRC))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptBlob(ctx, blob.Metadata(), blob)
	if err != nil {
		t.Fatal(err)
	}
	outCRC := crc32.NewIEEE()
	n, err := io.Copy(outCRC, plain)
	if err != nil || n != size {
		t.Fatalf("copied %d, %v", n, err)
	}
	runtime.ReadMemStats(&after)

	if inCRC.Sum32() != outCRC.Sum32() {
		t.Fatal("plaintext changed in the round trip")
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	inUse := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("256 MiB round trip in %v: %.1f MiB allocated, heap in use %+.1f MiB",
		time.Since(start).Round(time.Millisecond), float64(allocated)/(1<<20), float64(inUse)/(1<<20))
	if allocated > 32<<20 {
		t.Fatalf("allocated %d MiB for a 256 MiB stream", allocated>>20)
	}
}

const streamSize = 1 << 30

// repeatReader yields block over and over, n bytes in all: input that
// costs a memory copy, as reading a file or socket does.
type repeatReader struct {
	block []byte
	off   int
	n     int64
}

func (r *repeatReader) Read(b []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), r.n)]
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	r.n -= int64(n)
	return n, nil
}

// BenchmarkEncryptStream1GiB streams 1 GiB through EncryptBlob; compare
// with BenchmarkRawAESGCM/seal (go run ./bench/cse puts both side by side).
func BenchmarkEncryptStream1GiB(b *testing.B) {
	e := &Encrypter{KEK: newTestKEK(b)}
	region := randomBytes(DefaultRegionSize)
	b.SetBytes(streamSize)
	for b.Loop() {
		blob, err := e.EncryptBlob(context.Background(), &repeatReader{block: region, n: streamSize})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, blob); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptStream1GiB decrypts 1 GiB made of one sealed region
// repeated (AllowAnyNonce admits the repeats; the check costs the same).
func BenchmarkDecryptStream1GiB(b *testing.B) {
	kek := newTestKEK(b)
	sealed, meta := encryptForTest(b, &Encrypter{KEK: kek}, randomBytes(DefaultRegionSize))
	bd, err := (&Decrypter{KEK: kek, AllowAnyNonce: true}).OpenBlob(context.Background(), meta)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(streamSize)
	for b.Loop() {
		ct := &repeatReader{block: sealed, n: int64(len(sealed)) * (streamSize / DefaultRegionSize)}
		if _, err := io.Copy(io.Discard, bd.NewReaderSize(ct, streamSize)); err != nil {
			b.Fatal(err)
		}
	}
}
