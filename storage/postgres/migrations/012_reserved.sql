-- Reserved for the key-encryption key for file keys (issue 11), being written on another branch: tern refuses a
-- gap in the numbering, and this branch's migration is 014. That branch's own 012 migration
-- replaces this file when the branches are merged.
SELECT 1;
