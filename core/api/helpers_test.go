package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/iam/test/coretest"
)

// jwksKeyfunc resolves kids against the tenant's published JWKS.
func jwksKeyfunc(t *testing.T, c *coretest.Instance) jwt.Keyfunc {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, Kty, Crv, X string }
	}
	c.Do(coretest.Request{Method: "GET", Path: "/t/acme/jwks.json", NoAuth: true}).Decode(t, &set)
	return func(tok *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tok.Header["kid"] && k.Kty == "OKP" && k.Crv == "Ed25519" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				return ed25519.PublicKey(x), err
			}
		}
		return nil, fmt.Errorf("unknown kid %v", tok.Header["kid"])
	}
}
