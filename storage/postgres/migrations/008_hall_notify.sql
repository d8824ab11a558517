-- Every event of a hall is announced on the channel kaiping_hall when its transaction
-- commits, as "<section_id>:<version>": small, because listeners read the events and the
-- state themselves (storage/postgres/hall_notify.go). NOTIFY is transactional, so a change
-- that rolls back is never announced.

CREATE FUNCTION hall_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kaiping_hall', NEW.section_id::text || ':' || NEW.version::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER hall_events_notify AFTER INSERT ON hall_events
    FOR EACH ROW EXECUTE FUNCTION hall_events_notify();

---- create above / drop below ----

DROP TRIGGER hall_events_notify ON hall_events;
DROP FUNCTION hall_events_notify();
