"""Collection balance (蔵書構成): the collection and this year's purchases by NDC class, audience and
licence model, as shares against the targets the library sets (``ELIBRARY_SELECTION_TARGETS``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title, TitleStatus
from elibrary.lending.models import License
from elibrary.reports.charts import BarChart, Series
from elibrary.selection.funds import require_selector
from elibrary.selection.models import Fund, Order, OrderLine, OrderState, PoolTitle

NDC_NAMES = {"0": "0 総記", "1": "1 哲学", "2": "2 歴史", "3": "3 社会科学", "4": "4 自然科学", "5": "5 技術", "6": "6 産業",
             "7": "7 芸術", "8": "8 言語", "9": "9 文学", "": "分類なし"}
AUDIENCE_NAMES = {"children": "児童", "ya": "YA", "general": "一般"}
MODEL_NAMES = {"one-copy": "ワンコピー", "concurrent": "同時アクセス", "metered-loans": "回数制限", "metered-time": "期間制限", "open": "読み放題"}


def _shares(counts: Mapping[str, int], names: Mapping[str, str]) -> tuple[list[str], list[float]]:
    total = sum(counts.values()) or 1
    keys = list(names)
    return [names[k] for k in keys], [round(100 * counts.get(k, 0) / total, 1) for k in keys]


def balance_charts(session: Session, staff, fiscal_year: int, settings: Mapping[str, Any]) -> list[BarChart]:
    """Three charts (NDC, audience, licence model): collection and this year's purchases in %, and targets."""
    require_selector(staff)
    targets = settings.get("ELIBRARY_SELECTION_TARGETS") or {}
    active = Title.status == TitleStatus.active
    ndc = func.substr(Title.ndc, 1, 1)
    owned_ndc = {k if k in NDC_NAMES else "": n for k, n in session.execute(select(ndc, func.count()).where(active).group_by(ndc))}
    owned_audience = {k.value if hasattr(k, "value") else k: n for k, n in
                      session.execute(select(Title.audience, func.count()).where(active).group_by(Title.audience))}
    owned_model = {k.value: n for k, n in session.execute(select(License.model, func.count()).group_by(License.model))}
    bought = session.execute(
        select(PoolTitle.ndc_class, PoolTitle.audience, OrderLine.terms, OrderLine.quantity)
        .join(Order, Order.id == OrderLine.order_id).join(Fund, Fund.id == Order.fund_id)
        .outerjoin(PoolTitle, PoolTitle.id == OrderLine.pool_title_id)
        .where(Fund.fiscal_year == fiscal_year, OrderLine.state != OrderState.cancelled)).all()
    year_ndc: dict[str, int] = {}
    year_audience: dict[str, int] = {}
    year_model: dict[str, int] = {}
    for ndc_class, audience, terms, quantity in bought:
        year_ndc[ndc_class or ""] = year_ndc.get(ndc_class or "", 0) + quantity
        year_audience[audience or "general"] = year_audience.get(audience or "general", 0) + quantity
        model = (terms or {}).get("model", "")
        year_model[model] = year_model.get(model, 0) + quantity
    charts = []
    for key, title, owned, year, names in (
        ("ndc", "NDC分類別の構成（%）", owned_ndc, year_ndc, NDC_NAMES),
        ("audience", "対象別の構成（%）", owned_audience, year_audience, AUDIENCE_NAMES),
        ("model", "ライセンス方式別の構成（%）", owned_model, year_model, MODEL_NAMES),
    ):
        labels, collection = _shares(owned, names)
        _, purchases = _shares(year, names)
        series = [Series("蔵書", collection), Series("今年度の購入", purchases)]
        if targets.get(key):
            series.append(Series("目標", [float(targets[key].get(k, 0)) for k in names]))
        charts.append(BarChart(title, labels, series, unit="%", description=f"{title}: 蔵書・今年度の購入・目標の割合"))
    return charts
