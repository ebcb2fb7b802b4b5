"""The librarian's pages: import, search with Japanese folding and facets, a list, an order, receiving."""
from __future__ import annotations

import io
import re
from xml.etree import ElementTree

from pypdf import PdfReader
from sqlalchemy import select

from elibrary.selection.models import PoolOffer, PoolTitle, SelectionLine
from tests.conftest import csrf_token_for, sign_in_staff
from tests.selection.test_pool import POOL_ONIX


def _post(client, url, token, **data):
    return client.post(url, data={"csrf_token": token, **data})


def test_librarian_flow_from_pool_to_received_order(client, rt):
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    with open(POOL_ONIX, "rb") as fh:
        page = client.post("/staff/selection/import", data={"csrf_token": token, "kind": "onix", "file": (fh, "pool.xml")},
                           content_type="multipart/form-data")
    assert page.status_code == 200 and "2件追加" in page.text and "種別 10" in page.text
    # Japanese search: a katakana reading typed in half-width, an old kanji form, and facets.
    for query in ("ﾜｶﾞﾊｲ", "吾輩", "なつめ", "9784990000011"):
        found = client.get("/staff/selection/", query_string={"q": query})
        assert "吾輩は猫である" in found.text and "はらぺこのくま" not in found.text, query
    faceted = client.get("/staff/selection/", query_string={"audience": "children"})
    assert "はらぺこのくま" in faceted.text and "吾輩は猫である" not in faceted.text
    priced = client.get("/staff/selection/", query_string={"price_max": "2000"})
    assert "はらぺこのくま" in priced.text and "吾輩は猫である" not in priced.text
    assert _post(client, "/staff/selection/funds", token, fiscal_year="2027", name="児童書", amount="10,000").status_code == 303
    assert _post(client, "/staff/selection/lists", token, name="春の児童書").status_code == 303
    with rt.db.scope() as session:
        offer_id = session.scalar(select(PoolOffer.id).join(PoolTitle).where(PoolTitle.title == "はらぺこのくま"))
    from elibrary.selection.models import Fund, SelectionList
    with rt.db.scope() as session:
        list_id, fund_id = session.scalar(select(SelectionList.id)), session.scalar(select(Fund.id))
    added = _post(client, "/staff/selection/lines", token, list_id=str(list_id), offer_id=str(offer_id), quantity="2", fund_id=str(fund_id))
    assert added.status_code == 303
    with rt.db.scope() as session:
        line_id = session.scalar(select(SelectionLine.id))
    _post(client, f"/staff/selection/lines/{line_id}", token, action="comment", text="<script>x</script>読み聞かせ用に2点")
    _post(client, f"/staff/selection/lines/{line_id}", token, action="decide", decision="adopted")
    page = client.get(f"/staff/selection/lists/{list_id}")
    assert "&lt;script&gt;x&lt;/script&gt;読み聞かせ用に2点" in page.text and "[採用]" in page.text
    assert "¥3,600" in page.text and "¥360" in page.text and "¥3,960" in page.text and "¥10,000" in page.text
    ordered = _post(client, f"/staff/selection/lists/{list_id}/order", token, distributor="ほんのもり", fund_id=str(fund_id))
    assert ordered.status_code == 303
    order_url = ordered.headers["Location"]
    order_id = int(re.search(r"/orders/(\d+)", order_url).group(1))
    assert "¥3,960" in client.get(order_url).text
    csv_text = client.get(f"/staff/selection/orders/{order_id}.csv").data.decode("cp932")
    assert "はらぺこのくま" in csv_text and ",2,1800,3600," in csv_text
    pdf = client.get(f"/staff/selection/orders/{order_id}.pdf")
    assert pdf.mimetype == "application/pdf" and "発注書" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    funds_page = client.get("/staff/selection/funds").text
    assert "令和9年度" in funds_page and "¥6,040" in funds_page
    received = _post(client, f"/staff/selection/orders/{order_id}/receive", token)
    assert received.status_code == 303, received.text[-1500:]
    assert "ファイル未着" in client.get(order_url).text
    assert "¥3,960" in client.get("/staff/selection/funds").text
    balance = client.get("/staff/selection/balance", query_string={"year": "2027"})
    svgs = re.findall(r"<svg [^>]*role=\"img\".*?</svg>", balance.text, re.S)
    assert len(svgs) == 3 and ElementTree.fromstring(svgs[0]).get("role") == "img"
    assert "<caption>NDC分類別の構成（%）" in balance.text
    assert client.get("/staff/selection/renewals").status_code == 200


def test_teachers_and_patrons_are_kept_out(client, rt):
    assert client.get("/staff/selection/").status_code in (302, 303)
    sign_in_staff(client, rt, "teacher")
    assert client.get("/staff/selection/").status_code == 403
    assert client.get("/staff/selection/funds").status_code == 403


def test_receiving_by_delivery_file_from_the_order_page(client, rt):
    from elibrary.selection import funds, lists, orders
    from tests.selection.factories import make_offer

    user = sign_in_staff(client, rt, "librarian")
    with rt.db.scope() as session:
        staff = session.merge(user)
        fund = funds.create_fund(session, staff, 2027, "一般書", 100_000)
        lst = lists.create_list(session, staff, "一般")
        line, _ = lists.add_line(session, staff, lst.id, make_offer(session, title="届いた本", isbn="9784990000042").id, fund_id=fund.id)
        lists.decide(session, staff, line.id, "adopted")
        order_id = orders.make_order(session, staff, lst.id, fund.id, "ほんのもり", rounding="floor").id
    token = csrf_token_for(client)
    data = {"csrf_token": token, "file": (io.BytesIO("ISBN\n9784990000042\n9784990000059\n".encode()), "delivery.csv")}
    response = client.post(f"/staff/selection/orders/{order_id}/delivery", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(f"/staff/selection/orders/{order_id}").text
    assert "ファイル未着" in page and "9784990000059" in page and "納品済" in page
