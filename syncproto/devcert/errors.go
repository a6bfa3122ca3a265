package devcert

import "errors"

// Reasons NewTrustBundle, ParseTrustBundle, ParseCACert, ParseDeviceURI and
// VerifyDevice reject their input. Each rejection wraps exactly one of them,
// so an edge can map it to a close code or metric label with errors.Is
// while answering one opaque error outward.
var (
	// ErrMalformed reports bytes that do not parse, or a certificate or
	// bundle that is not of the shape the tenant CA issues (wrong key type,
	// missing or extra SAN, non-canonical encoding, a CA certificate as leaf).
	ErrMalformed = errors.New("devcert: malformed certificate or bundle")
	// ErrTooLarge reports input over MaxCertBytes, MaxChainCerts,
	// MaxBundleBytes or MaxBundleCerts, checked before parsing.
	ErrTooLarge = errors.New("devcert: input too large")
	// ErrUntrusted reports a chain that does not build to a root of the
	// trust bundle: unknown issuer, bad signature, a non-CA or mis-used
	// intermediate, a path length violation or a missing ClientAuth usage.
	// It also reports a root that is not self-signed and an intermediate
	// not signed by a root it is presented with.
	ErrUntrusted = errors.New("devcert: certificate not trusted")
	// ErrExpired reports a leaf whose NotAfter is more than the skew before
	// the verification time, or a CA certificate of the chain that is not
	// valid at the instant the chain is verified (see VerifyDevice). It is
	// distinct so the device sync protocol can give expiry its own close
	// code (the device should renew or re-enroll).
	ErrExpired = errors.New("devcert: certificate expired")
	// ErrNotYetValid reports a leaf whose NotBefore is more than the skew
	// after the verification time.
	ErrNotYetValid = errors.New("devcert: certificate not valid yet")
	// ErrWrongTenant reports a trusted certificate whose device URI names a
	// tenant other than the trust bundle's, or a CA certificate of another
	// tenant.
	ErrWrongTenant = errors.New("devcert: certificate belongs to another tenant")
)

// ErrBadPossession reports a proof-of-possession signature that does not
// verify (VerifyPossession).
var ErrBadPossession = errors.New("devcert: proof of possession does not verify")
