package api

import (
	"errors"
	"math"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/internal/problem"
)

var authCodes = []struct {
	err  error
	code problem.Code
}{
	{auth.ErrInvalidCredentials, problem.AuthInvalidCreds},
	{auth.ErrMFAInvalid, problem.AuthMFAInvalid},
	{auth.ErrTicketInvalid, problem.AuthMFATicketInvalid},
	{auth.ErrMFANotEnrolled, problem.AuthMFANotEnrolled},
	{auth.ErrMFAAlreadyEnrolled, problem.AuthMFAEnrolled},
	{auth.ErrWrongPassword, problem.AuthWrongPassword},
	{auth.ErrTokenInvalid, problem.AuthUnauthenticated},
}

// authProblem maps sign-in errors; nil when err is not one.
func authProblem(err error) *problem.Error {
	if errors.Is(err, auth.ErrInvalidGrant) {
		return errInvalidGrant
	}
	var re *auth.RetryError
	if errors.As(err, &re) {
		code := problem.AuthHashingOverloaded
		if errors.Is(re, auth.ErrThrottled) {
			code = problem.AuthThrottled
		}
		return &problem.Error{Code: code, RetryAfter: max(1, int(math.Ceil(re.RetryAfter.Seconds()))), Err: err}
	}
	var pe *auth.PolicyError
	if errors.As(err, &pe) {
		return &problem.Error{Code: problem.AuthPasswordPolicy, Field: "password", Detail: policyDetail(pe.Err), Err: err}
	}
	for _, m := range authCodes {
		if errors.Is(err, m.err) {
			return &problem.Error{Code: m.code, Err: err}
		}
	}
	return nil
}

func policyDetail(err error) string {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return "the password must be at least 12 characters"
	case errors.Is(err, password.ErrTooLong):
		return "the password is too long"
	case errors.Is(err, password.ErrCommon):
		return "the password is too common"
	}
	return "the password is not acceptable"
}

// withField names the request field of a password policy failure.
func withField(err error, field string) error {
	if pe := authProblem(err); pe != nil && pe.Code == problem.AuthPasswordPolicy {
		pe.Field = field
		return pe
	}
	return err
}
