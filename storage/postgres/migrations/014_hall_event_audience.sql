-- Every hall event has an audience (opening.Audience, decided per kind in
-- opening.HallEventAudiences): 'all' (everyone who may read the hall), 'overseers' (the host
-- and the supervisors) or 'bidder' (the one bidder in bidder_id, and the overseers). Until
-- now a NULL bidder_id meant "everyone", so other bidders' objections, the answers to them
-- and the rescue of a bid were read by every bidder. There is no default: a writer that did
-- not decide an audience is refused.
--
-- Existing events get the strict audience: the events about one bidder that were written
-- without naming it are given their bidder first (an objection names it in its payload, an
-- answer through its objection, a rescue as "bid"); then the state, the record and the
-- technical stage's results go to all, what names a bidder to that bidder, and anything
-- else to the overseers only. hall_events is immutable (hall_events_immutable): the trigger
-- is set aside for this backfill only, inside this migration's transaction, and is back
-- before it commits. Inserts notify on kaiping_hall (008); updates do not, and the notice
-- stays "<section_id>:<version>": it carries no content, nor the audience.

ALTER TABLE hall_events ADD COLUMN audience text;

ALTER TABLE hall_events DISABLE TRIGGER hall_events_immutable;

UPDATE hall_events SET bidder_id = (payload->>'bidder')::uuid
    WHERE type = 'hall.objection' AND bidder_id IS NULL AND payload ? 'bidder';
UPDATE hall_events e SET bidder_id = o.bidder_id
    FROM hall_objections o
    WHERE e.type = 'hall.objection_answer' AND e.bidder_id IS NULL AND o.id::text = e.payload->>'objection';
UPDATE hall_events SET bidder_id = (payload->>'bid')::uuid
    WHERE type IN ('hall.rescue_share', 'hall.rescue_combine') AND bidder_id IS NULL AND payload ? 'bid';
UPDATE hall_events SET audience = CASE
        WHEN bidder_id IS NOT NULL THEN 'bidder'
        WHEN type IN ('hall.transition', 'hall.publish', 'hall.qualify') THEN 'all'
        ELSE 'overseers'
    END;

ALTER TABLE hall_events ENABLE TRIGGER hall_events_immutable;

ALTER TABLE hall_events
    ALTER COLUMN audience SET NOT NULL,
    ADD CONSTRAINT hall_events_audience CHECK (audience IN ('all', 'overseers', 'bidder')),
    -- An event for one bidder names it; one for all or the overseers names none.
    ADD CONSTRAINT hall_events_audience_bidder CHECK ((audience = 'bidder') = (bidder_id IS NOT NULL));

---- create above / drop below ----

-- The bidders given to objections, answers and rescues stay: with the old meaning of a NULL
-- bidder_id they keep those events from the other bidders.
ALTER TABLE hall_events DROP CONSTRAINT hall_events_audience_bidder, DROP CONSTRAINT hall_events_audience,
    DROP COLUMN audience;
