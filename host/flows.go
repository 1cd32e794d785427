package host

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// A flow is what one kind of object brings to the engine beyond its own
// API methods: the poller round that settles its open objects, the
// appliers of the notification events about it, and the webhook event
// types it emits. The engine's flows are listed once, in engineFlows, and
// New wires them; nothing registers itself.
type flow struct {
	name string
	// poll claims the flow's due objects and hands each one's work to run,
	// which bounds the queries in parallel; nil when the main round (
	// payments, refunds) covers the flow.
	poll func(h *Host, ctx context.Context, now time.Time, run func(func()))
	// appliers apply verified notification events by kind; each returns
	// what happened (a notifyResult).
	appliers map[core.EventKind]eventApplier
	// objectType and eventTypes are the webhook events the flow emits,
	// "<objectType>.<status>"; endpoints may subscribe to them.
	objectType string
	eventTypes []string
}

// eventApplier applies one verified event of an account.
type eventApplier func(h *Host, ctx context.Context, a *account, ev core.Event) notifyResult

// engineFlows are the engine's flows, in the order the poller runs them.
func engineFlows() []flow {
	merchantTypes := machineEventTypes("merchant", core.MachineOnboarding)
	for _, kind := range []string{store.RequestChannels, store.RequestRealName, store.RequestSettlement} {
		merchantTypes = append(merchantTypes, machineEventTypes("merchant."+kind, core.MachineOnboarding)...)
	}
	return []flow{
		{name: "payments", objectType: "payment", eventTypes: machineEventTypes("payment", core.MachinePayment),
			appliers: map[core.EventKind]eventApplier{core.EventPayment: (*Host).applyPaymentEvent}},
		{name: "refunds", objectType: "refund", eventTypes: machineEventTypes("refund", core.MachineRefund),
			appliers: map[core.EventKind]eventApplier{core.EventRefund: (*Host).applyRefundEvent}},
		{name: "splits", poll: pollSplits, objectType: "split", eventTypes: machineEventTypes("split", core.MachineSplit),
			appliers: map[core.EventKind]eventApplier{core.EventSplit: (*Host).applySplitEvent}},
		{name: "split returns", poll: pollSplitReturns, objectType: "split_return",
			eventTypes: machineEventTypes("split_return", core.MachineSplitReturn)},
		{name: "payouts", poll: pollPayouts, objectType: "payout", eventTypes: machineEventTypes("payout", core.MachinePayout),
			appliers: map[core.EventKind]eventApplier{core.EventPayout: (*Host).applyPayoutEvent}},
		{name: "onboarding", poll: (*Host).pollOnboarding, objectType: "merchant", eventTypes: merchantTypes,
			appliers: map[core.EventKind]eventApplier{
				core.EventOnboarding: (*Host).applyOnboardingEvent,
				core.EventChannel:    (*Host).applyRequestEvent,
				core.EventRealName:   (*Host).applyRequestEvent,
				core.EventSettlement: (*Host).applyRequestEvent,
			}},
	}
}

// wiring is what New derives from the flows.
type wiring struct {
	pollers      []func(h *Host, ctx context.Context, now time.Time, run func(func()))
	appliers     map[core.EventKind]eventApplier
	eventTypes   map[string]bool // the types endpoints may subscribe to
	eventObjects map[string]bool // their object types, for "<object type>.*"
}

// wire checks the flows (one applier per event kind, event types of the
// flow's own object type) and indexes them.
func wire(flows []flow) wiring {
	w := wiring{appliers: map[core.EventKind]eventApplier{}, eventTypes: map[string]bool{}, eventObjects: map[string]bool{}}
	for _, f := range flows {
		if f.poll != nil {
			w.pollers = append(w.pollers, f.poll)
		}
		for kind, fn := range f.appliers {
			if _, dup := w.appliers[kind]; dup {
				panic("host: two flows apply event kind " + string(kind))
			}
			w.appliers[kind] = fn
		}
		w.eventObjects[f.objectType] = true
		for _, t := range f.eventTypes {
			if !strings.HasPrefix(t, f.objectType+".") {
				panic("host: event type " + t + " is not of object type " + f.objectType)
			}
			w.eventTypes[t] = true
		}
	}
	return w
}

// machineEventTypes lists "<objectType>.<status>" for every status a
// transition of m can reach.
func machineEventTypes(objectType string, m core.Machine) []string {
	seen := map[string]bool{}
	var out []string
	for _, next := range core.Machines()[m] {
		for _, s := range next {
			if !seen[s] {
				seen[s] = true
				out = append(out, objectType+"."+s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// EventTypes lists the event types endpoints can subscribe to, sorted.
func EventTypes() []string {
	var out []string
	for _, f := range engineFlows() {
		out = append(out, f.eventTypes...)
	}
	sort.Strings(out)
	return out
}
