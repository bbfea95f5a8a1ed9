"""The release dashboard: static site and live pages, rendered in headless Chromium."""
