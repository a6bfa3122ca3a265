package edgeapi

import "github.com/melmastoon/iam/edge/wire"

// The wire types live in edge/wire (no dependencies, for clients); these
// aliases keep the Service's signatures readable.
type (
	VerifyRequest       = wire.VerifyRequest
	VerifyResponse      = wire.VerifyResponse
	Claims              = wire.Claims
	CheckRequest        = wire.CheckRequest
	CheckResponse       = wire.CheckResponse
	BatchRequest        = wire.BatchRequest
	BatchResponse       = wire.BatchResponse
	PermissionsRequest  = wire.PermissionsRequest
	PermissionsResponse = wire.PermissionsResponse
	Permission          = wire.Permission
	Grant               = wire.Grant
	FlagsRequest        = wire.FlagsRequest
	FlagsResponse       = wire.FlagsResponse
	Problem             = wire.Problem
)

// Limits and flag names, see edge/wire.
const (
	MaxBatch              = wire.MaxBatch
	MaxBodyBytes          = wire.MaxBodyBytes
	MaxFieldBytes         = wire.MaxFieldBytes
	FlagAuthentication    = wire.FlagAuthentication
	FlagAuthorization     = wire.FlagAuthorization
	FlagPermissionCaching = wire.FlagPermissionCaching
)

// FlagNames lists the known flags.
var FlagNames = wire.FlagNames
