"""Other government channels: commands on RabbitMQ (``commands``), Open311 GeoReport v2
(``open311_api`` over the pure ``open311_rules``), and their counters (``metrics``)."""
