"""The supervisors' service reports over tickets: volume, workload, service times and distribution."""

from __future__ import annotations

from datetime import datetime

from tickets.report_store import ReportStore, ServiceTimes, Share, Volume, Workload


class TicketReports:
    """Answers the report page's questions over a period `[since, until)`."""

    def __init__(self, store: ReportStore) -> None:
        self._store = store

    async def volume(self, since: datetime, until: datetime, timezone: str) -> Volume:
        """Tickets taken in per local day, category and channel."""
        return await self._store.volume(since, until, timezone)

    async def workload(self, since: datetime, until: datetime) -> list[Workload]:
        """Per handler: open now, resolved in the period, average handling time."""
        return await self._store.workload(since, until)

    async def service_times(self, since: datetime, until: datetime) -> list[ServiceTimes]:
        """Per category: first response, resolution, reopen rate."""
        return await self._store.service_times(since, until)

    async def distribution(self, since: datetime, until: datetime) -> list[Share]:
        """Tickets per category and customer tier."""
        return await self._store.distribution(since, until)
