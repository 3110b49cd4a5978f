"""The public APIs: ``/api/v1`` JSON, the tracking API and Open311 GeoReport v2."""
