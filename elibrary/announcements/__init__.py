"""Staff announcements (お知らせ): one model for the site's home page and LINE, with approval before a mass send."""
