"""Use of the site counted in aggregate: title views per title per day, visits per day (sessions told apart by a
daily-salted hash), and the catalog's search query log per normalised query per day. Below the wings: the
catalog and the web glue write through ``UsageCounters``; statistics and selection read the tables.
"""
