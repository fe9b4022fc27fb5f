"""Access control shared by both planes: the snapshot's access section and its evaluation."""

from shared.access.evaluate import (
    ANNOTATION_DEFAULTS,
    DEFAULT_DENY,
    DISABLED_USER,
    KEY_SCOPE,
    Caller,
    Catalog,
    Decision,
    ItemKind,
    ServerView,
    caller,
)
from shared.access.index import AccessIndex, InMemoryRules, ServerRules, catalog_of
from shared.snapshot.access import (
    ANNOTATION_HINTS,
    AccessSection,
    AuthzWebhookEntry,
    Condition,
    Grant,
    Selection,
    TeamEntry,
    UserEntry,
)

__all__ = [
    "ANNOTATION_DEFAULTS",
    "ANNOTATION_HINTS",
    "DEFAULT_DENY",
    "DISABLED_USER",
    "KEY_SCOPE",
    "AccessIndex",
    "AccessSection",
    "AuthzWebhookEntry",
    "Caller",
    "Catalog",
    "Condition",
    "Decision",
    "Grant",
    "InMemoryRules",
    "ItemKind",
    "Selection",
    "ServerRules",
    "ServerView",
    "TeamEntry",
    "UserEntry",
    "caller",
    "catalog_of",
]
