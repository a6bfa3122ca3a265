package edgeapi

import (
	"errors"

	"github.com/melmastoon/iam/edge/decide"
	"github.com/melmastoon/iam/internal/problem"
)

// tokenCodes maps decide's refusal labels to problem codes.
var tokenCodes = map[string]problem.Code{
	"malformed":        problem.TokenMalformed,
	"bad_signature":    problem.TokenBadSignature,
	"expired":          problem.TokenExpired,
	"not_yet_valid":    problem.TokenNotYetValid,
	"unknown_key":      problem.TokenUnknownKey,
	"wrong_issuer":     problem.TokenWrongIssuer,
	"wrong_audience":   problem.TokenWrongAudience,
	"revoked_session":  problem.TokenSessionRevoked,
	"account_inactive": problem.TokenAccountInactive,
	"unknown_tenant":   problem.TokenUnknownTenant,
}

// tokenProblem turns a token refusal of decide into a Problem. The detail
// names the reason but never echoes the token.
func tokenProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	code, ok := tokenCodes[decide.Reason(err)]
	if !ok {
		code = problem.TokenMalformed
	}
	spec, _ := problem.Lookup(code)
	return newProblem(code, "token", spec.Title)
}
