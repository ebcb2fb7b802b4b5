"""Hostile books for the security tests: an EPUB that tries every way we know to run script as the reader,
and a PDF carrying JavaScript. Every attempt that works announces itself by a request to ``/pwned/<vector>``
on the site (and by ``data-pwned`` on the reader page), so a test needs only to watch for those.
"""
from __future__ import annotations

import io
import zipfile

# Runs only if a vector worked: report which, with the CSRF token and the patron's shelf it could read.
EVIL_JS = """(function () {
  var vector = (document.currentScript && document.currentScript.getAttribute('data-vector')) || 'script';
  var token = '';
  try { token = top.document.querySelector('meta[name=csrf-token]').content; } catch (e) {}
  try { top.document.body.dataset.pwned = vector; } catch (e) {}
  fetch('{main}/pwned/' + vector + '?csrf=' + encodeURIComponent(token));
  fetch('{main}/shelf').then(function (r) { return r.text(); })
    .then(function (text) { fetch('{main}/pwned/shelf-read', { method: 'POST', body: text }); });
})();
"""

EVIL_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"
     onload="fetch('{main}/pwned/svg-document-onload')">
  <script>fetch('{main}/pwned/svg-document-inline')</script>
  <script xlink:href="{main}/read/{title}/r/OPS/evil.js" data-vector="svg-document-absolute"/>
  <rect width="100" height="100" fill="red"/>
</svg>
"""

CHAPTER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="ja">
<head>
  <title>罠</title>
  <script src="evil.js" data-vector="relative"></script>
  <script src="{main}/read/{title}/r/OPS/evil.js" data-vector="absolute"></script>
  <script src="{content}/read/{title}/r/OPS/evil.js" data-vector="absolute-content-host"></script>
  <script src="{main}/read/{neighbour}/r/OPS/evil.js" data-vector="neighbour"></script>
  <script src="{content}/read/{neighbour}/r/OPS/evil.js" data-vector="neighbour-content-host"></script>
  <script src="data:text/javascript,fetch('{main}/pwned/data-url')"></script>
  <script>fetch('{main}/pwned/inline')</script>
  <script type="module">fetch('{main}/pwned/inline-module')</script>
</head>
<body onload="fetch('{main}/pwned/body-onload')">
  <p id="text">罠の本。この本はあなたの本棚を読もうとします。</p>
  <img src="no-such-image.png" alt="" onerror="fetch('{main}/pwned/img-onerror')"/>
  <svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="fetch('{main}/pwned/svg-onload')">
    <script>fetch('{main}/pwned/svg-inline')</script>
    <script href="evil.js" data-vector="svg-relative"/>
    <script href="{main}/read/{title}/r/OPS/evil.js" data-vector="svg-absolute"/>
  </svg>
  <iframe src="evil.svg" title="svg"></iframe>
  <object data="evil.svg" type="image/svg+xml"></object>
  <embed src="{main}/pwned/embed" type="text/html"/>
  <iframe src="{main}/pwned/iframe" title="site"></iframe>
  <iframe src="{main}/shelf" title="shelf"></iframe>
  <iframe src="{content}/read/{title}/r/OPS/evil.svg" title="content host"></iframe>
  <form action="{main}/pwned/form" method="post"><p><button id="evil-submit" type="submit">送信</button></p></form>
  <p><a id="evil-link" href="javascript:fetch('{main}/pwned/javascript-url')">javascript: link</a></p>
  <p><a id="evil-data-link" href="data:text/html,&lt;script&gt;fetch('{main}/pwned/data-link')&lt;/script&gt;">data: link</a></p>
</body>
</html>
"""

# The second chapter is HTML (not XHTML, where module scripts never run): a refresh that would take the
# book's frame to the site, and our own reader code used as a gadget with the book's own settings.
CHAPTER_TWO = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>罠の二章</title>
  <meta http-equiv="refresh" content="0;url={main}/pwned/meta-refresh">
  <!-- Our own reader code as a gadget (the page's policy allows its files), fed the book's own settings. -->
  <script type="application/json" id="book-data">{"base": "{main}/pwned/gadget-content/", "engine": "{main}/read/engine/",
    "tokenUrl": "{main}/pwned/gadget-token", "contentToken": "x", "contentHeader": "X-Content-Token", "tokenTtl": 1,
    "positionUrl": "{main}/pwned/gadget-position", "storageKey": "x", "title": "x", "dir": "ltr"}</script>
  <script type="application/json" id="reader-texts">{}</script>
  <script type="module" src="{main}/read/static/epub-reader.js"></script>
  <script type="module" src="{main}/read/engine/foliate-js/view.js"></script>
</head>
<body><p>罠の二章。</p></body></html>
"""

NAV = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>目次</title></head>
<body><nav epub:type="toc"><ol><li><a href="chapter.xhtml">罠</a></li><li><a href="chapter2.html">二章</a></li></ol></nav></body></html>
"""

OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id" xml:lang="ja">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:title>{book_title}</dc:title><dc:language>ja</dc:language><dc:identifier id="id">urn:uuid:{uuid}</dc:identifier>
  <meta property="dcterms:modified">2026-12-01T00:00:00Z</meta>
 </metadata>
 <manifest>
  <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
  <item id="c1" href="chapter.xhtml" media-type="application/xhtml+xml" properties="scripted svg"/>
  <item id="c2" href="chapter2.html" media-type="text/html" properties="scripted"/>
  <item id="js" href="evil.js" media-type="text/javascript"/>
  <item id="svg" href="evil.svg" media-type="image/svg+xml"/>
 </manifest>
 <spine><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>
"""

CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             '<rootfiles><rootfile full-path="OPS/content.opf" media-type="application/oebps-package+xml"/>'
             "</rootfiles></container>")


def hostile_epub(main: str, content: str, title_id: int, neighbour_id: int, *, book_title: str = "罠の本") -> bytes:
    """The hostile EPUB for title ``title_id``; ``main`` is the site's origin, ``content`` the content origin."""
    values = {"main": main, "content": content, "title": title_id, "neighbour": neighbour_id}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr("META-INF/container.xml", CONTAINER)
        archive.writestr("OPS/content.opf", OPF.format(book_title=book_title, uuid=f"00000000-0000-4000-8000-{title_id:012d}"))
        archive.writestr("OPS/nav.xhtml", NAV)
        archive.writestr("OPS/chapter.xhtml", _fill(CHAPTER, values))
        archive.writestr("OPS/chapter2.html", _fill(CHAPTER_TWO, values))
        archive.writestr("OPS/evil.js", _fill(EVIL_JS, values))
        archive.writestr("OPS/evil.svg", _fill(EVIL_SVG, values))
    return buffer.getvalue()


def _fill(template: str, values: dict) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", str(value))
    return template


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def hostile_pdf(main: str) -> bytes:
    """A one-page PDF whose open action, page action, named script and links all carry JavaScript."""
    def script(vector: str) -> str:
        # URLs built at run time: pdf.js turns a plain app.launchURL('literal') into an ordinary link
        # without running anything, so only a script that really ran could request these.
        code = (f"var base = '{main}' + '/pwn' + 'ed/'; app.launchURL(base + '{vector}-launch', true); "
                f"this.getURL(base + '{vector}-geturl'); app.alert('pwned ' + '{vector}');")
        return f"<< /Type /Action /S /JavaScript /JS {_pdf_string(code)} >>"

    page_text = b"BT /F1 24 Tf 72 700 Td (Hostile PDF) Tj 0 -100 Td (JavaScript link) Tj 0 -100 Td (javascript: URI) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /JavaScript << /Names [(boot) 6 0 R] >> >> >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 7 0 R >> >>"
        " /Annots [8 0 R 9 0 R] /AA << /O 10 0 R >> >>",
        f"<< /Length {len(page_text)} >>\nstream\n{page_text.decode()}\nendstream",
        script("open-action"),
        script("named"),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Type /Annot /Subtype /Link /Rect [60 580 400 630] /Border [0 0 0] /A {script('link')} >>",
        "<< /Type /Annot /Subtype /Link /Rect [60 480 400 530] /Border [0 0 0] /A << /S /URI /URI "
        + _pdf_string(f"javascript:fetch('{main}/pwned/pdf-uri')") + " >> >>",
        script("page-open"),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()
