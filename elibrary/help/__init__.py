"""In-app help (``/help``): 利用案内, a version for children with furigana, FAQ, reading apps, the manuals, privacy, about."""
