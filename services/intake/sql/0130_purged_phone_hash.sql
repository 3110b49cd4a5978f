-- A purged request keeps an HMAC of the mobile number too (services/intake/purge.py), under the
-- key of ``email_hash``: a citizen who gave no email (a call-centre caller) still looks the
-- request up with code + mobile number after the purge, while the table holds no number.
ALTER TABLE requests ADD COLUMN phone_hash text;
