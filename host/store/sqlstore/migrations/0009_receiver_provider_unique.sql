-- A provider's receiver id is bound at most once per account, whatever the
-- tenant: a second tenant can no longer claim a receiver (and its balance)
-- by naming its id. Receivers bound twice before this migration keep the
-- oldest binding; the later ones go back to pending with failure
-- "conflict", for an operator to look at (they cannot be bound again while
-- the first one is).

UPDATE split_receivers SET status = 'pending', failure_code = 'conflict',
    failure_message = 'the provider receiver id is bound at this account by an earlier receiver'
WHERE status = 'bound' AND provider_id <> '' AND EXISTS (
    SELECT 1 FROM split_receivers o
    WHERE o.account = split_receivers.account AND o.provider_id = split_receivers.provider_id
      AND o.status = 'bound' AND o.seq < split_receivers.seq);

CREATE UNIQUE INDEX split_receivers_bound_provider ON split_receivers (account, provider_id)
    WHERE status = 'bound' AND provider_id <> '';
CREATE INDEX split_receivers_provider ON split_receivers (account, provider_id, seq);
CREATE INDEX split_receivers_status ON split_receivers (status, seq);
