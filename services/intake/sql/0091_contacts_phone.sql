-- « Code requête oublié ? » by mobile number: the requests sent with a number (E.164, as
-- stored), found without reading every contact.
CREATE INDEX contacts_phone ON contacts (phone) WHERE phone IS NOT NULL;
