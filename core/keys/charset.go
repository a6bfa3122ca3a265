package keys

// isBase64URLText reports whether s holds only the base64url alphabet (and
// '.' if dots is true). encoding/base64 silently skips '\r' and '\n', so
// without this check two different strings would decode to one token.
func isBase64URLText(s string, dots bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || (dots && c == '.')
		if !ok {
			return false
		}
	}
	return true
}
