"""ONIX for Books 3.0/3.1 vocabulary we read: short-tag names and the code lists we map to our own values.

Only the elements the importer uses are listed. Composite elements' short tags are their reference
names in lower case (``DescriptiveDetail`` → ``descriptivedetail``); data elements have coded short
tags (``TitleText`` → ``b203``).
"""
from __future__ import annotations

NAMESPACES = {
    "http://ns.editeur.org/onix/3.0/reference": "3.0",
    "http://ns.editeur.org/onix/3.0/short": "3.0",
    "http://ns.editeur.org/onix/3.1/reference": "3.1",
    "http://ns.editeur.org/onix/3.1/short": "3.1",
}

SHORT_TAGS = {
    "a001": "RecordReference", "a002": "NotificationType",
    "b221": "ProductIDType", "b244": "IDValue",
    "b012": "ProductForm", "b333": "ProductFormDetail", "b334": "ProductFormFeatureType", "b335": "ProductFormFeatureValue",
    "x329": "CollectionType", "b202": "TitleType", "x409": "TitleElementLevel", "x410": "PartNumber",
    "b030": "TitlePrefix", "b031": "TitleWithoutPrefix", "b203": "TitleText", "b029": "Subtitle",
    "b034": "SequenceNumber", "b035": "ContributorRole", "b036": "PersonName", "b037": "PersonNameInverted",
    "b039": "NamesBeforeKey", "b040": "KeyNames", "b047": "CorporateName", "x443": "CorporateNameInverted",
    "x414": "NameType",
    "b253": "LanguageRole", "b252": "LanguageCode",
    "b218": "ExtentType", "b219": "ExtentValue", "b220": "ExtentUnit",
    "x425": "MainSubject", "b067": "SubjectSchemeIdentifier", "b069": "SubjectCode", "b070": "SubjectHeadingText",
    "b204": "AudienceCodeType", "b206": "AudienceCodeValue",
    "b074": "AudienceRangeQualifier", "b075": "AudienceRangePrecision", "b076": "AudienceRangeValue",
    "x426": "TextType", "x427": "ContentAudience", "d104": "Text",
    "x436": "ResourceContentType", "x437": "ResourceMode", "x441": "ResourceForm", "x435": "ResourceLink",
    "b079": "ImprintName", "b291": "PublishingRole", "b081": "PublisherName",
    "x448": "PublishingDateRole", "b306": "Date", "j260": "DateFormat",
    "j396": "ProductAvailability", "x462": "PriceType", "j151": "PriceAmount", "j152": "CurrencyCode",
    "b057": "EditionNumber",
}

COMPOSITES = (
    "ONIXMessage", "Header", "Product", "ProductIdentifier", "DescriptiveDetail", "ProductFormFeature", "Collection",
    "TitleDetail", "TitleElement", "Contributor", "AlternativeName", "Language", "Extent", "Subject", "Audience",
    "AudienceRange", "CollateralDetail", "TextContent", "SupportingResource", "ResourceVersion", "PublishingDetail",
    "Imprint", "Publisher", "PublishingDate", "ProductSupply", "SupplyDetail", "Price",
)

CANONICAL = {**{name.lower(): name for name in COMPOSITES}, **SHORT_TAGS}
for _name in SHORT_TAGS.values():
    CANONICAL.setdefault(_name.lower(), _name)


def canonical_tag(local: str) -> str:
    """The reference name of a reference or short tag (unknown tags, e.g. XHTML, are kept)."""
    return CANONICAL.get(local) or CANONICAL.get(local.lower(), local)


# List 5 (product identifier types) we accept as ISBNs: 15 ISBN-13, 02 ISBN-10, 03 GTIN-13 (978/979 only).
ISBN_ID_TYPES = ("15", "03", "02")

# List 17 contributor roles → MARC relator codes of ``catalog.models.ROLE_LABELS``.
ROLES = {
    **dict.fromkeys(("A01", "A02", "A03", "A04", "A05", "A09", "A10", "A14", "A31"), "aut"),
    **dict.fromkeys(("A07", "A12", "A35", "A36"), "ill"),
    **dict.fromkeys(("A08", "A13"), "pht"),
    **dict.fromkeys(("B06", "B08", "B10"), "trl"),
    **dict.fromkeys(("B01", "B09", "B11", "B12", "B13", "B14", "B15", "B16", "B19", "B21", "B24"), "edt"),
    "B20": "sup",  # consultant editor: 監修
    "E07": "nrt",  # read by: 朗読
}

# ISO 639-2/B codes in ONIX → BCP 47 (the common ones; others are valid BCP 47 as they are).
LANGUAGES = {
    "jpn": "ja", "eng": "en", "chi": "zh", "zho": "zh", "kor": "ko", "fre": "fr", "fra": "fr", "ger": "de",
    "deu": "de", "spa": "es", "ita": "it", "por": "pt", "rus": "ru", "vie": "vi", "tha": "th", "ind": "id",
    "tgl": "tl", "fil": "fil", "ara": "ar", "hin": "hi", "nep": "ne", "may": "ms", "msa": "ms",
}

# List 27 subject schemes.
SCHEME_KEYWORDS = "20"
SCHEME_NDC = "40"
SCHEME_CCODE = "78"
SCHEME_JP_GENRE = "79"
SCHEME_HIDDEN_KEYWORDS = "B2"

# List 29 audience code types / List 28 ONIX audience codes.
AUDIENCE_TYPE_ONIX = "01"
AUDIENCE_TYPE_JP_CHILDREN = "21"
ONIX_AUDIENCES = {"01": "general", "02": "children", "03": "ya", "04": "children"}

# Cコード: the first digit is the market (販売対象); 8 is children's books (児童).
CCODE_CHILDREN = "8"

# List 1: 05 = delete.
NOTIFICATION_DELETE = "05"

KANA_SCRIPTS = frozenset({"Kana", "Hira", "Hrkt"})
