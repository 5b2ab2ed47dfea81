-- A secret per ticket, so a ticket page (/ticket/T000012?key=…) shows only to the person who got it.
ALTER TABLE tickets ADD COLUMN access_key TEXT;
