package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/internal/problem"
)

// handlerFunc is an HTTP handler that returns its error instead of writing it.
type handlerFunc func(http.ResponseWriter, *http.Request) error

func (s *Server) adapt(h handlerFunc) http.Handler {
	return s.adaptMiddleware(h)
}

func (s *Server) adaptMiddleware(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError maps err to a problem and writes it; 5xx are logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	pe := toProblem(err)
	spec, _ := problem.Lookup(pe.Code)
	if spec.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "code", string(pe.Code), "error", err)
		if pe.Code == problem.ServiceUnavailable {
			pe.RetryAfter = 1
		}
	} else {
		s.log.InfoContext(r.Context(), "request rejected", "route", r.Pattern, "code", string(pe.Code), "detail", pe.Detail)
	}
	problem.Write(w, r, pe, obs.TraceID(r.Context()))
}

func toProblem(err error) *problem.Error {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe
	}
	if pe := authProblem(err); pe != nil {
		return pe
	}
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return &problem.Error{Code: problem.ValidationFailed, Detail: fe.Reason, Field: fe.Field, Err: err}
	}
	code := storeCode(err)
	pe = &problem.Error{Code: code, Detail: detailFor(code, err), Err: err}
	var dup *store.DuplicateError
	if errors.As(err, &dup) && dup.Field != "binding" {
		pe.Field = dup.Field
	}
	return pe
}

// storeCode maps store sentinels to wire codes, most specific first.
func storeCode(err error) problem.Code {
	var dup *store.DuplicateError
	if errors.As(err, &dup) {
		if code, ok := duplicateCodes[dup.Resource]; ok {
			return code
		}
	}
	for _, m := range storeCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return problem.ServiceInternal
}

var duplicateCodes = map[string]problem.Code{
	"tenant":       problem.TenantSlugTaken,
	"account":      problem.AccountUsernameTaken,
	"organization": problem.OrgNameTaken,
	"role":         problem.RoleNameTaken,
	"role_binding": problem.BindingDuplicate,
	"device":       problem.DeviceKeyInUse,
}

var storeCodes = []struct {
	err  error
	code problem.Code
}{
	{store.ErrTenantNotFound, problem.TenantNotFound},
	{store.ErrOrganizationNotFound, problem.OrgNotFound},
	{store.ErrParentNotFound, problem.OrgParentNotFound},
	{store.ErrAccountNotFound, problem.AccountNotFound},
	{store.ErrRoleNotFound, problem.RoleNotFound},
	{store.ErrBindingNotFound, problem.BindingNotFound},
	{store.ErrBindingAccount, problem.BindingAccount},
	{store.ErrBindingRole, problem.BindingRole},
	{store.ErrBindingOrganization, problem.BindingOrganization},
	{store.ErrCycle, problem.OrgCycle},
	{store.ErrVersionMismatch, problem.PreconditionFailed},
	{store.ErrIdempotencyReuse, problem.IdempotencyKeyReused},
	{store.ErrInvalidID, problem.ValidationInvalidID},
	{store.ErrSessionNotFound, problem.SessionNotFound},
	{store.ErrFlagUnknown, problem.FlagUnknown},
	{store.ErrDeviceNotFound, problem.DeviceNotFound},
	{store.ErrNonceUnknown, problem.DeviceNonceInvalid},
	{store.ErrNonceUsed, problem.DeviceNonceUsed},
	{store.ErrNonceExpired, problem.DeviceNonceExpired},
	{store.ErrUnavailable, problem.ServiceUnavailable},
}

func detailFor(code problem.Code, err error) string {
	switch code {
	case problem.ServiceInternal, problem.ServiceUnavailable:
		return "" // never leak internals
	}
	var dup *store.DuplicateError
	if errors.As(err, &dup) {
		return dup.Resource + " " + dup.Field + " already exists"
	}
	return ""
}

// writeJSON writes v as an uncacheable JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeBody(w, status, v)
}

// writeJSONCached writes v as JSON with the Cache-Control already set.
func writeJSONCached(w http.ResponseWriter, v any) error { return writeBody(w, http.StatusOK, v) }

func writeBody(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// etag renders a resource version as a strong ETag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch parses If-Match; 0 means absent (unconditional update).
func ifMatch(r *http.Request) (int64, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return 0, nil
	}
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, problem.New(problem.PreconditionInvalid, `If-Match must be one strong ETag such as "3"`)
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || v < 1 {
		return 0, problem.New(problem.PreconditionInvalid, `If-Match must be one strong ETag such as "3"`)
	}
	return v, nil
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("api: panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
