-- A tender's evaluation method (评标办法, evaluation/scoring), fixed at its creation and
-- published with it; NULL for a tender created before methods were carried.

ALTER TABLE tenders ADD COLUMN evaluation_method jsonb;

---- create above / drop below ----

ALTER TABLE tenders DROP COLUMN evaluation_method;
