package ca

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/url"
	"time"

	"github.com/melmastoon/iam/syncproto/devcert"
)

// DeviceCertRequest asks for a device certificate. The caller has already
// checked the enrollment or renewal (token, proof of possession).
type DeviceCertRequest struct {
	// DeviceID is the device's canonical lowercase UUID.
	DeviceID string
	// PublicKey is the device's Ed25519 public key.
	PublicKey ed25519.PublicKey
	// Validity is the requested lifetime: zero means DefaultDeviceValidity,
	// at most MaxDeviceValidity.
	Validity time.Duration
}

// IssueDevice signs a device certificate: subject CN the device id, one SAN
// URI devcert.DeviceURI(tenant, device), KeyUsage DigitalSignature, ExtKeyUsage
// ClientAuth, not a CA, a random 128-bit serial. NotBefore is Backdate
// before now (never before the issuing certificate's NotBefore); NotAfter
// is now + Validity, clamped to the issuing certificate's NotAfter so no
// leaf outlives its issuer — near the end of an intermediate's life the
// certificates get shorter, which is why core rotates it early.
//
// It returns the DER, the serial as 32 lowercase hex digits and the
// NotAfter written. It fails with ErrInvalidRequest, ErrCAExpired (the
// issuing certificate is not valid now), or a wrapped error of the random
// source.
func (ca *CA) IssueDevice(req DeviceCertRequest) (certDER []byte, serial string, notAfter time.Time, err error) {
	tmpl, err := ca.deviceTemplate(req)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	der, err := x509.CreateCertificate(ca.rand, tmpl, ca.issuing, req.PublicKey, ca.signer)
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("ca: create device certificate: %w", err)
	}
	return der, devcert.FormatSerial(tmpl.SerialNumber), tmpl.NotAfter, nil
}

func (ca *CA) deviceTemplate(req DeviceCertRequest) (*x509.Certificate, error) {
	validity, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	now := ca.now()
	if now.Before(ca.issuing.NotBefore) || !now.Before(ca.issuing.NotAfter) {
		return nil, fmt.Errorf("%w: issuing certificate valid %s to %s", ErrCAExpired, ca.issuing.NotBefore, ca.issuing.NotAfter)
	}
	serial, err := newSerial(ca.rand)
	if err != nil {
		return nil, err
	}
	uri, err := url.Parse(devcert.DeviceURI(ca.tenant, req.DeviceID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	notBefore := toSecond(now.Add(-Backdate))
	if notBefore.Before(ca.issuing.NotBefore) {
		notBefore = ca.issuing.NotBefore
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.DeviceID},
		NotBefore:             notBefore,
		NotAfter:              toSecond(minTime(now.Add(validity), ca.issuing.NotAfter)),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
	}, nil
}

// checkRequest validates req and returns the lifetime to use.
func checkRequest(req DeviceCertRequest) (time.Duration, error) {
	if !devcert.IsCanonicalUUID(req.DeviceID) {
		return 0, fmt.Errorf("%w: device id %q is not a canonical UUID", ErrInvalidRequest, req.DeviceID)
	}
	if devcert.IsWeakPublicKey(req.PublicKey) {
		return 0, fmt.Errorf("%w: not a usable Ed25519 public key", ErrInvalidRequest)
	}
	switch {
	case req.Validity == 0:
		return DefaultDeviceValidity, nil
	case req.Validity < 0 || req.Validity > MaxDeviceValidity:
		return 0, fmt.Errorf("%w: validity %s outside (0, %s]", ErrInvalidRequest, req.Validity, MaxDeviceValidity)
	}
	return req.Validity, nil
}
