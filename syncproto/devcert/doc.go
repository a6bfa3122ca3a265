// Package devcert is the verification side of the per-tenant device
// certificate authority: what an edge or a device needs to check a device
// certificate or a proof of possession, as pure functions and values (no
// storage, no network I/O, no clock of its own). It uses the standard
// library only — crypto/x509 (RFC 5280 profile) and Ed25519 (RFC 8032, in
// X.509 per RFC 8410) — so that the device library and the wire format may
// import it; they must not depend on core. Issuance, key sealing and
// rotation live in core (package core/ca), which imports this package for
// everything both sides must agree on.
//
// # Certificate profile
//
// Each tenant has self-signed Ed25519 roots (pathlen 1) and issuing
// intermediates signed by them (pathlen 0, KeyUsage CertSign, ExtKeyUsage
// ClientAuth). Their subject CN names the tenant and the Role:
// CACommonName gives "tenant <id> root CA" and "tenant <id> issuing CA".
// ParseCACert parses one such certificate and checks that shape; a CA
// certificate of the same role in another tenant is ErrWrongTenant.
//
// A device certificate (leaf) is issued by an intermediate for the
// device's own Ed25519 key: CN = device id, exactly one SAN, the URI
// urn:melmastoon:iam:tenant:<tenant>:device:<device> (DeviceURI,
// ParseDeviceURI), KeyUsage DigitalSignature, ExtKeyUsage ClientAuth, not
// a CA, a random serial (rendered by FormatSerial). Tenant and device ids
// are canonical lowercase UUIDs (IsCanonicalUUID), checked strictly.
//
// # Trust bundles
//
// A TrustBundle is what an edge or device trusts for one tenant: the roots
// and issuing intermediates of every CA generation that has not expired,
// because a device certificate stays valid after the intermediate that
// issued it has been rotated. Core builds it with NewTrustBundle (which
// drops expired certificates) and publishes Marshal's bytes; edges and
// devices rebuild it with ParseTrustBundle. It travels as canonical JSON:
// {"version":1,"tenant":…,"roots":[base64 DER…],"intermediates":[…]},
// each list sorted and unique; the parser accepts only that exact
// encoding, within MaxBundleBytes and MaxBundleCerts.
//
// # Verification
//
// TrustBundle.VerifyDevice checks a presented chain (leaf first, then any
// intermediates). It caps sizes before parsing (MaxChainCerts,
// MaxCertBytes), checks the leaf's shape and URI, builds the chain with
// x509 (ClientAuth) to a bundle root through exactly one intermediate,
// checks the tenant, and applies a clock skew symmetrically around the
// leaf's window (see VerifyDevice). A device that presents its
// intermediate after the leaf is accepted by a verifier that only knows
// the root. The result is a DeviceIdentity.
//
// # Proof of possession
//
// EnrollmentMessage, HandshakeMessage, RenewalMessage and
// TokenRequestMessage build the bytes a device signs with its key, each
// field length-prefixed and the whole led by a context string per purpose
// (EnrollContext, HandshakeContext, RenewContext, TokenContext), so a
// signature made for one purpose never verifies for another.
// VerifyPossession checks such a signature and refuses the keys
// IsWeakPublicKey flags: wrong length or small order, with which a
// signature can be forged without a private key. A CA must not certify
// such a key either. Nonces come from the verifier, at least MinNonceBytes
// long.
//
// # Errors
//
// Every rejection wraps exactly one sentinel of errors.go (ErrMalformed,
// ErrTooLarge, ErrUntrusted, ErrExpired, ErrNotYetValid, ErrWrongTenant,
// and ErrBadPossession for proofs of possession), so a caller can map it to
// a close code or metric label with errors.Is while answering one opaque
// error outward. ErrExpired is distinct because the device sync protocol
// gives expiry its own close code.
//
// Times come from the caller (the now arguments of NewTrustBundle and
// VerifyDevice); nothing reads a package-level clock.
package devcert
