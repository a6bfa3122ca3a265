package wire

// Registered codes the decision API returns (docs/error-codes.md).
const (
	CodeTokenMalformed      = "MELMASTOON.IAM.TOKEN.MALFORMED"
	CodeTokenBadSignature   = "MELMASTOON.IAM.TOKEN.BAD_SIGNATURE"
	CodeTokenExpired        = "MELMASTOON.IAM.TOKEN.EXPIRED"
	CodeTokenNotYetValid    = "MELMASTOON.IAM.TOKEN.NOT_YET_VALID"
	CodeTokenUnknownKey     = "MELMASTOON.IAM.TOKEN.UNKNOWN_KEY"
	CodeTokenWrongIssuer    = "MELMASTOON.IAM.TOKEN.WRONG_ISSUER"
	CodeTokenWrongAudience  = "MELMASTOON.IAM.TOKEN.WRONG_AUDIENCE"
	CodeTokenSessionRevoked = "MELMASTOON.IAM.TOKEN.SESSION_REVOKED"
	CodeTokenAccountRefused = "MELMASTOON.IAM.TOKEN.ACCOUNT_INACTIVE"
	CodeTokenUnknownTenant  = "MELMASTOON.IAM.TOKEN.UNKNOWN_TENANT"
	CodeEdgeStale           = "MELMASTOON.IAM.EDGE.STALE"
	CodeValidationFailed    = "MELMASTOON.IAM.VALIDATION.FAILED"
	CodeBatchTooLarge       = "MELMASTOON.IAM.CHECK.BATCH_TOO_LARGE"
	// CodeToken prefixes every token refusal code.
	CodeToken = "MELMASTOON.IAM.TOKEN."
)

// Problem is an error of the decision API: an RFC 9457 problem with a
// registered code. The edge writes it as application/problem+json;
// edge/client decodes it back.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Code + ": " + p.Detail
	}
	return p.Code
}
