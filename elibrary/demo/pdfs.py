"""The demo PDFs, made with reportlab's built-in Japanese CID fonts (no font files needed).

``handbook_pdf`` is a 50-page municipal handbook (chapters, bookmarks, checklists, tables);
``newsletter_pdf`` a 4-page library newsletter; ``large_print_pdf`` a large-print booklet.
Output is deterministic (``invariant``), so reloading the demo stores each file once.
"""
from __future__ import annotations

import io

from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from elibrary.demo.catalog import DemoTitle

MINCHO, GOTHIC = "HeiseiMin-W3", "HeiseiKakuGo-W5"
ACCENT = Color(0.16, 0.42, 0.55)
PALE = Color(0.9, 0.95, 0.97)
_NO_LINE_START = "、。，．」』）！？ー"


def _register_fonts() -> None:
    for name in (MINCHO, GOTHIC):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(name))


class Writer:
    """A page cursor over a reportlab canvas: headings, paragraphs, lists, tables, page numbers."""

    def __init__(self, entry: DemoTitle, pagesize=A4, *, size: float = 10.5, margin: float = 56) -> None:
        _register_fonts()
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=pagesize, invariant=1, pageCompression=1)
        data = entry.data
        self.canvas.setTitle(data.title)
        self.canvas.setAuthor("・".join(c.name for c in data.contributors))
        self.canvas.setSubject(data.description)
        self.canvas.setKeywords(", ".join(s.term for s in data.subjects))
        self.canvas.setCreator("elibrary demo")
        self.width, self.height = pagesize
        self.margin = margin
        self.size = size
        self.page = 1
        self.y = self.height - margin

    def _lines(self, text: str, font: str, size: float, width: float) -> list[str]:
        lines, line = [], ""
        for ch in text:
            if line and pdfmetrics.stringWidth(line + ch, font, size) > width and ch not in _NO_LINE_START:
                lines.append(line)
                line = ""
            line += ch
        return [*lines, line] if line else lines

    def _need(self, height: float) -> None:
        if self.y - height < self.margin + 20:
            self.new_page()

    def new_page(self) -> None:
        """Finish the page (with its number) and start another."""
        c = self.canvas
        c.setFont(GOTHIC, 9)
        c.setFillColor(black)
        c.drawCentredString(self.width / 2, self.margin / 2, f"- {self.page} -")
        c.showPage()
        self.page += 1
        self.y = self.height - self.margin

    def heading(self, text: str, *, bookmark: str | None = None, size: float | None = None) -> None:
        """A chapter heading on a coloured band; ``bookmark`` adds it to the PDF outline."""
        size = size or self.size * 1.7
        self._need(size * 3)
        c = self.canvas
        c.setFillColor(ACCENT)
        c.rect(self.margin, self.y - size * 1.6, self.width - 2 * self.margin, size * 2, stroke=0, fill=1)
        c.setFillColor(white)
        c.setFont(GOTHIC, size)
        c.drawString(self.margin + size * 0.5, self.y - size * 1.05, text)
        if bookmark:
            c.bookmarkPage(bookmark)
            c.addOutlineEntry(text, bookmark, level=0)
        c.setFillColor(black)
        self.y -= size * 2.8

    def paragraph(self, text: str, *, font: str = MINCHO, size: float | None = None, indent: bool = True) -> None:
        """Wrapped text, one paragraph."""
        size = size or self.size
        width = self.width - 2 * self.margin
        for line in self._lines(("　" if indent else "") + text, font, size, width):
            self._need(size * 1.8)
            self.canvas.setFont(font, size)
            self.canvas.drawString(self.margin, self.y - size, line)
            self.y -= size * 1.75
        self.y -= size * 0.5

    def checklist(self, items: list[str]) -> None:
        """Tick boxes with labels."""
        for item in items:
            self._need(self.size * 2.2)
            self.canvas.rect(self.margin, self.y - self.size * 1.1, self.size, self.size)
            self.canvas.setFont(GOTHIC, self.size)
            self.canvas.drawString(self.margin + self.size * 1.8, self.y - self.size, item)
            self.y -= self.size * 2
        self.y -= self.size

    def table(self, rows: list[tuple[str, ...]], widths: list[float]) -> None:
        """A simple ruled table; the first row is the header."""
        height = self.size * 2
        for n, row in enumerate(rows):
            self._need(height)
            x = self.margin
            if n == 0:
                self.canvas.setFillColor(PALE)
                self.canvas.rect(x, self.y - height, sum(widths), height, stroke=0, fill=1)
                self.canvas.setFillColor(black)
            for cell, w in zip(row, widths, strict=True):
                self.canvas.rect(x, self.y - height, w, height)
                self.canvas.setFont(GOTHIC if n == 0 else MINCHO, self.size * 0.9)
                self.canvas.drawString(x + 4, self.y - height + self.size * 0.6, cell)
                x += w
            self.y -= height
        self.y -= self.size

    def ruled_lines(self, count: int) -> None:
        """Lines to write on (memo pages)."""
        for _ in range(count):
            self._need(self.size * 2.4)
            self.canvas.setStrokeColor(Color(0.7, 0.7, 0.7))
            self.canvas.line(self.margin, self.y - self.size * 2, self.width - self.margin, self.y - self.size * 2)
            self.canvas.setStrokeColor(black)
            self.y -= self.size * 2.4

    def title_page(self, entry: DemoTitle, note: str) -> None:
        """A cover page with the title, credits and publisher."""
        c = self.canvas
        c.setFillColor(ACCENT)
        c.rect(0, self.height * 0.55, self.width, self.height * 0.25, stroke=0, fill=1)
        c.setFillColor(white)
        size = min(30, (self.width - 2 * self.margin) / max(1, len(entry.data.title)))
        c.setFont(GOTHIC, size)
        c.drawCentredString(self.width / 2, self.height * 0.67, entry.data.title)
        c.setFillColor(black)
        c.setFont(MINCHO, 13)
        c.drawCentredString(self.width / 2, self.height * 0.45, "・".join(x.name for x in entry.data.contributors))
        c.drawCentredString(self.width / 2, self.height * 0.15, entry.data.publisher)
        c.setFont(MINCHO, 9)
        c.drawCentredString(self.width / 2, self.height * 0.1, note)
        c.showPage()
        self.page += 1

    def finish(self) -> bytes:
        """Close the last page and the document."""
        self.new_page()
        self.canvas.save()
        return self.buffer.getvalue()


HANDBOOK_CHAPTERS = (
    ("地震にそなえる", "大きな地震はいつ起きるかわかりません。家具の固定、ガラスの飛散防止、寝室の安全確保など、今日からできる備えを確認しましょう。揺れを感じたら、まず頭を守り、あわてて外へ飛び出さないことが大切です。",
     ["家具を壁に固定した", "寝室に背の高い家具を置いていない", "スリッパと懐中電灯を枕元に置いた", "消火器の場所を家族で確認した"]),
    ("台風・大雨にそなえる", "台風や大雨は、天気予報である程度前もって知ることができます。ハザードマップで自宅の浸水想定を確認し、早めの避難を心がけましょう。夜間や暴風の中の移動は危険です。明るいうちに行動しましょう。",
     ["ハザードマップで自宅の浸水想定を確認した", "側溝や雨どいを掃除した", "ベランダの植木鉢を室内に入れた", "避難のタイミングを家族で決めた"]),
    ("非常持ち出し品", "避難するときにすぐ持ち出せるよう、リュックサックにまとめておきましょう。重すぎると避難の妨げになります。ひとり分の目安は、男性で15キログラム、女性で10キログラム程度です。",
     ["飲料水（1人1日3リットル）", "非常食（3日分）", "常備薬・お薬手帳の写し", "携帯ラジオ・予備の電池", "モバイルバッテリー", "現金（小銭を含む）"]),
    ("家庭での備蓄", "災害後しばらくは、電気・ガス・水道が止まることがあります。ふだん使う食品を少し多めに買い、使った分を買い足す「ローリングストック」で、無理なく備蓄を続けましょう。",
     ["水を1人あたり9リットル以上", "カセットコンロとボンベ", "簡易トイレ", "ラップ・ポリ袋"]),
    ("避難所の生活", "避難所は、地域のみんなで運営する場所です。受付で名簿に記入し、決められたルールを守りましょう。高齢の方、障害のある方、乳幼児のいる家庭への配慮をお願いします。",
     ["受付で名簿に記入する", "土足禁止の場所を確認する", "消灯時間を守る", "ごみを分別する"]),
    ("情報の集め方", "災害時には、正確な情報を落ち着いて集めることが大切です。市の防災メール、防災行政無線、テレビやラジオの情報を確認し、うわさや確かでない情報を広めないようにしましょう。",
     ["市の防災メールに登録した", "防災行政無線の内容を電話で確認できることを知っている", "災害用伝言ダイヤル171の使い方を練習した"]),
    ("家族の連絡方法", "家族が別々の場所にいるときに災害が起きることもあります。集合場所と連絡方法を、あらかじめ話し合って決めておきましょう。遠方の親戚を連絡の中継点にする方法もあります。",
     ["家族の集合場所を決めた", "遠方の連絡先を決めた", "子どもの学校の引き渡しルールを確認した"]),
    ("地域で助けあう", "大きな災害では、近所の人どうしの助けあいが命を守ります。自主防災組織の訓練に参加し、ふだんからあいさつを交わしておきましょう。",
     ["地域の防災訓練に参加した", "近所の避難行動要支援者を知っている", "消火栓や防火水槽の場所を知っている"]),
    ("ペットとの避難", "ペットは家族の一員です。同行避難ができる避難所を確認し、ケージやフード、ワクチン接種の記録を用意しておきましょう。",
     ["ケージに慣れさせている", "ペットフード（5日分）", "迷子札・マイクロチップ"]),
    ("こころのケア", "災害のあとは、大人も子どもも不安や眠れない気持ちをかかえることがあります。つらいときはひとりでかかえこまず、相談窓口を利用してください。",
     ["相談窓口の電話番号を控えた", "子どもの話をゆっくり聞く時間をつくる"]),
)

ADVICE = (
    "備えは一度で終わりではありません。季節の変わり目や、家族の状況が変わったときに、内容を見直しましょう。",
    "小さな子どもや高齢の家族がいる場合は、その人に必要なもの（おむつ、ミルク、入れ歯、めがね、補聴器の電池など）を忘れずに加えてください。",
    "市では、出前講座として防災の話をしに地域へうかがいます。町内会や学校、職場の集まりでご利用ください。",
)

SHELTERS = [("避難所", "所在地", "収容人数")] + [
    (f"さくら第{n}小学校 体育館", f"さくら市中央{n}丁目", f"{300 + n * 20}人") for n in range(1, 13)
] + [(f"さくら市民センター{n}", f"さくら市東町{n}番地", f"{150 + n * 10}人") for n in range(1, 9)]


def handbook_pdf(entry: DemoTitle) -> bytes:
    """市民のための防災ハンドブック: 50 pages, with an outline (bookmarks) per chapter."""
    w = Writer(entry)
    w.title_page(entry, "このハンドブックは elibrary のデモ用に作成した架空の資料です。")
    w.heading("目次", bookmark="toc")
    for n, (name, _, _) in enumerate(HANDBOOK_CHAPTERS, 1):
        w.paragraph(f"第{n}章　{name}", font=GOTHIC, indent=False)
    w.paragraph("付録　避難所一覧・家族の連絡カード・メモ", font=GOTHIC, indent=False)
    w.new_page()
    for n, (name, text, checks) in enumerate(HANDBOOK_CHAPTERS, 1):
        w.heading(f"第{n}章　{name}", bookmark=f"ch{n}")
        w.paragraph(text)
        for advice in ADVICE:
            w.paragraph(advice)
        w.paragraph("チェックリスト", font=GOTHIC, indent=False)
        w.checklist(checks)
        w.new_page()
        w.heading(f"第{n}章　メモ", size=14)
        w.ruled_lines(22)
        w.new_page()
    w.heading("付録1　避難所一覧", bookmark="shelters")
    w.table(SHELTERS, [200, 180, 100])
    w.new_page()
    w.heading("付録2　家族の連絡カード", bookmark="card")
    for label in ("なまえ", "生年月日", "血液型", "電話番号", "学校・勤務先", "集合場所", "遠方の連絡先"):
        w.paragraph(label, font=GOTHIC, indent=False)
        w.ruled_lines(1)
    while w.page < 50:
        w.new_page()
        w.heading("メモ", size=14)
        w.ruled_lines(24)
    return w.finish()


def newsletter_pdf(entry: DemoTitle) -> bytes:
    """図書館だより 2026年春号: four A4 pages."""
    w = Writer(entry)
    w.heading(entry.data.title, bookmark="top", size=22)
    w.paragraph("春になりました。図書館の窓から見える桜も、もうすぐ満開です。今号では、新しく入った本と、春のおはなし会、電子図書館の使い方をご紹介します。")
    w.heading("新着図書から", bookmark="new")
    for title, note in (("くまくんのあかいかさ", "雨の日が楽しみになる絵本"), ("雪の森の図書館", "移動図書館のバスをめぐる翻訳小説"),
                        ("市民のための防災ハンドブック", "電子版でいつでも読めます")):
        w.paragraph(f"『{title}』　{note}", indent=False)
    w.new_page()
    w.heading("春のおはなし会", bookmark="events")
    w.table([("日にち", "時間", "内容"), ("4月12日（土）", "10:30〜11:00", "絵本の読み聞かせ"), ("4月26日（土）", "10:30〜11:00", "紙芝居とわらべうた"),
             ("5月10日（土）", "14:00〜14:30", "英語のおはなし会")], [150, 130, 200])
    w.new_page()
    w.heading("電子図書館の使い方", bookmark="howto")
    for step in ("利用者カードの番号とパスワードでログインします。", "読みたい本を探して「借りる」を押します。", "ブラウザですぐに読めます。返却は自動です。"):
        w.paragraph(step)
    w.new_page()
    w.heading("開館カレンダー", bookmark="calendar")
    w.paragraph("休館日：毎週月曜日、毎月最終木曜日（館内整理日）。電子図書館は休館日も利用できます。")
    return w.finish()


def large_print_pdf(entry: DemoTitle) -> bytes:
    """大活字版 やさしい健康体操: A5 pages in 22-point type."""
    w = Writer(entry, A5, size=22, margin=40)
    for n, (name, text) in enumerate((
        ("首をほぐす", "いすに浅く座り、背すじをのばします。ゆっくり右を向き、五つ数えます。左も同じようにします。"),
        ("肩をまわす", "両手を肩にのせ、ひじで大きな円をかくように、前に五回、後ろに五回まわします。"),
        ("足ぶみ", "座ったまま、ももを交互に持ち上げます。腕もいっしょにふると、からだがあたたまります。"),
        ("深呼吸", "鼻から四つ数えて息を吸い、口から八つ数えてゆっくり吐きます。三回くりかえします。"),
    ), 1):
        w.heading(f"{n}　{name}", bookmark=f"ex{n}")
        w.paragraph(text)
        w.paragraph("無理をせず、痛いときはやめましょう。", font=GOTHIC)
        w.new_page()
    return w.finish()


def sample_pdf(entry: DemoTitle) -> bytes:
    """A few A4 pages for a demo PDF title with no text of its own: its description and a note."""
    w = Writer(entry)
    w.title_page(entry, "この資料は elibrary のデモ用に作成した見本です。")
    w.heading("はじめに", bookmark="intro")
    w.paragraph(entry.data.description)
    w.paragraph("この本は elibrary のデモ用に作った見本です。実際の本の内容ではありません。")
    for n, subject in enumerate(entry.data.subjects, 1):
        w.heading(subject.term, bookmark=f"s{n}")
        w.paragraph(f"{subject.term}について、この資料はやさしく紹介しています。")
    return w.finish()


BUILDERS = {"handbook_pdf": handbook_pdf, "newsletter_pdf": newsletter_pdf, "large_print_pdf": large_print_pdf}
