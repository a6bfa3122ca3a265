package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type mfaChallenge struct {
	MFARequired bool   `json:"mfa_required"`
	MFATicket   string `json:"mfa_ticket"`
	ExpiresIn   int    `json:"expires_in"`
}

type completeMFARequest struct {
	MFATicket    string `json:"mfa_ticket"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type confirmTOTPRequest struct {
	Code string `json:"code"`
}

type recoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// decodeBody reads and strictly decodes the request body into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return body, decodeStrict(body, v)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	var req loginRequest
	body, err := decodeBody(w, r, &req)
	if err != nil {
		return err
	}
	if err := required("username", req.Username); err != nil {
		return err
	}
	if err := required("password", req.Password); err != nil {
		return err
	}
	return s.staged(w, r, slug, body, func() (result, error) {
		res, err := s.cfg.Auth.Login(r.Context(), slug, req.Username, req.Password, s.meta(r))
		if err != nil {
			return result{}, err
		}
		if res.Tokens == nil {
			return result{status: http.StatusOK, body: mfaChallenge{MFARequired: true, MFATicket: res.MFATicket, ExpiresIn: res.ExpiresIn}}, nil
		}
		return result{status: http.StatusOK, body: res.Tokens}, nil
	})
}

func (s *Server) completeMFA(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	var req completeMFARequest
	body, err := decodeBody(w, r, &req)
	if err != nil {
		return err
	}
	if err := required("mfa_ticket", req.MFATicket); err != nil {
		return err
	}
	if (req.Code == "") == (req.RecoveryCode == "") {
		return &problem.Error{Code: problem.ValidationFailed, Field: "code", Detail: "send exactly one of code and recovery_code"}
	}
	return s.staged(w, r, slug, body, func() (result, error) {
		tok, err := s.cfg.Auth.CompleteMFA(r.Context(), slug, req.MFATicket, req.Code, req.RecoveryCode, s.meta(r))
		return result{status: http.StatusOK, body: tok}, err
	})
}

// self returns the signed-in account of the request; the bootstrap token
// is no account.
func self(r *http.Request) (auth.Principal, error) {
	c := callerOf(r)
	if c.bootstrap {
		return auth.Principal{}, problem.New(problem.AuthForbidden, "this call needs an account's access token, not the bootstrap token")
	}
	return c.principal, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	p, err := self(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, _ []byte) (result, error) {
		return result{status: http.StatusNoContent}, s.cfg.Auth.Logout(r.Context(), tx, p, s.meta(r))
	})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	p, err := self(r)
	if err != nil {
		return err
	}
	var req changePasswordRequest
	body, err := decodeBody(w, r, &req)
	if err != nil {
		return err
	}
	if err := required("current_password", req.CurrentPassword); err != nil {
		return err
	}
	if err := required("new_password", req.NewPassword); err != nil {
		return err
	}
	return s.staged(w, r, slug, body, func() (result, error) {
		err := s.cfg.Auth.ChangePassword(r.Context(), slug, p, req.CurrentPassword, req.NewPassword, s.meta(r))
		return result{status: http.StatusNoContent}, withField(err, "new_password")
	})
}

func (s *Server) enrollTOTP(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	p, err := self(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return s.staged(w, r, slug, body, func() (result, error) {
		e, err := s.cfg.Auth.EnrollTOTP(r.Context(), slug, p.Account, s.meta(r))
		return result{status: http.StatusCreated, body: e}, err
	})
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	p, err := self(r)
	if err != nil {
		return err
	}
	var req confirmTOTPRequest
	body, err := decodeBody(w, r, &req)
	if err != nil {
		return err
	}
	if err := required("code", req.Code); err != nil {
		return err
	}
	return s.staged(w, r, slug, body, func() (result, error) {
		codes, err := s.cfg.Auth.ConfirmTOTP(r.Context(), slug, p.Account, req.Code, s.meta(r))
		return result{status: http.StatusOK, body: recoveryCodes{RecoveryCodes: codes}}, err
	})
}
