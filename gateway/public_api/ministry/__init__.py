"""The ministry API (``/api/ministeres/v1/``): the routes (``api``), the models (``models``) and
the OpenAPI document with its page (``openapi``); its per-body keys are
``gateway.staff.api_keys``."""
