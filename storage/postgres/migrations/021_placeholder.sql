-- placeholder for the lead's 021 (deleted before merge)
SELECT 1;
