"""The vocabulary generation draws from: names, phone numbers, queues, teams, wrap-up codes, skills.

Data lives in tuples here; functions that make a value take a `Chooser`, so the same vocabulary
serves the seeded bulk generator, the Hypothesis strategies and the Faker provider. The first entry
of each tuple is what a shrinking backend ends on, so it is the plainest one.
"""

from __future__ import annotations

from collections.abc import Sequence

from callbacksim.generation.chooser import Chooser

__all__ = [
    "COUNTRIES",
    "LOCALES",
    "REF_KINDS",
    "e164_number",
    "entity_id",
    "person_name",
    "uuid_text",
]

# Display names by locale: given names and family names, joined in the locale's own order.
LOCALES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    # locale: (given names, family names, family name first)
    "en_US": (
        (
            "Ann",
            "James",
            "Mary",
            "Robert",
            "Patricia",
            "Michael",
            "Linda",
            "David",
            "Karen",
            "Joseph",
        ),
        (
            "Lee",
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Garcia",
            "Miller",
            "Davis",
            "Wilson",
            "Moore",
        ),
        False,
    ),
    "en_GB": (
        ("Amy", "Oliver", "Olivia", "George", "Amelia", "Harry", "Isla", "Jack", "Emily", "Noah"),
        (
            "Hall",
            "Taylor",
            "Evans",
            "Thomas",
            "Roberts",
            "Walker",
            "Wright",
            "Hughes",
            "Green",
            "Clarke",
        ),
        False,
    ),
    "de_DE": (
        ("Anna", "Lukas", "Lea", "Jonas", "Mia", "Felix", "Emma", "Paul", "Hannah", "Maximilian"),
        (
            "Roth",
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schäfer",
        ),
        False,
    ),
    "fr_FR": (
        (
            "Léa",
            "Louis",
            "Chloé",
            "Gabriel",
            "Manon",
            "Hugo",
            "Inès",
            "Arthur",
            "Camille",
            "Raphaël",
        ),
        (
            "Roux",
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
        ),
        False,
    ),
    "es_ES": (
        ("Ana", "Hugo", "Lucía", "Martín", "Sofía", "Mateo", "Martina", "Pablo", "Julia", "Álvaro"),
        (
            "Gil",
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
        ),
        False,
    ),
    "ja_JP": (
        ("愛", "翔", "陽菜", "蓮", "結衣", "大翔", "美咲", "悠真", "さくら", "颯太"),
        ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"),
        True,
    ),
    "ar_SA": (
        ("علي", "محمد", "فاطمة", "أحمد", "نورة", "خالد", "سارة", "عبدالله", "مريم", "يوسف"),
        (
            "العتيبي",
            "القحطاني",
            "الغامدي",
            "الشهري",
            "الزهراني",
            "الدوسري",
            "الحربي",
            "المطيري",
            "العنزي",
            "السبيعي",
        ),
        True,
    ),
}

# E.164 numbering by country: (ISO code, calling code, leading digits of the national number,
# number of digits that follow the leading ones). Mobile ranges, where callbacks mostly go.
COUNTRIES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "US": ("1", ("212", "312", "415", "512", "617", "646", "702", "808", "917"), 7),
    "CA": ("1", ("416", "514", "604", "613", "780"), 7),
    "GB": ("44", ("74", "75", "77", "78", "79"), 8),
    "IE": ("353", ("83", "85", "86", "87", "89"), 7),
    "DE": ("49", ("151", "152", "157", "160", "170", "171", "176"), 8),
    "FR": ("33", ("6", "7"), 8),
    "ES": ("34", ("6", "7"), 8),
    "NL": ("31", ("6",), 8),
    "JP": ("81", ("70", "80", "90"), 8),
    "AU": ("61", ("4",), 8),
    "IN": ("91", ("6", "7", "8", "9"), 9),
    "BR": ("55", ("119", "219", "319", "419", "519"), 8),
    "MX": ("52", ("55", "33", "81"), 8),
}
_COUNTRY_CODES: tuple[str, ...] = tuple(COUNTRIES)
_LOCALE_CODES: tuple[str, ...] = tuple(LOCALES)

QUEUES: tuple[str, ...] = (
    "Support",
    "Billing",
    "Sales",
    "Technical Support",
    "Retention",
    "Claims",
    "Appointments",
    "VIP Customers",
    "Collections",
    "Orders and Returns",
)
TEAMS: tuple[str, ...] = ("Team A", "Tier 1", "Tier 2", "Night Shift", "Specialists", "Escalations")
WRAPUP_CODES: tuple[str, ...] = (
    "Resolved",
    "Callback Completed",
    "No Answer",
    "Left Voicemail",
    "Wrong Number",
    "Escalated",
    "Follow-up Required",
    "Sale Made",
    "Customer Declined",
    "Rescheduled",
)
SKILLS: tuple[str, ...] = (
    "English",
    "Spanish",
    "Billing",
    "Tier 2",
    "Mortgages",
    "Hardware",
    "French",
)
LANGUAGES: tuple[str, ...] = ("en-us", "es", "fr", "de", "ja")
SCRIPTS: tuple[str, ...] = ("Default Callback Script", "Outbound Preview", "Retention Offer")
FLOWS: tuple[str, ...] = ("Main IVR", "After Hours", "Callback Request Flow", "Billing Menu")
ORGANIZATIONS: tuple[str, ...] = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Industries",
)


REF_KINDS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "queue": ("routing/queues", QUEUES),
    "team": ("teams", TEAMS),
    "user": ("users", None),
    "script": ("scripts", SCRIPTS),
    "externalContact": ("externalcontacts/contacts", None),
    "externalOrganization": ("externalcontacts/organizations", ORGANIZATIONS),
}
"""Entity kinds a `DomainEntityRef` is made for: kind -> (API path, names, None meaning person
names)."""

# The wrap-up prompts a participant shows, one per kind of the queue's after-call-work setting
# (OPTIONAL, MANDATORY, MANDATORY_TIMEOUT, MANDATORY_FORCED_TIMEOUT, AGENT_REQUESTED).
WRAPUP_PROMPTS: tuple[str, ...] = (
    "optional",
    "mandatory",
    "timeout",
    "forcedTimeout",
    "agentRequested",
)
MEDIA_ROLES: tuple[str, ...] = ("full", "monitor", "coach", "barge")
ATTRIBUTE_KEYS: tuple[str, ...] = (
    "reason",
    "crmCaseId",
    "language",
    "customerTier",
    "orderNumber",
    "preferredTime",
)
ATTRIBUTE_VALUES: tuple[str, ...] = (
    "billing question",
    "CASE-10442",
    "en-US",
    "gold",
    "ORD-77812",
    "afternoon",
    "delivery",
)
NOTES: tuple[str, ...] = (
    "Customer asked for a refund.",
    "Left a message.",
    "Resolved on first call.",
    "Will call back tomorrow.",
)
TAGS: tuple[str, ...] = ("refund", "vip", "complaint", "upsell", "follow-up")
ERRORS: tuple[tuple[str, str], ...] = (
    ("The callback could not be placed.", "callback.placement.failed"),
    ("Media connection lost.", "media.transport.failure"),
    ("The agent's station went offline.", "station.offline"),
)


def person_name(ch: Chooser, locale: str | None = None) -> str:
    """A display name in ``locale`` (any supported locale if None)."""
    given, family, family_first = LOCALES[locale or ch.pick(_LOCALE_CODES)]
    first, last = ch.pick(given), ch.pick(family)
    if family_first:
        return last + first if _is_cjk(last) else f"{last} {first}"
    return f"{first} {last}"


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" for c in text)


def e164_number(ch: Chooser, country: str | None = None) -> str:
    """A phone number in E.164 form (``+`` calling code and national number, no spaces)."""
    calling, prefixes, rest = COUNTRIES[country or ch.pick(_COUNTRY_CODES)]
    digits = str(ch.below(10**rest)).zfill(rest)
    return f"+{calling}{ch.pick(prefixes)}{digits}"


# The RFC 4122 variant digit (binary 10xx) for each random hex digit.
_VARIANT = {f"{i:x}": f"{8 | (i & 3):x}" for i in range(16)}


def entity_id(ch: Chooser) -> str:
    """A version-4 UUID in lower-case hex, as Genesys Cloud ids are."""
    return uuid_text(ch.bits(128))


def uuid_text(bits: int) -> str:
    """The version-4 UUID made of 128 random bits (the version and variant bits overwritten)."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def pick_some(ch: Chooser, items: Sequence[str], most: int) -> list[str]:
    """Up to ``most`` distinct items, in vocabulary order."""
    chosen = {ch.below(len(items)) for _ in range(ch.between(0, most))}
    return [items[i] for i in sorted(chosen)]
