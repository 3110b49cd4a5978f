"""stats: aggregates per body × nature × theme × status × day, kept from request events."""
