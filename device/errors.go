package device

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error of this package that a caller may act on
// wraps one of them; check with errors.Is.
var (
	// ErrCertificateExpired: the device certificate expired (the edge
	// closed with devproto.CloseCertExpired, core answered "expired", or
	// the trusted time is past NotAfter plus the clock skew). The device
	// must enroll again.
	ErrCertificateExpired = errors.New("device: certificate expired, enroll again")
	// ErrRevoked: the device was revoked. The local status is set to
	// "revoked"; Sync refuses to run.
	ErrRevoked = errors.New("device: device revoked")
	// ErrNotConnected: Renew or Token was called while no sync connection
	// is ready.
	ErrNotConnected = errors.New("device: not connected to an edge")
	// ErrUnavailable: the edge could not reach core for a renewal or a
	// token; the current certificate stays in use.
	ErrUnavailable = errors.New("device: core unavailable, retry later")
	// ErrRefused: the edge or core refused a request for another reason
	// (a RequestError carries the code).
	ErrRefused = errors.New("device: request refused")
	// ErrNotEnrolled: the state directory holds no enrollment.
	ErrNotEnrolled = errors.New("device: not enrolled")
	// ErrAlreadyEnrolled: Enroll would overwrite an existing enrollment
	// (set EnrollConfig.Replace to do so).
	ErrAlreadyEnrolled = errors.New("device: state directory already holds an enrollment")
	// ErrMFARequired: the account needs a second factor to sign in, which
	// enrollment through this library does not support.
	ErrMFARequired = errors.New("device: the account requires multi-factor sign-in, not supported for enrollment")
	// ErrUntrustedResponse: core's enrollment or renewal answer did not
	// verify (chain, trust bundle, anchor, device or key mismatch).
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
// (devproto.ErrCode*). It wraps ErrUnavailable, ErrCertificateExpired,
// ErrRevoked or ErrRefused, according to the code.
type RequestError struct {
	Code string
}

func (e *RequestError) Error() string { return "device: edge answered " + e.Code }

// Unwrap maps the code to a sentinel.
func (e *RequestError) Unwrap() error { return codeError(e.Code) }
