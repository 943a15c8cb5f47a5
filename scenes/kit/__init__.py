"""Shared building blocks of every video: palette, font, text, cards, layout."""
