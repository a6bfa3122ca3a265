// Package devices is core's side of device enrollment (docs/devices.md):
// each tenant's device certificate authority (created with the tenant,
// published as a tenant_ca.published delta, rotated on demand), the
// enrollment of a signed-in account's device with a proof of possession
// over a single-use server nonce, and the NATS responders through which
// edges forward a device's renewal, access-token and Device-snapshot
// requests (syncproto/devproto). Certificates follow syncproto/devcert
// (RFC 5280 profile, Ed25519 per RFC 8410); issuance is core/ca.
//
// Every mutation (enrollment, renewal, revocation, CA publication) writes
// one audit row and one outbox row in the same transaction (core/store).
// Core verifies the device's own signature for every request an edge
// forwards, so an edge cannot renew or obtain tokens for a device that did
// not ask. Refusals answer one devproto.ErrCode* outward; the precise
// reason goes to the log and to devices_requests_total{op,result}.
package devices
