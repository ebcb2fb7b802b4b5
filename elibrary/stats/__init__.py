"""統計: the figures a library reports, by 年度, month, age band, school and NDC, from de-identified events."""
