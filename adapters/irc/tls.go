package irc

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// TLSOptions say how the server's certificate is checked.
type TLSOptions struct {
	// ServerName is the name the certificate must carry (default: the host
	// of the server address, set when dialing).
	ServerName string
	// CAPEM, when set, are the only roots trusted (a private CA or a
	// self-signed server certificate); else the system's roots.
	CAPEM []byte
	// Pin is the SHA-256 of the server's certificate (DER), in hex, colons
	// allowed. With a pin, the certificate must match it; the chain is
	// then checked only when CAPEM is set too, so a self-signed server can
	// be pinned without a CA.
	Pin string
	// ClientCert is presented to the server: the identity for SASL
	// EXTERNAL (CertFP).
	ClientCert *tls.Certificate
}

// ParsePin reads a SHA-256 fingerprint: 64 hex digits, colons and spaces
// allowed, an optional "sha256:" prefix.
func ParsePin(s string) ([]byte, error) {
	h := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	h = strings.NewReplacer(":", "", " ", "").Replace(h)
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("a pin is the SHA-256 of the server certificate: 64 hex digits (colons allowed)")
	}
	return b, nil
}

// TLSConfig makes the client TLS configuration.
func TLSConfig(o TLSOptions) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	if len(o.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CAPEM) {
			return nil, errors.New("the CA file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if o.ClientCert != nil {
		cfg.Certificates = []tls.Certificate{*o.ClientCert}
	}
	if o.Pin == "" {
		return cfg, nil
	}
	pin, err := ParsePin(o.Pin)
	if err != nil {
		return nil, err
	}
	roots := cfg.RootCAs
	// The standard verification is replaced (it would refuse a self-signed
	// certificate); VerifyConnection does the pin and, with a CA, the chain.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
			return fmt.Errorf("the server certificate's SHA-256 is %s, not the pinned one", hex.EncodeToString(sum[:]))
		}
		if roots == nil {
			return nil
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: inter})
		return err
	}
	return cfg, nil
}
