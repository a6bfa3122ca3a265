// Package problem writes RFC 9457 problem details (application/problem+json)
// with a registered MELMASTOON.IAM.* code and the request's trace id.
//
// The registry in codes.go is the one list of wire codes; docs/error-codes.md
// documents each, and a test fails when either lacks a code the other has or
// the source uses.
package problem
