package client

import (
	"context"

	"github.com/melmastoon/iam/edge/wire"
)

type claimsKey struct{}

// ClaimsFrom returns the verified claims Require or Authenticate stored in
// the request's context, and false when there are none (the request did
// not pass through them, or went to the fallback before verification).
func ClaimsFrom(ctx context.Context) (wire.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(wire.Claims)
	return c, ok
}

func withClaims(ctx context.Context, c wire.Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}
