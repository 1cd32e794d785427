package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

const (
	lease = time.Minute
	owner = "owner-1" // the claimant of claim(); a take-over uses another
)

func claim(key, hash string, now time.Time) store.IdemClaim {
	return store.IdemClaim{Tenant: "t1", Key: key, Operation: "payment.create", RequestHash: hash, Now: now, Lease: lease, Owner: owner}
}

func idemCases() []testCase {
	return []testCase{
		{"Idem/ClaimNew", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			rec, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			if !owned {
				t.Fatal("first claim not owned")
			}
			want := store.IdemRecord{Tenant: "t1", Key: "k1", Operation: "payment.create", RequestHash: "h1",
				State: store.IdemInProgress, Owner: owner, LockedUntil: at(lease), CreatedAt: at(0), UpdatedAt: at(0)}
			same(t, "claimed", rec, want)
			got, err := s.GetIdempotencyKey(ctx, "t1", "k1")
			must(t, err)
			same(t, "stored", got, want)
		}},
		{"Idem/ClaimHeldKey", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			first, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			for _, hash := range []string{"h1", "other"} {
				rec, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", hash, at(lease/2)))
				must(t, err)
				if owned {
					t.Fatalf("claim with hash %s of a held key owned it", hash)
				}
				same(t, "existing", rec, first)
			}
		}},
		{"Idem/TakeOverExpiredLease", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			must(t, linkPayment(ctx, s, "k1", owner, "pay_1", at(time.Second)))
			later := at(lease + time.Second)
			second := claim("k1", "h1", later)
			second.Owner = "owner-2"
			rec, owned, err := s.ClaimIdempotencyKey(ctx, second)
			must(t, err)
			if !owned || rec.Owner != "owner-2" {
				t.Fatalf("claim after the lease ran out: owned=%v owner=%q", owned, rec.Owner)
			}
			// the first owner is fenced off: it can no longer link, finish or release
			wantErr(t, linkPayment(ctx, s, "k1", owner, "pay_9", later), store.ErrTakenOver)
			wantErr(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 201, []byte("{}"), later), store.ErrConflict)
			wantErr(t, s.ReleaseIdempotencyKey(ctx, "t1", "k1", owner), store.ErrConflict)
			must(t, linkPayment(ctx, s, "k1", "owner-2", "pay_2", later))
			if rec.ResourceID != "pay_1" || rec.State != store.IdemInProgress || !rec.LockedUntil.Equal(later.Add(lease)) || !rec.CreatedAt.Equal(at(0)) {
				t.Fatalf("taken-over record %+v: want ResourceID pay_1, in progress, locked until %s, created %s", rec, later.Add(lease), at(0))
			}
			// the new lease holds against the next claimant
			if _, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", later.Add(time.Second))); err != nil || owned {
				t.Fatalf("second take-over: owned=%v err=%v, want not owned", owned, err)
			}
		}},
		{"Idem/NoTakeOverByAnotherRequest", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			first, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			rec, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h2", at(2*lease)))
			must(t, err)
			if owned {
				t.Fatal("a claim with another request hash took over")
			}
			same(t, "unchanged", rec, first)
			other := claim("k1", "h1", at(2*lease))
			other.Operation = "payment.close:pay_1"
			if _, owned, err := s.ClaimIdempotencyKey(ctx, other); err != nil || owned {
				t.Fatalf("claim for another operation: owned=%v err=%v, want not owned", owned, err)
			}
		}},
		{"Idem/NoTakeOverWhenDone", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			must(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 201, []byte(`{"id":"pay_1"}`), at(time.Second)))
			rec, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(10*lease)))
			must(t, err)
			if owned || rec.State != store.IdemDone || rec.ResponseStatus != 201 || string(rec.ResponseBody) != `{"id":"pay_1"}` {
				t.Fatalf("claim of a done key: owned=%v rec=%+v, want the stored response", owned, rec)
			}
		}},
		{"Idem/Link", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			must(t, linkPayment(ctx, s, "k1", owner, "pay_1", at(time.Second)))
			rec, err := s.GetIdempotencyKey(ctx, "t1", "k1")
			must(t, err)
			if rec.ResourceID != "pay_1" || !rec.UpdatedAt.Equal(at(time.Second)) || rec.State != store.IdemInProgress {
				t.Fatalf("linked record %+v", rec)
			}
			wantErr(t, linkPayment(ctx, s, "missing", owner, "pay_7", at(0)), store.ErrTakenOver)
			wantErr(t, s.InsertPayment(ctx, linked("pay_8", "t2", "k1", owner, at(0))), store.ErrTakenOver)
			must(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 200, []byte("{}"), at(2*time.Second)))
			wantErr(t, linkPayment(ctx, s, "k1", owner, "pay_2", at(3*time.Second)), store.ErrTakenOver)
			rec, err = s.GetIdempotencyKey(ctx, "t1", "k1")
			must(t, err)
			if rec.ResourceID != "pay_1" {
				t.Fatalf("link after done changed ResourceID to %q", rec.ResourceID)
			}
		}},
		{"Idem/Finish", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			body := []byte("{\"id\":\"pay_1\"}\x00\xff\xfe binary")
			must(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 422, body, at(time.Second)))
			rec, err := s.GetIdempotencyKey(ctx, "t1", "k1")
			must(t, err)
			same(t, "finished", rec, store.IdemRecord{Tenant: "t1", Key: "k1", Operation: "payment.create", RequestHash: "h1",
				State: store.IdemDone, Owner: owner, ResponseStatus: 422, ResponseBody: body, LockedUntil: rec.LockedUntil,
				CreatedAt: at(0), UpdatedAt: at(time.Second)})
			wantErr(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 200, []byte("second"), at(2*time.Second)), store.ErrConflict)
			again, err := s.GetIdempotencyKey(ctx, "t1", "k1")
			must(t, err)
			same(t, "after a second finish", again, rec)
			wantErr(t, s.FinishIdempotencyKey(ctx, "t1", "missing", owner, 200, nil, at(0)), store.ErrNotFound)
		}},
		{"Idem/Release", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			must(t, s.ReleaseIdempotencyKey(ctx, "t1", "k1", owner))
			_, err = s.GetIdempotencyKey(ctx, "t1", "k1")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.ReleaseIdempotencyKey(ctx, "t1", "k1", owner), store.ErrNotFound)
			// the client may retry, even with another body
			_, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h2", at(time.Second)))
			must(t, err)
			if !owned {
				t.Fatal("claim after release not owned")
			}
			must(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 201, []byte("{}"), at(2*time.Second)))
			wantErr(t, s.ReleaseIdempotencyKey(ctx, "t1", "k1", owner), store.ErrConflict)
			if _, err := s.GetIdempotencyKey(ctx, "t1", "k1"); err != nil {
				t.Fatalf("a done key was released: %v", err)
			}
			// once a resource is linked something was stored: the key stays,
			// for a take-over to resume that resource
			_, _, err = s.ClaimIdempotencyKey(ctx, claim("k2", "h1", at(0)))
			must(t, err)
			must(t, linkPayment(ctx, s, "k2", owner, "pay_1", at(time.Second)))
			wantErr(t, s.ReleaseIdempotencyKey(ctx, "t1", "k2", owner), store.ErrConflict)
			rec, owned, err := s.ClaimIdempotencyKey(ctx, claim("k2", "h1", at(2*lease)))
			must(t, err)
			if !owned || rec.ResourceID != "pay_1" {
				t.Fatalf("take-over after a refused release: owned=%v rec=%+v", owned, rec)
			}
		}},
		{"Idem/TenantsAreSeparate", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for _, tenant := range []string{"t1", "t2"} {
				c := claim("k1", "h-"+tenant, at(0))
				c.Tenant = tenant
				rec, owned, err := s.ClaimIdempotencyKey(ctx, c)
				must(t, err)
				if !owned || rec.Tenant != tenant || rec.RequestHash != "h-"+tenant {
					t.Fatalf("tenant %s: owned=%v rec=%+v", tenant, owned, rec)
				}
			}
			_, err := s.GetIdempotencyKey(ctx, "t3", "k1")
			wantErr(t, err, store.ErrNotFound)
		}},
	}
}

// linkedInserts are the inserts that take a store.IdemLink: each stores
// its object under the key, or nothing at all.
func linkedInserts() []struct {
	name   string
	insert func(ctx context.Context, s store.Store, link *store.IdemLink) error
	get    func(ctx context.Context, s store.Store) error
} {
	return []struct {
		name   string
		insert func(ctx context.Context, s store.Store, link *store.IdemLink) error
		get    func(ctx context.Context, s store.Store) error
	}{
		{"payment", func(ctx context.Context, s store.Store, link *store.IdemLink) error {
			p := succeededPayment("pay_linked", "t1", 1000)
			p.Status, p.Link = "created", link
			return s.InsertPayment(ctx, p)
		}, func(ctx context.Context, s store.Store) error { _, err := s.GetPayment(ctx, "pay_linked"); return err }},
		{"refund", func(ctx context.Context, s store.Store, link *store.IdemLink) error {
			r := newRefund("re_linked", "t1", "pay_paid", 400)
			r.Link = link
			return s.InsertRefund(ctx, r)
		}, func(ctx context.Context, s store.Store) error { _, err := s.GetRefund(ctx, "re_linked"); return err }},
		{"payout", func(ctx context.Context, s store.Store, link *store.IdemLink) error {
			p := newPayout("po_linked", "t1")
			p.Link = link
			return s.InsertPayout(ctx, p)
		}, func(ctx context.Context, s store.Store) error { _, err := s.GetPayout(ctx, "po_linked"); return err }},
	}
}

func idemLinkCases() []testCase {
	var cases []testCase
	for _, ins := range linkedInserts() {
		cases = append(cases,
			testCase{"IdemLink/" + ins.name + "/Owned", func(t *testing.T, s store.Store) {
				ctx := t.Context()
				must(t, s.InsertPayment(ctx, succeededPayment("pay_paid", "t1", 1000)))
				_, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
				must(t, err)
				if !owned {
					t.Fatal("claim not owned")
				}
				must(t, ins.insert(ctx, s, &store.IdemLink{Tenant: "t1", Key: "k1", Owner: owner, Now: at(time.Second)}))
				must(t, ins.get(ctx, s))
				rec, err := s.GetIdempotencyKey(ctx, "t1", "k1")
				must(t, err)
				if rec.ResourceID == "" {
					t.Fatal("the key does not lead to the object stored with it")
				}
			}},
			// A crash can no longer leave an object no key leads to: an
			// insert whose key was taken over stores nothing, and reserves
			// nothing.
			testCase{"IdemLink/" + ins.name + "/TakenOver", func(t *testing.T, s store.Store) {
				ctx := t.Context()
				must(t, s.InsertPayment(ctx, succeededPayment("pay_paid", "t1", 1000)))
				_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
				must(t, err)
				retry := claim("k1", "h1", at(lease+time.Second))
				retry.Owner = "owner-2"
				_, owned, err := s.ClaimIdempotencyKey(ctx, retry)
				must(t, err)
				if !owned {
					t.Fatal("the retry did not take the expired key over")
				}
				err = ins.insert(ctx, s, &store.IdemLink{Tenant: "t1", Key: "k1", Owner: owner, Now: at(lease + 2*time.Second)})
				wantErr(t, err, store.ErrTakenOver)
				wantErr(t, ins.get(ctx, s), store.ErrNotFound)
				wantTotals(t, s, "pay_paid", 0, 0)
				rec, err := s.GetIdempotencyKey(ctx, "t1", "k1")
				must(t, err)
				if rec.ResourceID != "" || rec.Owner != "owner-2" {
					t.Fatalf("the key changed: %+v", rec)
				}
			}},
		)
	}
	return cases
}

func nodeCases() []testCase {
	claimOn := func(owner, node string, now time.Time) store.IdemClaim {
		c := claim("k1", "h1", now)
		c.Owner, c.Node, c.NodeTimeout = owner, node, 10*time.Second
		return c
	}
	return []testCase{
		{"Node/Heartbeat", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, err := s.NodeSeen(ctx, "n1")
			wantErr(t, err, store.ErrNotFound)
			must(t, s.Heartbeat(ctx, "n1", at(0)))
			must(t, s.Heartbeat(ctx, "n1", at(time.Second)))
			must(t, s.Heartbeat(ctx, "n2", at(0)))
			seen, err := s.NodeSeen(ctx, "n1")
			must(t, err)
			same(t, "seen", seen, at(time.Second))
			must(t, s.RemoveNode(ctx, "n1", at(-time.Hour)))
			_, err = s.NodeSeen(ctx, "n1")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.NodeSeen(ctx, "n2")
			must(t, err)
			must(t, s.RemoveNode(ctx, "none", at(time.Hour))) // and every node not seen for an hour
			_, err = s.NodeSeen(ctx, "n2")
			wantErr(t, err, store.ErrNotFound)
		}},
		// A crashed node's keys are taken over once it has not been seen
		// for the node timeout, long before their lease runs out; a live
		// node keeps its keys.
		{"Node/TakeOverFromADeadNode", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.Heartbeat(ctx, "n1", at(0)))
			rec, owned, err := s.ClaimIdempotencyKey(ctx, claimOn("o1", "n1", at(0)))
			must(t, err)
			if !owned || rec.Node != "n1" {
				t.Fatalf("first claim: owned=%v %+v", owned, rec)
			}
			must(t, s.Heartbeat(ctx, "n2", at(15*time.Second)))
			must(t, s.Heartbeat(ctx, "n1", at(9*time.Second)))
			if _, owned, err := s.ClaimIdempotencyKey(ctx, claimOn("o2", "n2", at(15*time.Second))); err != nil || owned {
				t.Fatalf("a live node's key was taken over: owned=%v err=%v", owned, err)
			}
			rec, owned, err = s.ClaimIdempotencyKey(ctx, claimOn("o2", "n2", at(20*time.Second)))
			must(t, err)
			if !owned || rec.Owner != "o2" || rec.Node != "n2" {
				t.Fatalf("a dead node's key was not taken over: owned=%v %+v", owned, rec)
			}
		}},
		{"Node/TakeOverFromARemovedNode", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.Heartbeat(ctx, "n1", at(0)))
			_, _, err := s.ClaimIdempotencyKey(ctx, claimOn("o1", "n1", at(0)))
			must(t, err)
			must(t, s.RemoveNode(ctx, "n1", at(-time.Hour)))
			if _, owned, err := s.ClaimIdempotencyKey(ctx, claimOn("o2", "n2", at(time.Second))); err != nil || !owned {
				t.Fatalf("a key of a node that left was not taken over: owned=%v err=%v", owned, err)
			}
		}},
		{"Node/NoTimeoutKeepsTheLease", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claimOn("o1", "n1", at(0))) // n1 never beat
			must(t, err)
			c := claimOn("o2", "n2", at(20*time.Second))
			c.NodeTimeout = 0
			if _, owned, err := s.ClaimIdempotencyKey(ctx, c); err != nil || owned {
				t.Fatalf("taken over before the lease without a node timeout: owned=%v err=%v", owned, err)
			}
		}},
	}
}

// linked is a new payment of tenant t1 (or tenant) stored with its link to
// the idempotency key of owner.
func linked(id, tenant, key, owner string, now time.Time) *store.Payment {
	p := succeededPayment(id, tenant, 1000)
	p.Status, p.Link = "created", &store.IdemLink{Tenant: tenant, Key: key, Owner: owner, Now: now}
	return p
}

// linkPayment stores a payment linked to the key of owner in tenant t1.
func linkPayment(ctx context.Context, s store.Store, key, owner, id string, now time.Time) error {
	return s.InsertPayment(ctx, linked(id, "t1", key, owner, now))
}
