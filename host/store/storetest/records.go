package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func recordCases() []testCase {
	return []testCase{
		{"Attempt/RoundTripAndOrder", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			in := []*store.Attempt{
				{ObjectID: "pay_1", Operation: "payment.create", Channel: "haotian/main/alipay.qr", Outcome: "channel_unavailable",
					Error: "circuit open", DurationMS: 12, CreatedAt: at(0)},
				{ObjectID: "pay_2", Operation: "payment.create", Channel: "x/y/z", Outcome: "ok", CreatedAt: at(0)},
				{ObjectID: "pay_1", Operation: "payment.create", Channel: "adapay/main/alipay.qr", Outcome: "ok", DurationMS: 250, CreatedAt: at(time.Second)},
				{ObjectID: "pay_1", Operation: "payment.query", Channel: "adapay/main/alipay.qr", Outcome: "unknown_outcome", CreatedAt: at(time.Second)},
			}
			var last int64
			for _, a := range in {
				must(t, s.InsertAttempt(ctx, a))
				if a.ID <= last {
					t.Fatalf("attempt id %d after %d", a.ID, last)
				}
				last = a.ID
			}
			got, err := s.ListAttempts(ctx, "pay_1")
			must(t, err)
			same(t, "attempts", got, []*store.Attempt{in[0], in[2], in[3]})
			got, err = s.ListAttempts(ctx, "pay_none")
			must(t, err)
			if len(got) != 0 {
				t.Fatalf("attempts of an unknown object: %v", got)
			}
		}},
		{"Transition/RoundTripAndOrder", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			in := []*store.Transition{
				{ObjectType: "payment", ObjectID: "pay_1", From: "created", To: "processing", Source: "api", Applied: true, CreatedAt: at(0)},
				{ObjectType: "payment", ObjectID: "pay_1", From: "processing", To: "succeeded", Source: "notification", Applied: true, Detail: "event e1", CreatedAt: at(time.Second)},
				{ObjectType: "refund", ObjectID: "ref_1", From: "processing", To: "failed", Source: "poll", Applied: true, CreatedAt: at(time.Second)},
				{ObjectType: "payment", ObjectID: "pay_1", From: "succeeded", To: "processing", Source: "poll", Applied: false, Detail: "backwards", CreatedAt: at(time.Second)},
			}
			var last int64
			for _, tr := range in {
				must(t, s.InsertTransition(ctx, tr))
				if tr.ID <= last {
					t.Fatalf("transition id %d after %d", tr.ID, last)
				}
				last = tr.ID
			}
			got, err := s.ListTransitions(ctx, "pay_1")
			must(t, err)
			same(t, "transitions", got, []*store.Transition{in[0], in[1], in[3]})
			got, err = s.ListTransitions(ctx, "ref_1")
			must(t, err)
			same(t, "refund transitions", got, []*store.Transition{in[2]})
		}},
		{"Notification/InsertAndDedupe", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			n := &store.Notification{Account: "haotian-main", EventID: "evt_1", ObjectType: "payment", ObjectID: "pay_1",
				Status: "succeeded", Body: []byte("sign=abc&amount=100&memo=\xb2\xe2\xca\xd4\x00"), ReceivedAt: at(0)}
			inserted, err := s.InsertNotification(ctx, n)
			must(t, err)
			if !inserted || n.ID == 0 {
				t.Fatalf("first delivery: inserted=%v id=%d", inserted, n.ID)
			}
			dup := *n
			dup.ID, dup.Body, dup.ReceivedAt = 0, []byte("replayed"), at(time.Minute)
			inserted, err = s.InsertNotification(ctx, &dup)
			must(t, err)
			if inserted {
				t.Fatal("a repeated (account, event id) was inserted")
			}
			other := *n
			other.ID, other.Account = 0, "adapay-main"
			inserted, err = s.InsertNotification(ctx, &other)
			must(t, err)
			if !inserted || other.ID == n.ID {
				t.Fatalf("same event id on another account: inserted=%v id=%d", inserted, other.ID)
			}
			must(t, s.SetNotificationResult(ctx, n.ID, "applied"))
			wantErr(t, s.SetNotificationResult(ctx, n.ID+1000, "applied"), store.ErrNotFound)
			got, err := s.GetNotification(ctx, "haotian-main", "evt_1")
			must(t, err)
			want := *n
			want.Result = "applied"
			same(t, "notification", got, &want)
			_, err = s.GetNotification(ctx, "haotian-main", "evt_missing")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"PingAndCanceledContext", func(t *testing.T, s store.Store) {
			must(t, s.Ping(t.Context()))
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, err := s.GetPayment(ctx, "pay_1"); err == nil || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetPayment with a canceled context: %v, want the context's error", err)
			}
			if err := s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 1)); err == nil {
				t.Fatal("InsertPayment with a canceled context succeeded")
			}
		}},
	}
}
