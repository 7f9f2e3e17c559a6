// Package devcerts creates a development certificate authority, a server
// certificate for localhost and client certificates carrying the caller's
// role and tenant, with Go's standard library only. It is for development and
// tests: production certificates come from the organisms' PKI.
//
// A client certificate names its caller like this: Subject CommonName is the
// caller's id (for the logs), OrganizationalUnit[0] its role ("professional",
// "operator", "admin"), Organization[0] its tenant: the professional's
// identifier or the operator's organism code.
package devcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Authority is a certificate authority able to sign certificates.
type Authority struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	PEM  []byte
}

// Client describes a client certificate to issue.
type Client struct {
	Name      string // file name stem and CommonName
	Role      string
	Tenant    string
	NotBefore time.Time
	NotAfter  time.Time
}

func serial() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)) }

// NewAuthority creates a self-signed CA valid from now for ten years.
func NewAuthority(name string, now time.Time) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: name, Organization: []string{"tierspayant development"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Issue signs a leaf certificate; it returns the certificate and key in PEM.
func (a *Authority) Issue(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, &key.PublicKey, a.Key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// Server issues a server certificate for localhost and 127.0.0.1.
func (a *Authority) Server(now time.Time) ([]byte, []byte, error) {
	return a.Issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// Client issues a client certificate.
func (a *Authority) Client(c Client) ([]byte, []byte, error) {
	return a.Issue(&x509.Certificate{
		Subject:   pkix.Name{CommonName: c.Name, OrganizationalUnit: []string{c.Role}, Organization: []string{c.Tenant}},
		NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// WriteDevSet writes, into dir: ca.pem, server.pem/server-key.pem, and one
// pair per client (<name>.pem, <name>-key.pem), plus expired.pem (a
// professional certificate that expired yesterday) and foreign.pem (signed by
// another CA), for trying the refusals.
func WriteDevSet(dir string, now time.Time, clients []Client) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := NewAuthority("tierspayant development CA", now)
	if err != nil {
		return err
	}
	write := func(name string, data []byte, mode os.FileMode) error {
		return os.WriteFile(filepath.Join(dir, name), data, mode)
	}
	if err := write("ca.pem", ca.PEM, 0o644); err != nil {
		return err
	}
	sc, sk, err := ca.Server(now)
	if err != nil {
		return err
	}
	if err := write("server.pem", sc, 0o644); err != nil {
		return err
	}
	if err := write("server-key.pem", sk, 0o600); err != nil {
		return err
	}
	for _, c := range clients {
		if c.NotBefore.IsZero() {
			c.NotBefore, c.NotAfter = now.Add(-time.Hour), now.AddDate(1, 0, 0)
		}
		cc, ck, err := ca.Client(c)
		if err != nil {
			return err
		}
		if err := write(c.Name+".pem", cc, 0o644); err != nil {
			return err
		}
		if err := write(c.Name+"-key.pem", ck, 0o600); err != nil {
			return err
		}
	}
	ec, ek, err := ca.Client(Client{Name: "expired", Role: "professional", Tenant: "10000000009", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(0, 0, -1)})
	if err != nil {
		return err
	}
	if err := write("expired.pem", ec, 0o644); err != nil {
		return err
	}
	if err := write("expired-key.pem", ek, 0o600); err != nil {
		return err
	}
	other, err := NewAuthority("another CA", now)
	if err != nil {
		return err
	}
	fc, fk, err := other.Client(Client{Name: "foreign", Role: "admin", Tenant: "", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		return err
	}
	if err := write("foreign.pem", fc, 0o644); err != nil {
		return err
	}
	if err := write("foreign-key.pem", fk, 0o600); err != nil {
		return err
	}
	return nil
}

// DefaultClients are the development callers `make certs` creates.
func DefaultClients() []Client {
	return []Client{
		{Name: "admin", Role: "admin"},
		{Name: "operator-MUT01", Role: "operator", Tenant: "MUT01"},
		{Name: "operator-CPAM75", Role: "operator", Tenant: "CPAM75"},
		{Name: "professional-10000000009", Role: "professional", Tenant: "10000000009"},
	}
}

// Describe lists what WriteDevSet wrote, for the command's output.
func Describe(dir string, clients []Client) string {
	s := fmt.Sprintf("development certificates in %s:\n  ca.pem (trust anchor), server.pem + server-key.pem (localhost)\n", dir)
	for _, c := range clients {
		s += fmt.Sprintf("  %s.pem + %s-key.pem: role %s, tenant %q\n", c.Name, c.Name, c.Role, c.Tenant)
	}
	return s + "  expired.pem (expired), foreign.pem (another CA): for trying the refusals\n"
}
