package replica

import (
	"errors"
	"fmt"

	"github.com/melmastoon/iam/syncproto"
)

// Sentinel errors of this package. Rejections of a message are returned as
// a *RejectError that wraps one of these or a syncproto sentinel.
var (
	// ErrAnchor: the first message of an unknown tenant carries no anchor
	// certificate, or one that does not verify against the system root or
	// names another tenant. Metric reason "anchor".
	ErrAnchor = errors.New("replica: missing or invalid anchor certificate")
	// ErrUnknownType: the delta's type is not in the payload table of
	// docs/deltas.md (a checkpoint sent as a delta is one). Reason
	// "unknown_type".
	ErrUnknownType = errors.New("replica: unknown delta type")
	// ErrPayload: the delta's data does not have the fields its type needs.
	// Reason "payload".
	ErrPayload = errors.New("replica: invalid payload")
	// ErrHeader: the Iam-Tenant header is missing, or a header disagrees
	// with the signed envelope. Reason "header".
	ErrHeader = errors.New("replica: missing or inconsistent header")
	// ErrUnknownTenant: a checkpoint or digest names a tenant the replica
	// does not follow.
	ErrUnknownTenant = errors.New("replica: unknown tenant")
	// ErrClosed: the replica was closed.
	ErrClosed = errors.New("replica: closed")
	// ErrGap is syncproto.ErrGap: the tenant sequence is beyond the next
	// expected one; fetch the missing range (or a snapshot) and retry.
	ErrGap = syncproto.ErrGap
)

var ownReasons = []struct {
	err   error
	label string
}{
	{ErrAnchor, "anchor"},
	{ErrUnknownType, "unknown_type"},
	{ErrPayload, "payload"},
	{ErrHeader, "header"},
	{ErrUnknownTenant, "unknown_tenant"},
}

// Reason maps an error to the fixed label used in delta_rejected_total:
// this package's labels first, then syncproto.Reason's.
func Reason(err error) string {
	for _, r := range ownReasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return syncproto.Reason(err)
}

// RejectError is a message the replica refused; nothing was changed.
// Err wraps the sentinel (this package's or syncproto's) that says why.
type RejectError struct {
	Reason    string // metric label, see Reason
	Tenant    string // from the Iam-Tenant header, may be empty
	StreamSeq uint64 // 0 for snapshots and checkpoints
	Err       error
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("replica: message rejected (%s): %v", e.Reason, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

func reject(tenant string, streamSeq uint64, err error) *RejectError {
	return &RejectError{Reason: Reason(err), Tenant: tenant, StreamSeq: streamSeq, Err: err}
}
