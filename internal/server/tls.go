package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// The local CA lives in DataDir/tls: its certificate in plain PEM (users
// export it to trust it) and its private key sealed like every other key.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca.key.sealed"
	tlsKeyRef  = "installation/tls"
)

// CACertPath is where the local CA certificate is kept.
func CACertPath(dataDir string) string { return filepath.Join(dataDir, "tls", caCertFile) }

// serverTLS is the storage listeners' TLS. Their handshake floor is TLS
// 1.0 because, as in Azure, each account's minimumTlsVersion (TLS 1.2
// unless lowered) refuses older connections with an answer the client can
// read (400 TlsVersionNotPermitted) rather than a failed handshake.
func serverTLS(cfg Config, st *Stores) (*tls.Config, string, error) {
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("load certificate: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10}, "", nil
	}
	ca, caKey, err := LoadOrCreateCA(cfg.DataDir, st)
	if err != nil {
		return nil, "", err
	}
	leaf, err := issueLeaf(ca, caKey)
	if err != nil {
		return nil, "", err
	}
	return &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS10}, CACertPath(cfg.DataDir), nil
}

// LoadOrCreateCA returns the local CA, creating it on first use.
func LoadOrCreateCA(dataDir string, st *Stores) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	dir := filepath.Join(dataDir, "tls")
	kek, err := st.Keys.ServiceKEK(tlsKeyRef)
	if err != nil {
		return nil, nil, err
	}
	bind := sse.Binding{Kind: "tls", Object: caKeyFile}
	certPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err == nil {
		sealed, err := os.ReadFile(filepath.Join(dir, caKeyFile))
		if err != nil {
			return nil, nil, err
		}
		der, _, err := sse.Open(st.Keys, bind, sealed)
		if err != nil {
			return nil, nil, fmt.Errorf("local CA key does not open: %w", err)
		}
		key, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, nil, err
		}
		blk, _ := pem.Decode(certPEM)
		if blk == nil {
			return nil, nil, errors.New("local CA certificate is not PEM")
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		return cert, key, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "atrest local CA", Organization: []string{"atrest"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := sse.Seal(kek, bind, keyDER)
	clear(keyDER)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), sealed, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, caCertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// issueLeaf makes a fresh in-memory server certificate for localhost.
func issueLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "*.localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
