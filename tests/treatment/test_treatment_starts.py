"""treatment starts, migrates its schema and answers its operations routes."""

from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared.service import POOL
from tests.support import RunningApp, signed_session


async def test_treatment_starts_and_is_ready(settings_for, empty_database_url):
    # An empty database: the start itself migrates the schema (other tests' copies have it).
    settings = settings_for(TreatmentSettings, database_url=empty_database_url)
    async with RunningApp(create_app(settings)) as running:
        async with signed_session() as http:
            async with http.get(f"{running.url}/health/ready") as response:
                ready = response.status, await response.json()
            async with http.get(f"{running.url}/metrics") as response:
                metrics_status = response.status
        async with running.app[POOL].acquire() as conn:
            table = await conn.fetchval(
                """SELECT table_name FROM information_schema.tables
                   WHERE table_schema = 'treatment' AND table_name = 'treatments'"""
            )

    assert ready == (200, {"status": "ready", "checks": {"database": True, "broker": True}})
    assert metrics_status == 200
    assert table == "treatments"
    assert TreatmentSettings.model_fields["http_port"].default == 8083
