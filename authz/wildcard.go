package authz

// Wildcards. A role permission ending in ".*" covers every permission that
// starts with what precedes the "*": "news.*" covers "news.publish" and
// "news.archive.read" (any depth), "iam.*" covers "iam.accounts.write". It
// is the rule core's SQL applies (core/store.HasPermission), so edge and
// core decide alike. A bare "*" is an ordinary name, not a wildcard.

// maxCandidates bounds the names one permission can match: itself and one
// wildcard per '.' in it.
const maxCandidates = MaxPermissionLength + 1

// candidates fills dst with the interned indexes of the names that grant
// permission: the permission itself and each wildcard "prefix.*" of it
// that some role has named. It does not allocate.
func (pt *permTable) candidates(permission string, dst *[maxCandidates]uint32) []uint32 {
	out := dst[:0]
	if p, ok := pt.ids[permission]; ok {
		out = append(out, p)
	}
	if !pt.wild || len(permission) > MaxPermissionLength {
		return out
	}
	var buf [MaxPermissionLength + 1]byte
	for i := 0; i < len(permission); i++ {
		if permission[i] != '.' {
			continue
		}
		b := append(buf[:0], permission[:i+1]...)
		b = append(b, '*')
		if p, ok := pt.ids[string(b)]; ok && string(b) != permission {
			out = append(out, p)
		}
	}
	return out
}

// isWildcard reports whether a role permission name is a wildcard.
func isWildcard(name string) bool {
	return len(name) >= 2 && name[len(name)-2:] == ".*"
}
