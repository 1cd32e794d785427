-- The provider's own code for a failure, beside the canonical failure_code:
-- "declined" with provider code "channel_declined", for instance.
ALTER TABLE payments ADD COLUMN provider_code TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN provider_code TEXT NOT NULL DEFAULT '';
-- The method of the channel that took a payment, when it is not the
-- payment's own (a rule fell back to a hosted checkout); '' = the same.
ALTER TABLE payments ADD COLUMN channel_method TEXT NOT NULL DEFAULT '';
