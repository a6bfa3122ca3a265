package devproto

// NATS subjects on which core answers an edge on behalf of a device
// (request/reply, JSON bodies, queue group "iam-core-devices"). The edge
// has verified the device's connection; core verifies the device's
// signature itself, so an edge cannot renew or obtain tokens for a device
// that did not ask.
const (
	RenewSubject    = "iam.device.renew"
	TokenSubject    = "iam.device.token"
	SnapshotSubject = "iam.device.snapshot"
	CoreQueue       = "iam-core-devices"
)

// SignedRequest is the body of a renew or token request: the device's
// fresh nonce (RequestNonceBytes for a renewal, TokenNonceBytes with the
// ephemeral X25519 key for a token) and its signature over
// devcert.RenewalMessage or devcert.TokenRequestMessage. Byte fields are
// base64 (standard) in JSON.
type SignedRequest struct {
	Tenant    string `json:"tenant"`
	Device    string `json:"device"`
	Nonce     []byte `json:"nonce"`
	Signature []byte `json:"signature"`
}

// RenewReply answers a renewal: the new chain (leaf first, DER) and its
// NotAfter (unix seconds, informative: an edge takes the NotAfter of the
// leaf after verifying the chain), or Error (an ErrCode*).
type RenewReply struct {
	Chain    [][]byte `json:"chain,omitempty"`
	NotAfter int64    `json:"not_after,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// TokenReply answers a token request: an access token of the device's
// account (amr ["device"]) sealed to the ephemeral key of the request's
// nonce (SealToken; base64 in JSON), never in clear, or Error. Edges and
// other NATS subscribers see only the sealed bytes.
type TokenReply struct {
	SealedToken []byte `json:"sealed_token,omitempty"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
	Error       string `json:"error,omitempty"`
}

// SnapshotRequest asks core for a signed snapshot of one Device entity.
type SnapshotRequest struct {
	Tenant string `json:"tenant"`
	Device string `json:"device"`
}

// SnapshotReply carries the signed snapshot (a COSE_Sign1 delta of type
// DeviceSnapshotType, signed with the tenant's delta key) or Error.
type SnapshotReply struct {
	Delta []byte `json:"delta,omitempty"`
	Error string `json:"error,omitempty"`
}

// Delta types of the Device entity. Every one carries the complete entity
// (DevicePayload), so the newest is also a snapshot of it.
const (
	DeviceEnrolledType = "melmastoon.iam.device.enrolled.v1"
	DeviceRenewedType  = "melmastoon.iam.device.renewed.v1"
	DeviceRevokedType  = "melmastoon.iam.device.revoked.v1"
	DeviceSnapshotType = "melmastoon.iam.device.snapshot.v1" // only from SnapshotSubject, never in the stream
	TenantCAType       = "melmastoon.iam.tenant_ca.published.v1"
)

// DevicePayload is the data of every device.* delta (JSON at core's
// outbox, canonical CBOR with text keys in the signed envelope).
// NotAfter is RFC 3339 UTC with seconds.
type DevicePayload struct {
	ID         string `json:"id" cbor:"id"`
	AccountID  string `json:"account_id" cbor:"account_id"`
	Name       string `json:"name" cbor:"name"`
	Platform   string `json:"platform" cbor:"platform"`
	Status     string `json:"status" cbor:"status"` // active | revoked
	CertSerial string `json:"cert_serial" cbor:"cert_serial"`
	NotAfter   string `json:"not_after" cbor:"not_after"`
	Version    int64  `json:"version" cbor:"version"`
}

// TenantCAPayload is the data of a tenant_ca.published delta: the
// tenant's CA certificates (DER, base64 standard encoding in JSON and as
// text in CBOR) that edges and devices trust for device certificates.
// Roots and Intermediates are parallel, one entry per active generation,
// oldest first; Generation is the newest (docs/deltas.md).
type TenantCAPayload struct {
	Generation    int64    `json:"generation" cbor:"generation"`
	Roots         []string `json:"roots" cbor:"roots"`
	Intermediates []string `json:"intermediates" cbor:"intermediates"`
}
