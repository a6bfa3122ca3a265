package authz

func (c UpsertAccount) apply(tx *txn) error {
	if !validID(c.Account) {
		return ErrInvalidID
	}
	if !c.Status.valid() {
		return ErrInvalidStatus
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	old, _ := t.accounts.get(c.Account)
	t.setAccount(c.Account, accountNode{status: c.Status, alive: true, bindings: old.bindings})
	return nil
}

func (c DeleteAccount) apply(tx *txn) error {
	if !validID(c.Account) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	if old, ok := t.accounts.get(c.Account); ok {
		t.setAccount(c.Account, accountNode{bindings: old.bindings})
	}
	return nil
}

// setAccount stores n, or drops the entry when n is dead and bindingless.
func (t *tenantTxn) setAccount(id AccountID, n accountNode) {
	if !n.alive && len(n.bindings) == 0 {
		t.accounts.del(id)
		return
	}
	t.accounts.set(id, n)
}
