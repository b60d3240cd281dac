-- Attribution (issue 11): a report is the same report only when its bytes
-- are the same. A Message-ID is chosen by the sender, so a forged mail
-- sent first with a genuine report's Message-ID must not swallow the
-- genuine one: the Message-ID stays indexed, as a hint, but not unique.
DROP INDEX IF EXISTS reports_message_id;
CREATE INDEX reports_message_id ON reports(message_id) WHERE message_id IS NOT NULL;
