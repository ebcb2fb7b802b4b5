"""Selection and acquisitions (選書・発注): the distributor's candidate pool, selection lists, funds by 年度,
orders and receiving. Staff only; the pool is kept apart from the public catalog."""
