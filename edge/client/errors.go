package client

import (
	"errors"

	"github.com/melmastoon/iam/edge/wire"
)

// ErrResponseTooLarge is returned (wrapped) when the edge's response body
// exceeds MaxResponseBytes.
var ErrResponseTooLarge = errors.New("client: response body too large")

// Codes the middleware writes besides the edge's own (docs/error-codes.md).
// They are registered in internal/problem, which a service outside this
// module cannot import, hence the copies.
const (
	codeUnauthenticated    = "MELMASTOON.IAM.AUTH.UNAUTHENTICATED"
	codeForbidden          = "MELMASTOON.IAM.AUTH.FORBIDDEN"
	codeServiceUnavailable = "MELMASTOON.IAM.SERVICE.UNAVAILABLE"
	// tokenCodePrefix starts every token refusal (wire.CodeToken*).
	tokenCodePrefix = "MELMASTOON.IAM.TOKEN." //nolint:gosec // G101: a wire error code prefix, not a credential
)

// problemTypeBase prefixes a code to form a problem's "type" URI.
const problemTypeBase = "https://melmastoon.dev/iam/problems/"

// titles are the registered titles of the codes the middleware writes.
var titles = map[string]string{
	codeUnauthenticated:       "Authentication required",
	codeForbidden:             "Not allowed",
	codeServiceUnavailable:    "Service temporarily unavailable",
	wire.CodeValidationFailed: "Validation failed",
}
