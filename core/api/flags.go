package api

import (
	"net/http"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/problem"
)

// flag is a feature flag as the API shows it (docs/feature-flags.md).
type flag struct {
	Name           string `json:"name"`
	Enabled        bool   `json:"enabled"`
	RolloutPercent int    `json:"rollout_percent"`
	// Version is 0 while the flag has its default rule.
	Version int64 `json:"version"`
	// Source is "default" (never set: on for everyone) or "set".
	Source string `json:"source"`
}

func flagOf(f store.Flag) flag {
	src := "default"
	if f.IsSet() {
		src = "set"
	}
	return flag{Name: f.Name, Enabled: f.Enabled, RolloutPercent: f.RolloutPercent, Version: f.Version, Source: src}
}

// setFlagRequest is the body of PUT …/flags/{name}; both fields are
// required (pointers tell a missing field from false or 0).
type setFlagRequest struct {
	Enabled        *bool `json:"enabled"`
	RolloutPercent *int  `json:"rollout_percent"`
}

// flagName reads the {name} path value; an unknown name is FlagUnknown.
func flagName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !store.ValidFlag(name) {
		return "", &problem.Error{Code: problem.FlagUnknown, Field: "name",
			Detail: "known flags: iam_authentication_enabled, iam_authorization_enabled, iam_permission_caching_enabled"}
	}
	return name, nil
}

// flagIfMatch parses If-Match for a flag, whose unset state has version 0:
// nil means unconditional, `"0"` means "only while the flag is unset".
func flagIfMatch(r *http.Request) (*int64, error) {
	if r.Header.Get("If-Match") == `"0"` {
		v := int64(0)
		return &v, nil
	}
	v, err := ifMatch(r)
	if err != nil || v == 0 {
		return nil, err
	}
	return &v, nil
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) error {
	var rows []store.Flag
	if err := s.read(r, permFlagRead, nil, func(tx *store.Tx) (err error) { rows, err = tx.ListFlags(r.Context()); return err }); err != nil {
		return err
	}
	set := make(map[string]store.Flag, len(rows))
	for _, f := range rows {
		set[f.Name] = f
	}
	items := make([]flag, 0, len(store.FlagNames))
	for _, name := range store.FlagNames {
		f, ok := set[name]
		if !ok {
			f = store.DefaultFlag(name)
		}
		items = append(items, flagOf(f))
	}
	return writeJSON(w, http.StatusOK, page[flag]{Items: items})
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) error {
	name, err := flagName(r)
	if err != nil {
		return err
	}
	var f store.Flag
	if err := s.read(r, permFlagRead, nil, func(tx *store.Tx) (err error) { f, err = tx.GetFlag(r.Context(), name); return err }); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(f.Version))
	return writeJSON(w, http.StatusOK, flagOf(f))
}

func (s *Server) setFlag(w http.ResponseWriter, r *http.Request) error {
	slug, err := slugParam(r)
	if err != nil {
		return err
	}
	name, err := flagName(r)
	if err != nil {
		return err
	}
	match, err := flagIfMatch(r)
	if err != nil {
		return err
	}
	return s.mutate(w, r, slug, func(tx *store.Tx, body []byte) (result, error) {
		var req setFlagRequest
		if err := decodeStrict(body, &req); err != nil {
			return result{}, err
		}
		switch {
		case req.Enabled == nil:
			return result{}, &problem.Error{Code: problem.ValidationFailed, Field: "enabled", Detail: "enabled is required"}
		case req.RolloutPercent == nil:
			return result{}, &problem.Error{Code: problem.ValidationFailed, Field: "rollout_percent", Detail: "rollout_percent is required"}
		case *req.RolloutPercent < 0 || *req.RolloutPercent > 100:
			return result{}, &problem.Error{Code: problem.ValidationFailed, Field: "rollout_percent", Detail: "rollout_percent must be an integer from 0 to 100"}
		}
		if err := s.allow(r, tx, permFlagWrite, nil); err != nil {
			return result{}, err
		}
		f, err := tx.SetFlag(r.Context(), s.actor(r), name, *req.Enabled, *req.RolloutPercent, match)
		return result{status: http.StatusOK, body: flagOf(f), etag: etag(f.Version)}, err
	})
}
