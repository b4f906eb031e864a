"""Webhook delivery: Standard Webhooks signing, the outbound address policy, the HTTP sender."""

from filegate.adapters.webhooks.addresses import (
    AddressKind,
    AddressPolicy,
    AddressRefused,
    classify,
    system_resolver,
    vetted_address,
)
from filegate.adapters.webhooks.sender import HttpWebhookSender, parse_retry_after
from filegate.adapters.webhooks.signing import headers, new_secret, signature

__all__ = [
    "AddressKind",
    "AddressPolicy",
    "AddressRefused",
    "HttpWebhookSender",
    "classify",
    "headers",
    "new_secret",
    "parse_retry_after",
    "signature",
    "system_resolver",
    "vetted_address",
]
