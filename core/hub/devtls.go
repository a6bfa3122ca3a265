package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Lifetimes of the development certificates. The CA outlives the
// certificates it signs; NotBefore is backdated by DevCertBackdate to
// tolerate clock skew.
const (
	DevCALifetime   = 10 * 365 * 24 * time.Hour
	DevCertLifetime = 365 * 24 * time.Hour
	DevCertBackdate = time.Minute
)

// DevTLS is a throw-away PKI for development and tests: a self-signed CA, a
// server certificate for the hub's leaf listener and a client certificate
// for edges. Never use it in production: the keys live only in memory and
// nothing rotates them.
type DevTLS struct {
	// CAPool trusts CA only.
	CAPool *x509.CertPool
	// CA is the self-signed root.
	CA *x509.Certificate
	// Server is the hub's certificate (and key), signed by CA.
	Server tls.Certificate
	// Client is an edge's certificate (and key), signed by CA.
	Client tls.Certificate
}

// NewDevTLS creates a CA and signs a server certificate valid for hosts (IP
// addresses or DNS names; default 127.0.0.1, ::1 and localhost) and a client
// certificate. It returns an error only when key generation or signing
// fails.
func NewDevTLS(hosts ...string) (*DevTLS, error) {
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	now := time.Now()
	caKey, caCert, err := newDevCA(now)
	if err != nil {
		return nil, err
	}
	srv, err := signDevCert(caCert, caKey, now, "iam-hub", hosts, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	cli, err := signDevCert(caCert, caKey, now, "iam-edge", nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &DevTLS{CAPool: pool, CA: caCert, Server: srv, Client: cli}, nil
}

// ServerConfig is a tls.Config for Config.TLS. With requireClientCert the
// hub also demands a client certificate signed by the CA.
func (d *DevTLS) ServerConfig(requireClientCert bool) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{d.Server}}
	if requireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = d.CAPool
	}
	return cfg
}

// ClientConfig is a tls.Config for an edge: it trusts the CA and presents
// the client certificate.
func (d *DevTLS) ClientConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: d.CAPool, Certificates: []tls.Certificate{d.Client}}
}

func newDevCA(now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("hub: dev CA key: %w", err)
	}
	tmpl, err := devTemplate(now, "iam dev CA", DevCALifetime)
	if err != nil {
		return nil, nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("hub: dev CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("hub: dev CA certificate: %w", err)
	}
	return key, cert, nil
}

func signDevCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time, cn string,
	hosts []string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("hub: dev key: %w", err)
	}
	tmpl, err := devTemplate(now, cn, DevCertLifetime)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("hub: dev certificate %s: %w", cn, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("hub: dev certificate %s: %w", cn, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func devTemplate(now time.Time, cn string, lifetime time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("hub: serial: %w", err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"melmastoon iam dev"}},
		NotBefore:    now.Add(-DevCertBackdate),
		NotAfter:     now.Add(lifetime),
	}, nil
}
