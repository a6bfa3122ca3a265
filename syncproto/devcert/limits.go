package devcert

// Input caps, checked before anything is parsed, and the trust bundle
// encoding version.
const (
	// MaxCertBytes caps one DER certificate (the tenant CA's are about 400
	// bytes).
	MaxCertBytes = 8 << 10
	// MaxChainCerts caps a presented chain: leaf plus intermediates.
	MaxChainCerts = 4
	// MaxBundleBytes caps an encoded trust bundle, checked before decoding.
	MaxBundleBytes = 64 << 10
	// MaxBundleCerts caps the roots plus intermediates of a bundle.
	MaxBundleCerts = 16
	// BundleVersion is the only "version" ParseTrustBundle accepts.
	BundleVersion = 1
)
