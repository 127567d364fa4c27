"""Campaign records and their leads, for the people who run campaigns (the dialer runs the calls)."""

from __future__ import annotations

from cti.campaigns import Campaign, CampaignSpec, CampaignState
from cti.dialer_store import DialerStore
from cti.leads_import import LeadImportReport, ParsedLeads, import_leads


class CampaignService:
    """Creates campaigns, moves them between running, paused and stopped, and loads their leads."""

    def __init__(self, store: DialerStore) -> None:
        self._store = store

    async def campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        return await self._store.campaigns()

    async def campaign(self, campaign_id: int) -> Campaign:
        """One campaign, or CampaignNotFoundError."""
        return await self._store.campaign(campaign_id)

    async def create_campaign(self, spec: CampaignSpec) -> Campaign:
        """Store a new campaign (paused); InvalidCampaignError when its name is taken."""
        return await self._store.create_campaign(spec)

    async def set_state(self, campaign_id: int, state: CampaignState) -> Campaign:
        """Run, pause or stop a campaign (the dialer picks the change up on its next look)."""
        return await self._store.set_state(campaign_id, state)

    async def import_leads(self, campaign_id: int, parsed: ParsedLeads) -> LeadImportReport:
        """Add a file's validated leads to the campaign; the report keeps what was refused or merged."""
        return await import_leads(self._store, campaign_id, parsed)
