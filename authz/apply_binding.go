package authz

import "slices"

func (c UpsertBinding) apply(tx *txn) error {
	if !validID(c.Binding) || !validID(c.Account) || !validID(c.Role) || !validID(c.Org) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	t.removeBinding(c.Binding)
	ref := bindingRef{org: t.orgSlot(c.Org), role: t.roleSlot(c.Role), id: c.Binding}
	t.bindings.set(c.Binding, bindingRec{account: c.Account})
	n, _ := t.accounts.get(c.Account)
	n.bindings = append(make([]bindingRef, 0, len(n.bindings)+1), n.bindings...) // exact size: kept for long
	n.bindings = append(n.bindings, ref)
	t.setAccount(c.Account, n)
	return nil
}

func (c DeleteBinding) apply(tx *txn) error {
	if !validID(c.Binding) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	t.removeBinding(c.Binding)
	return nil
}

// removeBinding deletes a binding from the id index and from its account,
// copying the account's binding list. It does nothing for an unknown id.
func (t *tenantTxn) removeBinding(id BindingID) {
	rec, ok := t.bindings.get(id)
	if !ok {
		return
	}
	t.bindings.del(id)
	n, _ := t.accounts.get(rec.account)
	n.bindings = slices.DeleteFunc(slices.Clone(n.bindings), func(b bindingRef) bool { return b.id == id })
	t.setAccount(rec.account, n)
}
