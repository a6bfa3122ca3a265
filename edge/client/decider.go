package client

import (
	"context"

	"github.com/melmastoon/iam/edge/wire"
)

// Decider answers the edge's decision API. *HTTP implements it over the
// network; *edgeapi.Service implements it in process, for a service that
// embeds the replica. Errors of the decision API are *wire.Problem.
type Decider interface {
	// Verify verifies an access token and returns its claims and its
	// account's feature flags.
	Verify(ctx context.Context, req wire.VerifyRequest) (*wire.VerifyResponse, error)
	// Check decides one permission question; a denial is not an error.
	Check(ctx context.Context, req wire.CheckRequest) (*wire.CheckResponse, error)
	// CheckBatch decides up to wire.MaxBatch questions in one call.
	CheckBatch(ctx context.Context, req wire.BatchRequest) (*wire.BatchResponse, error)
	// Permissions lists an account's effective permissions in an
	// organization.
	Permissions(ctx context.Context, req wire.PermissionsRequest) (*wire.PermissionsResponse, error)
	// Flags evaluates every feature flag for an account.
	Flags(ctx context.Context, req wire.FlagsRequest) (*wire.FlagsResponse, error)
}

// The HTTP client is a Decider; so is *edgeapi.Service, the in-process
// mode (asserted in example_test.go, since importing edgeapi here would
// link the decision engine into every client).
var _ Decider = (*HTTP)(nil)
