"""Browser readers: EPUB (foliate-js) and PDF (pdf.js) served one resource at a time behind the loan check."""
