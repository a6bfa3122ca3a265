// Package authz is the authorization decision engine of the IAM system: it
// answers "may this account use this permission in this organization?" from
// an in-memory model of tenants, organization trees, accounts, roles and role
// bindings. The edge feeds it from its SQLite replica as signed deltas arrive;
// core uses it for the same decisions. It owns only the decision model: it
// does no I/O, starts no goroutine, keeps no clock and knows nothing of
// sessions (session revocation is the caller's job).
//
// # Model
//
// Organizations form a tree per tenant, of any depth. A RoleBinding ties an
// account to a role on one organization and applies to that organization and
// every descendant. The permissions of an account in an organization are the
// union, over its bindings on that organization and each of its ancestors, of
// the bound role's permissions. Nothing is inherited upward or sideways, and
// nothing crosses tenants: identifiers are scoped to their tenant, so equal
// organization ids in two tenants are unrelated.
//
// # Guarantees
//
//   - Deny by default. An unknown or deleted tenant, an unknown or deleted
//     account, a locked or disabled account, an unknown or deleted
//     organization and a permission that no role has ever named are all denied
//     with a distinct Reason; so is an absent grant.
//   - Atomic batches. Engine.Apply validates and applies a batch of changes
//     on a private copy and publishes it as one immutable Snapshot with a
//     Version one higher than the last. A reader sees either none or all of a
//     batch; a batch with an invalid change is rejected whole and changes
//     nothing.
//   - Lock-free reads. Readers load the current Snapshot through an
//     atomic.Pointer and never block, never wait for a writer and never see a
//     value change under them. Writers are serialized by a mutex.
//   - Incremental writes. A batch copies only the parts it touches: maps are
//     two-level hash tries (4,096 leaves, each a slice sorted by hash) and
//     arrays are chunked, so a single binding change on 100,000 accounts and
//     1,000,000 bindings copies about 20 KB instead of the model.
//   - Allocation-free checks. Snapshot.Check and Snapshot.CheckBatch (with a
//     large enough destination) do not allocate. There is no decision cache:
//     a Check is four hash lookups and a walk up the tree, and a cache keyed
//     by the same four strings would cost about as much as it saves.
//   - Results are read-only. Grants returned by Explain and
//     EffectivePermissions may share Path slices; do not modify them.
//
// Changes must be passed as values (UpsertOrg{...}); a nil pointer to a
// change type passed as a Change is a programming error and panics.
//
// # Referential rules
//
// Changes are applied in order inside a batch, and each is validated against
// the state left by the ones before it:
//
//   - Every change but UpsertTenant and DeleteTenant needs a live tenant
//     (ErrUnknownTenant). Deleting a tenant drops all its data and leaves a
//     tombstone; upserting it again starts it empty.
//   - An organization's parent must be live (ErrUnknownParent). Upserting a
//     live organization with another parent moves it with its whole subtree;
//     moving it under itself or a descendant fails with ErrOrgCycle. Deleting
//     an organization that still has live children fails with
//     ErrOrgHasChildren, so every live organization has a live ancestor chain.
//   - A binding that names an unknown (or deleted) account, role or
//     organization is STORED BUT INERT: it is accepted, grants nothing while
//     a referent is missing, and takes effect if the referent is (re)created
//     with the same id. Core is expected to send binding tombstones when it
//     deletes an account, role or organization, and never to reuse ids.
//   - Deletes of absent entities are no-ops, so replaying a delete is safe.
//
// Identifiers are opaque strings of 1 to MaxIDLength bytes; permission names
// are 1 to MaxPermissionLength bytes, and at most MaxPermissions distinct
// names are interned per Engine.
package authz
