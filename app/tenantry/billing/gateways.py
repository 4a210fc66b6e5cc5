"""How a paid plan is charged.

No external payment provider is reachable from this deployment, so the one real implementation,
`InvoiceGateway`, charges by issuing an invoice that is settled offline (bank transfer, purchase
order). A provider such as Stripe would be another class with the same `charge` method; the billing
services only ever talk to this protocol.
"""
import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

from django.utils import timezone

from tenantry.billing.models import format_money

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Charge:
    reference: str  # unique across every charge this gateway ever made


class PaymentGateway(Protocol):
    def charge(self, *, amount_cents: int, currency: str, description: str) -> Charge:
        """Collect `amount_cents`, or raise: the plan change that asked for it is then rolled back."""


class InvoiceGateway:
    """Records the charge as an invoice to be settled offline; it never contacts a provider and
    never declines. The invoice number is the payment's reference: random, so it is unique without
    a counter that every pod would have to share."""

    def charge(self, *, amount_cents: int, currency: str, description: str) -> Charge:
        reference = f"INV-{timezone.now():%Y%m%d}-{secrets.token_hex(6).upper()}"
        # The log line is what the people who send and settle invoices work from.
        logger.info("invoice %s issued: %s for %s", reference, format_money(amount_cents, currency), description)
        return Charge(reference=reference)
