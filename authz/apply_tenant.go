package authz

func (c UpsertTenant) apply(tx *txn) error {
	if !validID(c.Tenant) {
		return ErrInvalidID
	}
	if t, ok := tx.lookupTenant(c.Tenant); ok && !t.deleted {
		return nil
	}
	tx.resetTenant(c.Tenant, false)
	return nil
}

func (c DeleteTenant) apply(tx *txn) error {
	if !validID(c.Tenant) {
		return ErrInvalidID
	}
	tx.resetTenant(c.Tenant, true)
	return nil
}

// validID reports whether an identifier is 1 to MaxIDLength bytes long.
func validID[S ~string](id S) bool {
	return len(id) > 0 && len(id) <= MaxIDLength
}
