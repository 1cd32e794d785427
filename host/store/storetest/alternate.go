package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/payhost/payhost/host/store"
)

// Alternate returns a store.Store that sends each call to the next of
// stores in turn. Given several Stores opened on one database (separate
// connection pools, as separate payhost nodes would have), a suite run
// through it has those nodes racing on the same rows. Close closes them all.
func Alternate(stores ...store.Store) store.Store {
	if len(stores) == 0 {
		panic("storetest: Alternate needs at least one store")
	}
	return &alternate{Store: stores[0], stores: stores}
}

// alternate sends each call of the methods it lists to the next store; a
// method it does not list yet goes to the first store (the embedded one).
type alternate struct {
	store.Store
	stores []store.Store
	n      atomic.Uint64
}

// next is the store of the next call; a call in a store.Unit is one
// node's work and goes to the first.
func (a *alternate) next(ctx context.Context) store.Store {
	if store.UnitOf(ctx) != nil {
		return a.stores[0]
	}
	return a.stores[(a.n.Add(1)-1)%uint64(len(a.stores))]
}

func (a *alternate) Heartbeat(ctx context.Context, node string, now time.Time) error {
	return a.next(ctx).Heartbeat(ctx, node, now)
}

func (a *alternate) NodeSeen(ctx context.Context, node string) (time.Time, error) {
	return a.next(ctx).NodeSeen(ctx, node)
}

func (a *alternate) RemoveNode(ctx context.Context, node string, before time.Time) error {
	return a.next(ctx).RemoveNode(ctx, node, before)
}

func (a *alternate) ClaimIdempotencyKey(ctx context.Context, c store.IdemClaim) (store.IdemRecord, bool, error) {
	return a.next(ctx).ClaimIdempotencyKey(ctx, c)
}

func (a *alternate) FinishIdempotencyKey(ctx context.Context, tenant, key, owner string, status int, body []byte, now time.Time) error {
	return a.next(ctx).FinishIdempotencyKey(ctx, tenant, key, owner, status, body, now)
}

func (a *alternate) ReleaseIdempotencyKey(ctx context.Context, tenant, key, owner string) error {
	return a.next(ctx).ReleaseIdempotencyKey(ctx, tenant, key, owner)
}

func (a *alternate) GetIdempotencyKey(ctx context.Context, tenant, key string) (store.IdemRecord, error) {
	return a.next(ctx).GetIdempotencyKey(ctx, tenant, key)
}

func (a *alternate) InsertPayment(ctx context.Context, p *store.Payment) error {
	return a.next(ctx).InsertPayment(ctx, p)
}

func (a *alternate) GetPayment(ctx context.Context, id string) (*store.Payment, error) {
	return a.next(ctx).GetPayment(ctx, id)
}

func (a *alternate) UpdatePayment(ctx context.Context, u store.PaymentUpdate) (*store.Payment, error) {
	return a.next(ctx).UpdatePayment(ctx, u)
}

func (a *alternate) ClaimPaymentsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payment, error) {
	return a.next(ctx).ClaimPaymentsToPoll(ctx, now, lease, limit)
}

func (a *alternate) ClaimRefundsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Refund, error) {
	return a.next(ctx).ClaimRefundsToPoll(ctx, now, lease, limit)
}

func (a *alternate) GetNotification(ctx context.Context, account, eventID string) (*store.Notification, error) {
	return a.next(ctx).GetNotification(ctx, account, eventID)
}

func (a *alternate) PaymentsToPoll(ctx context.Context, now time.Time, limit int) ([]*store.Payment, error) {
	return a.next(ctx).PaymentsToPoll(ctx, now, limit)
}

func (a *alternate) InsertRefund(ctx context.Context, r *store.Refund) error {
	return a.next(ctx).InsertRefund(ctx, r)
}

func (a *alternate) GetRefund(ctx context.Context, id string) (*store.Refund, error) {
	return a.next(ctx).GetRefund(ctx, id)
}

func (a *alternate) ListRefunds(ctx context.Context, paymentID string) ([]*store.Refund, error) {
	return a.next(ctx).ListRefunds(ctx, paymentID)
}

func (a *alternate) UpdateRefund(ctx context.Context, u store.RefundUpdate) (*store.Refund, error) {
	return a.next(ctx).UpdateRefund(ctx, u)
}

func (a *alternate) RefundsToPoll(ctx context.Context, now time.Time, limit int) ([]*store.Refund, error) {
	return a.next(ctx).RefundsToPoll(ctx, now, limit)
}

func (a *alternate) InsertAttempt(ctx context.Context, at *store.Attempt) error {
	return a.next(ctx).InsertAttempt(ctx, at)
}

func (a *alternate) ListAttempts(ctx context.Context, objectID string) ([]*store.Attempt, error) {
	return a.next(ctx).ListAttempts(ctx, objectID)
}

func (a *alternate) InsertTransition(ctx context.Context, t *store.Transition) error {
	return a.next(ctx).InsertTransition(ctx, t)
}

func (a *alternate) ListTransitions(ctx context.Context, objectID string) ([]*store.Transition, error) {
	return a.next(ctx).ListTransitions(ctx, objectID)
}

func (a *alternate) InsertNotification(ctx context.Context, n *store.Notification) (bool, error) {
	return a.next(ctx).InsertNotification(ctx, n)
}

func (a *alternate) SetNotificationResult(ctx context.Context, id int64, result string) error {
	return a.next(ctx).SetNotificationResult(ctx, id, result)
}

func (a *alternate) Ping(ctx context.Context) error {
	for _, s := range a.stores {
		if err := s.Ping(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (a *alternate) Close() error {
	var errs []error
	for _, s := range a.stores {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
