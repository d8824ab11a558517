-- Reserved for per-tender staff assignment (issue 11), being written on another branch: tern refuses a
-- gap in the numbering, and this branch's migration is 014. That branch's own 011 migration
-- replaces this file when the branches are merged.
SELECT 1;
