"""E-book stocktaking (電子書籍の蔵書点検): the distributor's licence report against our licences."""
