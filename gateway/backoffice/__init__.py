"""The back office (/admin): shell and dashboard, triage, statistics, the call centre's form,
deliveries, the audit log and account pages."""
