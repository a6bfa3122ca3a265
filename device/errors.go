package device

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error of this package that a caller may act on
// wraps one of them; check with errors.Is.
var (
	// ErrCertificateExpired: the device certificate expired by the
	// device's own check: the trusted time (max of the local clock and
	// the newest core-signed time) is past NotAfter plus the clock skew.
	// An edge's close code devproto.CloseCertExpired counts only when
	// this check agrees (else it is retried like other refusals); core's
	// "expired" answer never does. The device must enroll again.
	ErrCertificateExpired = errors.New("device: certificate expired, enroll again")
	// ErrRevoked: the device holds a signed Device delta or snapshot with
	// status "revoked" (it verified and persisted it). Unsigned signals
	// (close code devproto.CloseRevoked, a "revoked" answer) never set
	// the status: they are retried, or refused with ErrRefused.
	ErrRevoked = errors.New("device: device revoked")
	// ErrNotConnected: Renew or Token was called while no sync connection
	// is ready.
	ErrNotConnected = errors.New("device: not connected to an edge")
	// ErrUnavailable: the edge could not reach core for a renewal or a
	// token; the current certificate stays in use.
	ErrUnavailable = errors.New("device: core unavailable, retry later")
	// ErrRefused: the edge or core refused a request (a RequestError
	// carries the code, "revoked" and "expired" included: they are hints,
	// not facts), or the edge closed the connection with
	// devproto.CloseRevoked or devproto.CloseCertExpired that the
	// device's signed state or own expiry check does not confirm.
	ErrRefused = errors.New("device: request refused")
	// ErrTooEarly: core declined a renewal because the certificate is not
	// past a third of its life yet; the current certificate stays, and a
	// syncing client asks again at its next check.
	ErrTooEarly = errors.New("device: renewal too early, the current certificate stays")
	// ErrNotEnrolled: the state directory holds no enrollment.
	ErrNotEnrolled = errors.New("device: not enrolled")
	// ErrAlreadyEnrolled: Enroll would overwrite an existing enrollment
	// (set EnrollConfig.Replace to do so).
	ErrAlreadyEnrolled = errors.New("device: state directory already holds an enrollment")
	// ErrMFARequired: the account needs a second factor to sign in, which
	// enrollment through this library does not support.
	ErrMFARequired = errors.New("device: the account requires multi-factor sign-in, not supported for enrollment")
	// ErrUntrustedResponse: core's enrollment, renewal or token answer
	// did not verify (chain, trust bundle, anchor, device or key
	// mismatch; a renewed certificate that does not expire later than
	// the current one; a sealed token that does not open).
	ErrUntrustedResponse = errors.New("device: untrusted response")
	// ErrRejectedDelta wraps the reason a Delta frame was rejected
	// (tampered, unknown key, other device or tenant, rollback).
	ErrRejectedDelta = errors.New("device: delta rejected")
	// ErrRollback: a device delta older than the version held.
	ErrRollback = errors.New("device: delta version rollback")
	// ErrProtocol: the edge sent a frame the protocol does not allow here.
	ErrProtocol = errors.New("device: protocol violation")
	// ErrSyncRunning: Sync was called while another Sync of the same
	// Client runs.
	ErrSyncRunning = errors.New("device: sync already running")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("device: client closed")
)

// APIError is an application/problem+json answer of core's REST API.
type APIError struct {
	Status int    // HTTP status
	Code   string // MELMASTOON.IAM.* code, empty if the body had none
	Detail string // problem detail or title
}

func (e *APIError) Error() string {
	return fmt.Sprintf("device: core answered %d %s: %s", e.Status, e.Code, e.Detail)
}

// RequestError is an Error code of a RenewResponse or TokenResponse
// (devproto.ErrCode*). It wraps ErrUnavailable ("unavailable"),
// ErrTooEarly ("too_early") or ErrRefused (any other code: "revoked" and
// "expired" too, which are unsigned and never change the device's state).
type RequestError struct {
	Code string
}

func (e *RequestError) Error() string { return "device: edge answered " + e.Code }

// Unwrap maps the code to a sentinel.
func (e *RequestError) Unwrap() error { return codeError(e.Code) }
