// Package ca is the per-tenant certificate authority for device
// certificates, as pure functions and values: no storage, no network I/O.
// It uses only crypto/x509 (RFC 5280 profile) and Ed25519 (RFC 8032, in
// X.509 per RFC 8410). It is the issuing side: creating, sealing, opening
// and rotating a tenant CA and signing device certificates. The verifying
// side — trust bundles, VerifyDevice, device URIs, proof of possession and
// the certificate naming and parsing rules both sides share — is package
// syncproto/devcert, which edges and the device library use without
// depending on core; this package imports it for those shared rules.
//
// # Hierarchy
//
// Each tenant has a self-signed Ed25519 root (DefaultRootValidity, 10
// years, pathlen 1) and an issuing intermediate signed by it
// (DefaultIssuingValidity, 2 years, pathlen 0, KeyUsage CertSign|CRLSign,
// ExtKeyUsage ClientAuth). Both subjects name the tenant
// (devcert.CACommonName: "tenant <id> root CA", "tenant <id> issuing CA";
// O "melmastoon iam"). NewCA makes both and returns a Sealed form for
// storage: the certificates in DER and the private keys encrypted with a
// keys.KeyEncrypter (DESIGN.md invariant 4) under associated data
// keys.AssociatedData("tenant-ca", tenant, role, serial), so a sealed key
// copied to another tenant, role or certificate does not open. OpenCA rebuilds a CA that can sign from the Sealed form; it
// opens only the issuing key, the root key is opened by Rotate alone; both
// check the stored certificates with devcert.ParseCACert, the rules a trust
// bundle applies.
//
// # Device certificates
//
// CA.IssueDevice signs a leaf for a device's own Ed25519 key:
// CN = device id, exactly one SAN, the URI
// urn:melmastoon:iam:tenant:<tenant>:device:<device> (devcert.DeviceURI),
// KeyUsage DigitalSignature, ExtKeyUsage ClientAuth, DefaultDeviceValidity (7 days)
// unless asked otherwise, NotBefore backdated one minute (DESIGN.md,
// "certificates and CAs that expire on everyone at once"). NotAfter never
// exceeds the issuing certificate's NotAfter: it is clamped, so core must
// rotate an intermediate long before it ends. Serials are 128 random bits
// (devcert.FormatSerial). Ids are canonical lowercase UUIDs
// (devcert.IsCanonicalUUID), checked strictly, and a small-order key
// (devcert.IsWeakPublicKey) is refused. The caller checks the proof of
// possession (devcert.VerifyPossession) before asking for a certificate.
//
// # Rotation
//
// Rotate signs a new intermediate under the same root; rotating the root is
// NewCA again (new root and new intermediate). Old generations stay
// trusted: edges must accept device certificates issued by any issuing
// certificate of the tenant that has not expired, so core builds the trust
// bundle (devcert.NewTrustBundle) from every root and intermediate, which
// drops only the expired ones. Publish a bundle with the new generation
// before issuing from it (as with signing keys); a device that presents
// its intermediate after the leaf is accepted by an edge that only knows
// the root.
//
// # Errors
//
// errors.go has the errors of this package (ErrInvalidConfig,
// ErrInvalidRequest, ErrKeyMismatch, ErrCAExpired). A stored certificate
// that fails devcert.ParseCACert, or an intermediate not signed by its
// root, is reported with devcert's sentinels (devcert.ErrMalformed,
// devcert.ErrTooLarge, devcert.ErrWrongTenant, devcert.ErrUntrusted), the
// same a trust bundle would give.
//
// Times and randomness come from the caller (CAConfig.Now, CAConfig.Rand);
// nothing reads a package-level clock.
package ca
