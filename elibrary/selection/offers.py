"""A distributor's licence offer as plain data, and which of them the lending models can express."""
from __future__ import annotations

from dataclasses import dataclass

from elibrary.lending.models import LicenseModel

MODEL_WORDS = {
    # The words distributors' spreadsheets use for their licence types → our lending models.
    "one-copy": "one-copy", "ワンコピー": "one-copy", "ワンコピーワンユーザー": "one-copy", "買切": "one-copy", "買切り": "one-copy",
    "concurrent": "concurrent", "同時アクセス": "concurrent", "複数同時": "concurrent", "マルチユーザー": "concurrent",
    "metered-loans": "metered-loans", "回数制限": "metered-loans", "貸出回数制限": "metered-loans",
    "metered-time": "metered-time", "期間制限": "metered-time", "期限付": "metered-time", "期限付き": "metered-time",
    "open": "open", "読み放題": "open", "無制限": "open",
}
MODEL_LABELS = {
    "one-copy": ("ワンコピー", "One copy"), "concurrent": ("同時アクセス", "Concurrent"),
    "metered-loans": ("回数制限", "Metered loans"), "metered-time": ("期間制限", "Metered time"), "open": ("読み放題", "Open"),
}


class OfferNotExpressible(ValueError):
    """Terms the lending models cannot lend under; the pool import skips the offer and says why."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.ja, self.en = ja, en


@dataclass(frozen=True)
class OfferTerms:
    """One offer: licence model and terms, price in yen excluding tax (None: no price given) and tax rate."""

    distributor: str
    offer_code: str
    model: str
    copies: int | None
    loans: int | None
    term_months: int | None
    price: int | None
    tax_rate: int = 10

    def summary(self, locale: str = "ja") -> str:
        """"回数制限 26回・24か月" for pages and order sheets."""
        label = MODEL_LABELS.get(self.model, (self.model, self.model))[0 if locale == "ja" else 1]
        parts = []
        if self.copies and self.copies > 1:
            parts.append(f"{self.copies}同時" if locale == "ja" else f"{self.copies} users")
        if self.loans:
            parts.append(f"{self.loans}回" if locale == "ja" else f"{self.loans} loans")
        if self.term_months:
            parts.append(f"{self.term_months}か月" if locale == "ja" else f"{self.term_months} months")
        return label + (" " + "・".join(parts) if parts else "")


def checked_terms(distributor: str, offer_code: str, model: str | None, copies: int | None, loans: int | None,
                  term_months: int | None, price: int | None, tax_rate: int) -> OfferTerms:
    """The offer if a lending model can express it; raises ``OfferNotExpressible`` otherwise."""
    if model is None:
        # Deduced from the terms as ONIX gives them: a time limit wins, then a loan cap, then copies.
        model = "metered-time" if term_months else "metered-loans" if loans else "concurrent" if (copies or 1) > 1 else "one-copy"
    if model not in {m.value for m in LicenseModel}:
        raise OfferNotExpressible(f"ライセンス種別「{model}」は貸出の方式にありません。", f"The licence type {model!r} is not a lending model.")
    if model == "metered-time" and not term_months:
        raise OfferNotExpressible("期間制限のライセンスに期間がありません。", "A metered-time offer has no term.")
    if model == "metered-loans" and not loans:
        raise OfferNotExpressible("回数制限のライセンスに貸出回数がありません。", "A metered-loans offer has no loan count.")
    if model == "one-copy" and copies not in (None, 1):
        raise OfferNotExpressible("ワンコピーのライセンスで同時貸出数が1ではありません。", "A one-copy offer with more than one copy.")
    if model == "open":
        copies = loans = None
    elif copies is None:
        copies = 1
    if tax_rate not in (10, 8):
        raise OfferNotExpressible(f"税率 {tax_rate}% は扱えません（10% / 8%）。", f"Tax rate {tax_rate}% is neither 10% nor 8%.")
    return OfferTerms(distributor or "", offer_code, model, copies, loans, term_months, price, tax_rate)


def default_offer_code(model: str, copies: int | None, loans: int | None, term_months: int | None) -> str:
    """An offer's code when the distributor gives none: its model and terms (stable across re-imports)."""
    return f"{model}/{copies or ''}/{loans or ''}/{term_months or ''}"
