package irc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// TestTLSAndSASLExternal: the ways to trust the server (a pin, a CA file,
// the system roots) and to log in with a client certificate.
func TestTLSAndSASLExternal(t *testing.T) {
	t.Parallel()
	// sslinfo hands the client certificate's fingerprint to services,
	// which SASL EXTERNAL (NickServ CERT) needs.
	n := ircnet.Start(t, ircnet.Options{ExtraConfig: `<module name="sslinfo">`})
	n.RegisterAccounts(t, accounts...)
	securedChannel(t, n)
	ca, err := os.ReadFile(n.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, tlsOpts irc.TLSOptions, mutate func(*irc.Options)) (irc.CheckResult, error) {
		t.Helper()
		cfg, err := irc.TLSConfig(tlsOpts)
		if err != nil {
			t.Fatal(err)
		}
		o := checkOptions(n)
		o.Server, o.TLS = n.TLSAddr(), cfg
		if mutate != nil {
			mutate(&o)
		}
		return irc.Check(context.Background(), o, team(t), slog.New(slog.DiscardHandler))
	}

	t.Run("a pinned self-signed certificate", func(t *testing.T) {
		res, err := check(t, irc.TLSOptions{Pin: strings.ToUpper(n.CertFingerprint)}, nil)
		if err != nil || !res.Private || !res.LoggedIn {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("a CA file", func(t *testing.T) {
		if res, err := check(t, irc.TLSOptions{CAPEM: ca}, nil); err != nil || !res.Private {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("a wrong pin is refused", func(t *testing.T) {
		_, err := check(t, irc.TLSOptions{Pin: strings.Repeat("ab", 32)}, nil)
		if err == nil || !strings.Contains(err.Error(), "not the pinned one") {
			t.Fatalf("err %v, want a pin mismatch", err)
		}
	})
	t.Run("the system roots do not trust a self-signed certificate", func(t *testing.T) {
		if _, err := check(t, irc.TLSOptions{}, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err %v, want a certificate error", err)
		}
	})
	t.Run("SASL EXTERNAL with a client certificate", func(t *testing.T) {
		cert := clientCert(t)
		// The account owner adds the certificate's fingerprint to the
		// account, logged in by password over a connection presenting it.
		owner := ircnet.Dial(t, n.TLSAddr(), botNick+"-owner", ircnet.ClientOptions{
			TLS:     &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true},
			Account: botNick, Password: password + botNick,
		})
		owner.Privmsg("NickServ", "CERT ADD")
		owner.Expect(t, wait, func(l ircnet.Line) bool { return l.Nick() == "NickServ" && l.Command == "NOTICE" })
		owner.Close()
		res, err := check(t, irc.TLSOptions{Pin: n.CertFingerprint, ClientCert: &cert}, func(o *irc.Options) {
			o.SASL = irc.SASL{Mechanism: irc.SASLExternal}
		})
		if err != nil || !res.LoggedIn || !res.Private {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("a wrong password ends the attempt", func(t *testing.T) {
		_, err := check(t, irc.TLSOptions{Pin: n.CertFingerprint}, func(o *irc.Options) { o.SASL.Password = "wrong" })
		if err == nil || !strings.Contains(err.Error(), "SASL") {
			t.Fatalf("err %v: a failed SASL login must end the attempt", err)
		}
	})
}

func clientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sectriage bot"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
