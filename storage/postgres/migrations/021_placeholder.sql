-- placeholder for a local test; deleted before the last commit
SELECT 1;

---- create above / drop below ----

SELECT 1;
